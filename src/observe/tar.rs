//! What an archive read back holds: the entries wanted, as live file states,
//! and what stands in their way.

use std::collections::{BTreeMap, BTreeSet};

use crate::live::LiveFileState;

/// The entries of one archive read.
#[derive(Debug, Default)]
pub struct Entries {
    /// The wanted paths found.
    pub found: BTreeMap<String, LiveFileState>,
    /// Every entry that is not a directory, with its kind: one of them above
    /// a wanted path means that path cannot exist.
    pub not_dirs: BTreeMap<String, String>,
}

impl Entries {
    /// The entry that stands where a parent directory of `path` belongs.
    pub fn blocking(&self, path: &str) -> Option<(&String, &String)> {
        let blocks = |by: &&String| path.starts_with(&format!("{}/", by.trim_end_matches('/')));
        self.not_dirs.iter().find(|(by, _)| blocks(by))
    }
}

/// The kind word of a tar entry, as plans show it.
fn kind_of(t: tar::EntryType) -> &'static str {
    match t {
        tar::EntryType::Regular | tar::EntryType::Continuous => "file",
        tar::EntryType::Directory => "directory",
        tar::EntryType::Symlink => "symlink",
        tar::EntryType::Link => "hard link",
        _ => "special file",
    }
}

/// Picks the `wanted` entries out of a tar whose entry names are relative to `base`.
pub fn parse_tar(tar: &[u8], base: &str, wanted: &BTreeSet<String>) -> std::io::Result<Entries> {
    let mut archive = tar::Archive::new(tar);
    let mut out = Entries::default();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let rel = entry
            .path()?
            .to_string_lossy()
            .trim_end_matches('/')
            .to_string();
        let full = match base {
            "/" => format!("/{rel}"),
            _ => format!("{base}/{rel}"),
        };
        let kind = kind_of(entry.header().entry_type()).to_string();
        if kind != "directory" {
            out.not_dirs.insert(full.clone(), kind.clone());
        }
        if !wanted.contains(&full) {
            continue;
        }
        let header = entry.header();
        let link = header
            .link_name()?
            .map(|l| l.to_string_lossy().into_owned());
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
        let state = LiveFileState {
            kind,
            bytes,
            mode,
            uid,
            gid,
            mtime,
            link,
        };
        out.found.insert(full, state);
    }
    Ok(out)
}
