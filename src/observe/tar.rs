//! What an archive read back holds: the entries wanted, as live file states.

use std::collections::{BTreeMap, BTreeSet};

use crate::live::LiveFileState;

/// Picks the `wanted` entries out of a tar whose entry names are relative to `base`.
pub fn parse_tar(
    tar: &[u8],
    base: &str,
    wanted: &BTreeSet<String>,
) -> std::io::Result<BTreeMap<String, LiveFileState>> {
    let mut archive = tar::Archive::new(tar);
    let mut out = BTreeMap::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let rel = entry
            .path()?
            .to_string_lossy()
            .trim_end_matches('/')
            .to_string();
        let full = if base == "/" {
            format!("/{rel}")
        } else {
            format!("{base}/{rel}")
        };
        if !wanted.contains(&full) {
            continue;
        }
        let header = entry.header();
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => "file",
            tar::EntryType::Directory => "directory",
            tar::EntryType::Symlink => "symlink",
            tar::EntryType::Link => "hard link",
            _ => "special file",
        }
        .to_string();
        let (mode, uid, gid, mtime) = (
            header.mode()? & 0o7777,
            header.uid()?,
            header.gid()?,
            header.mtime()? as i64,
        );
        let mut bytes = Vec::new();
        if kind == "file" {
            std::io::Read::read_to_end(&mut entry, &mut bytes)?;
        }
        out.insert(
            full,
            LiveFileState {
                kind,
                bytes,
                mode,
                uid,
                gid,
                mtime,
            },
        );
    }
    Ok(out)
}
