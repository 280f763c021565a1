//! The one tar per container that drops files: explicit mode, owner and mtime
//! on every entry, paths relative to `/`, no directory entries (the engine
//! creates missing parents 0755 root-owned and leaves existing ones alone).

use crate::desired::{FileContent, Mtime};

/// A tar of `files` (absolute path, content) with mtimes resolved against `now`.
pub fn build(files: &[(&str, &FileContent)], now: i64) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(content.bytes.len() as u64);
        header.set_mode(content.mode);
        header.set_uid(content.uid);
        header.set_gid(content.gid);
        let mtime = match content.mtime {
            Mtime::Absolute(t) => t,
            Mtime::Offset(o) => now + o,
        };
        header.set_mtime(mtime.max(0) as u64);
        builder.append_data(
            &mut header,
            path.trim_start_matches('/'),
            content.bytes.as_slice(),
        )?;
    }
    builder.into_inner()
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
        let tar = build(&[("/home/admin/.bash_history", &content)], 1_000_000).unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let mut entry = archive.entries().unwrap().next().unwrap().unwrap();
        let h = entry.header().clone();
        assert_eq!(
            entry.path().unwrap().to_str(),
            Some("home/admin/.bash_history")
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
}
