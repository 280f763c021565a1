//! Copies and their sidecars on disk. A copy `X` is written to a temporary
//! file beside it and linked into place whole (never over another); its
//! sidecar `X.json` is made once, and rewritten only atomically (a temporary
//! file renamed over it) to add a sighting. Directories 0700, files 0600.

use std::fs::File;
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

/// Prefix of a copy being written (never dropped by the quota, never seen
/// as a copy).
pub const PARTIAL: &str = ".partial-";
/// Sightings a sidecar lists (the first, then the latest); the rest are counted.
const SEEN_LISTED: usize = 1000;

/// Makes `dir` and its parents, 0700.
pub fn make_dir(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// A new file at `path`, 0600; an existing one is never opened.
fn create_new(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// A new temporary copy in `dir` (made 0700), and its path.
pub fn temp_file(dir: &Path) -> io::Result<(File, PathBuf)> {
    make_dir(dir)?;
    for n in 0u32.. {
        let path = dir.join(format!("{PARTIAL}{}-{n}", std::process::id()));
        match create_new(&path) {
            Ok(f) => return Ok((f, path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    unreachable!("a free name is found")
}

/// Puts the finished temporary copy `temp` at `path`, never over a file.
pub fn commit(temp: &Path, path: &Path) -> io::Result<()> {
    std::fs::hard_link(temp, path)?;
    std::fs::remove_file(temp)
}

/// The sidecar of copy `copy`.
pub fn sidecar_of(copy: &Path) -> PathBuf {
    let mut name = copy.as_os_str().to_owned();
    name.push(".json");
    PathBuf::from(name)
}

fn to_text(meta: &Value) -> String {
    crate::safe::json::to_string_pretty(meta).unwrap_or_default() + "\n"
}

/// Writes the sidecar of `copy`, never over an existing one.
pub fn write_sidecar(copy: &Path, meta: &Value) -> io::Result<()> {
    let mut f = create_new(&sidecar_of(copy))?;
    f.write_all(to_text(meta).as_bytes())?;
    f.sync_all()
}

/// Replaces a sidecar atomically: a temporary file, then a rename.
fn rewrite_sidecar(sidecar: &Path, meta: &Value) -> io::Result<()> {
    let dir = sidecar.parent().unwrap_or(Path::new("."));
    let (mut f, temp) = temp_file(dir)?;
    let written = f
        .write_all(to_text(meta).as_bytes())
        .and_then(|()| f.sync_all())
        .and_then(|()| std::fs::rename(&temp, sidecar));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// The sha256 of the file at `path`, read as it streams.
pub fn digest(path: &Path) -> io::Result<String> {
    use sha2::Digest as _;
    let mut hash = sha2::Sha256::new();
    io::copy(&mut File::open(path)?, &mut hash)?;
    Ok(hex::encode(hash.finalize()))
}

/// The copy in `dir` of content with digest `sha` kept before, with the
/// same parts left out (none, or the same ones over `evidence_max_mb`).
pub fn find_kept(dir: &Path, sha: &str, left_out: &[String]) -> Option<PathBuf> {
    let suffix = format!("-{}.json", sha.get(..12)?);
    std::fs::read_dir(dir).ok()?.flatten().find_map(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.ends_with(&suffix) || name.starts_with(PARTIAL) {
            return None;
        }
        let meta: Value = serde_json::from_slice(&std::fs::read(e.path()).ok()?).ok()?;
        let listed = meta.get("left_out").filter(|l| !l.is_null());
        let same_cut = listed.map_or(left_out.is_empty(), |l| *l == json!(left_out));
        (meta["sha256"] == sha && same_cut).then(|| dir.join(&name[..name.len() - 5]))
    })
}

/// Adds sighting `at` to the sidecar of `copy` (the first and the latest
/// ones listed, every one counted).
pub fn seen_again(copy: &Path, at: &str) -> io::Result<()> {
    let sidecar = sidecar_of(copy);
    let mut meta: Value = serde_json::from_slice(&std::fs::read(&sidecar)?)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let first = meta["observed_at"].clone();
    let seen = meta["seen"].as_array_mut().map(std::mem::take);
    let mut seen = seen.unwrap_or_else(|| vec![first]);
    seen.push(json!(at));
    if seen.len() > SEEN_LISTED {
        seen.remove(1);
    }
    let count = meta["seen_count"].as_u64().unwrap_or(1) + 1;
    meta["seen"] = json!(seen);
    meta["seen_count"] = json!(count);
    rewrite_sidecar(&sidecar, &meta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn keep(dir: &Path, name: &str, meta: Value) -> PathBuf {
        let (mut f, temp) = temp_file(dir).unwrap();
        f.write_all(b"bytes").unwrap();
        let copy = dir.join(name);
        commit(&temp, &copy).unwrap();
        write_sidecar(&copy, &meta).unwrap();
        copy
    }

    #[test]
    fn copies_are_0600_in_0700_directories_and_never_overwritten() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("local/web-01/home/admin/.bash_history");
        let copy = keep(&dir, "t-abc", json!({"size": 5}));
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            (mode(&dir), mode(&copy), mode(&sidecar_of(&copy))),
            (0o700, 0o600, 0o600)
        );
        let (_, temp) = temp_file(&dir).unwrap();
        assert!(
            commit(&temp, &copy).is_err(),
            "an existing copy is never replaced"
        );
        assert!(write_sidecar(&copy, &json!({})).is_err());
        assert_eq!(std::fs::read(&copy).unwrap(), b"bytes");
    }

    #[test]
    fn content_kept_whole_is_found_by_its_digest_and_nothing_else_is() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path();
        let (a, b, c) = ("a".repeat(64), "b".repeat(64), "c".repeat(64));
        let copy = keep(dir, &format!("t1-{}", &a[..12]), json!({"sha256": a}));
        keep(
            dir,
            &format!("t2-{}", &b[..12]),
            json!({"sha256": b, "left_out": ["bytes from 4096: over the quota"]}),
        );
        let almost = format!("{}{}", &a[..12], "0".repeat(52));
        let cut = ["bytes from 4096: over the quota".to_string()];
        assert_eq!(find_kept(dir, &a, &[]), Some(copy));
        assert_eq!(
            find_kept(dir, &a, &cut),
            None,
            "a copy now cut is not the one kept whole"
        );
        assert_eq!(
            find_kept(dir, &b, &[]),
            None,
            "a partial copy is not the whole content"
        );
        assert!(
            find_kept(dir, &b, &cut).is_some(),
            "the same cut of the same content"
        );
        assert_eq!(find_kept(dir, &c, &[]), None);
        assert_eq!(
            find_kept(dir, &almost, &[]),
            None,
            "the whole digest must match"
        );
    }

    #[test]
    fn each_sighting_is_added_to_the_sidecar() {
        let root = tempfile::tempdir().unwrap();
        let copy = keep(root.path(), "t-x", json!({"observed_at": "T1"}));
        seen_again(&copy, "T2").unwrap();
        seen_again(&copy, "T3").unwrap();
        let meta: Value =
            serde_json::from_slice(&std::fs::read(sidecar_of(&copy)).unwrap()).unwrap();
        assert_eq!(meta["seen"], json!(["T1", "T2", "T3"]));
        assert_eq!(meta["seen_count"], 3);
        let left: Vec<_> = std::fs::read_dir(root.path()).unwrap().collect();
        assert_eq!(left.len(), 2, "no temporary file is left");
    }
}
