//! The one tar per container that drops files: explicit mode, owner and mtime
//! on every entry, paths relative to `/`. The engine creates missing parents
//! 0755 root-owned; under a user's home (`/home/NAME/...`) a file not owned
//! by root brings directory entries for its home and the directories between,
//! owned as the file is: an admin's home owned by root gives a decoy away.

use crate::desired::{FileContent, Mtime};

/// A tar of `files` (absolute path, content) with mtimes resolved against `now`.
pub fn build(files: &[(&str, &FileContent)], now: i64) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut dirs: Vec<String> = Vec::new();
    for (path, content) in files {
        let mtime = match content.mtime {
            Mtime::Absolute(t) => t,
            Mtime::Offset(o) => now + o,
        };
        for dir in home_parents(path).into_iter().filter(|_| content.uid != 0) {
            if dirs.contains(&dir) {
                continue;
            }
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Directory);
            header.set_size(0);
            header.set_mode(0o755);
            header.set_uid(content.uid);
            header.set_gid(content.gid);
            header.set_mtime(mtime.max(0) as u64);
            builder.append_data(&mut header, format!("{dir}/"), std::io::empty())?;
            dirs.push(dir);
        }
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(content.bytes.len() as u64);
        header.set_mode(content.mode);
        header.set_uid(content.uid);
        header.set_gid(content.gid);
        header.set_mtime(mtime.max(0) as u64);
        builder.append_data(
            &mut header,
            path.trim_start_matches('/'),
            content.bytes.as_slice(),
        )?;
    }
    builder.into_inner()
}

/// The directories from a user's home down to a file's parent, relative to
/// `/`: `home/admin`, `home/admin/.aws` for `/home/admin/.aws/credentials`.
/// Nothing for a file outside `/home/NAME/`.
fn home_parents(path: &str) -> Vec<String> {
    let parts: Vec<&str> = path
        .trim_start_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() <= 2 || parts[0] != "home" {
        return Vec::new();
    }
    (2..parts.len()).map(|n| parts[..n].join("/")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_carry_the_declared_metadata() {
        let content = FileContent {
            bytes: b"\x00\xffbait".to_vec(),
            mode: 0o600,
            uid: 1000,
            gid: 1001,
            mtime: Mtime::Offset(-60),
        };
        let tar = build(&[("/srv/admin/.bash_history", &content)], 1_000_000).unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let mut entry = archive.entries().unwrap().next().unwrap().unwrap();
        let h = entry.header().clone();
        assert_eq!(
            entry.path().unwrap().to_str(),
            Some("srv/admin/.bash_history")
        );
        assert_eq!(
            (
                h.mode().unwrap(),
                h.uid().unwrap(),
                h.gid().unwrap(),
                h.mtime().unwrap()
            ),
            (0o600, 1000, 1001, 999_940)
        );
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        assert_eq!(bytes, b"\x00\xffbait");
    }

    #[test]
    fn a_file_under_a_home_brings_its_parents_owned_as_it_is() {
        let dirs: Vec<String> = home_parents("/home/admin/.aws/credentials");
        assert_eq!(dirs, vec!["home/admin", "home/admin/.aws"]);
        assert_eq!(home_parents("/home/admin/.bashrc"), vec!["home/admin"]);
        assert_eq!(home_parents("/etc/motd").len(), 0);
        assert_eq!(home_parents("/home/x").len(), 0);

        let content = FileContent {
            bytes: b"x".to_vec(),
            mode: 0o600,
            uid: 1000,
            gid: 1000,
            mtime: Mtime::Absolute(5),
        };
        let files = [
            ("/home/admin/.aws/credentials", &content),
            ("/home/admin/.aws/config", &content),
        ];
        let tar = build(&files, 0).unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let entries: Vec<(String, u32, u64)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                let path = e.path().unwrap().display().to_string();
                (path, h.mode().unwrap(), h.uid().unwrap())
            })
            .collect();
        assert_eq!(
            entries,
            vec![
                ("home/admin/".to_string(), 0o755, 1000),
                ("home/admin/.aws/".to_string(), 0o755, 1000),
                ("home/admin/.aws/credentials".to_string(), 0o600, 1000),
                ("home/admin/.aws/config".to_string(), 0o600, 1000),
            ]
        );
        // Owned by root, a file brings no directory entries.
        let root = FileContent {
            uid: 0,
            gid: 0,
            ..content.clone()
        };
        let tar = build(&[("/home/admin/.aws/x", &root)], 0).unwrap();
        assert_eq!(
            tar::Archive::new(tar.as_slice()).entries().unwrap().count(),
            1
        );
    }
}
