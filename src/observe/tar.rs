//! What an archive read back holds: the entries wanted, as live file states,
//! and what stands in their way.

use std::collections::{BTreeMap, BTreeSet};

use crate::live::{LiveContent, LiveFileState};
use crate::observe::stream::read_content;

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

/// How much of an archive to read.
#[derive(Debug, Clone, Copy)]
pub struct Keep {
    /// Bytes of a wanted file's head held for a diff.
    pub head: usize,
    /// Stop at the first wanted entry: the archive is of that path alone.
    pub first_only: bool,
}

/// Picks the `wanted` entries out of a tar whose entry names are relative to
/// `base`, read as it streams: a wanted file is hashed, only its head kept;
/// nothing is sized from a header.
pub fn parse_tar(
    tar: impl std::io::Read,
    base: &str,
    wanted: &BTreeSet<String>,
    keep: Keep,
) -> std::io::Result<Entries> {
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
        out.found
            .insert(full, state_of(&mut entry, kind, keep.head)?);
        // (A group's archive is capped far below a file over the cap: only
        // an archive of one path can hold one, and it is not read past it.)
        if keep.first_only {
            break;
        }
    }
    Ok(out)
}

/// The live state of one wanted entry, its content hashed as it streams.
fn state_of<R: std::io::Read>(
    entry: &mut tar::Entry<'_, R>,
    kind: String,
    keep: usize,
) -> std::io::Result<LiveFileState> {
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
    let content = match kind.as_str() {
        // The engine's own read has its budget above it: no deadline here.
        "file" => read_content(entry, keep, far_off()).map_err(std::io::Error::other)?,
        _ => LiveContent::default(),
    };
    Ok(LiveFileState {
        kind,
        content,
        mode,
        uid,
        gid,
        mtime,
        link,
    })
}

/// A deadline that never comes (an hour on).
fn far_off() -> std::time::Instant {
    std::time::Instant::now() + std::time::Duration::from_secs(3600)
}
