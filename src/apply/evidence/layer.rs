//! A container's writable layer as evidence (SPEC §8): the changes the
//! engine lists, less what is not evidence (a declared volume's mount point
//! and anything beneath a mount; files deckhand dropped, unless their
//! content is no longer what it wrote), read in one archive call of their
//! nearest common parent and filtered to the changed paths.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read};
use std::path::{Component, Path};

use super::sparse::Sparse;
use super::tarcopy::{Appended, Cut, TarOut};
use crate::engine::LayerChange;

/// Paths a sidecar lists, and entries a layer's tar holds, at most; the
/// rest are counted.
pub const LISTED: usize = 10_000;

/// The time a layer capture may take (like removing a tree's).
pub const BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// What deckhand put in a container, from the record.
#[derive(Debug, Clone, Default)]
pub struct Own {
    /// Files it dropped there.
    pub dropped: BTreeSet<String>,
    /// The sha256 it last wrote to each (when the record knows it).
    pub written: BTreeMap<String, String>,
}

/// What to read of a layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wanted {
    /// Changes that are evidence (deleted ones too: listed, never read).
    pub changes: Vec<LayerChange>,
    /// Files deckhand dropped that changed: kept only if their content is
    /// not what it wrote (path to that sha256).
    pub own: BTreeMap<String, String>,
}

/// Whether `path` is `mount` or beneath it.
fn beneath(path: &str, mount: &str) -> bool {
    let mount = mount.trim_end_matches('/');
    path == mount || path.starts_with(&format!("{mount}/")) || mount.is_empty()
}

/// The changes that are evidence: not a file deckhand dropped, not a
/// directory above other changes (listed by its children), not a mount
/// point or beneath one.
pub fn wanted(changes: Vec<LayerChange>, own: &Own, mounts: &[String]) -> Wanted {
    let all: BTreeSet<String> = changes
        .iter()
        .map(|c| c.path.clone())
        .chain(own.dropped.iter().cloned())
        .collect();
    let is_parent = |p: &str| {
        let prefix = format!("{}/", p.trim_end_matches('/'));
        let next = all.range(prefix.clone()..).next();
        next.is_some_and(|q| q.starts_with(&prefix))
    };
    let mut out = Wanted::default();
    for c in changes {
        if mounts.iter().any(|m| beneath(&c.path, m)) || is_parent(&c.path) {
            continue;
        }
        match (own.dropped.contains(&c.path), own.written.get(&c.path)) {
            (false, _) => out.changes.push(c),
            (true, Some(sha)) if c.kind != "deleted" => {
                out.own.insert(c.path, sha.clone());
            }
            (true, _) => {}
        }
    }
    out
}

impl Wanted {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.own.is_empty()
    }

    /// Paths to read: what was added or modified, and deckhand's own.
    pub fn reads(&self) -> impl Iterator<Item = &str> {
        let changed = self.changes.iter().filter(|c| c.kind != "deleted");
        changed
            .map(|c| c.path.as_str())
            .chain(self.own.keys().map(String::as_str))
    }

    /// The one path to archive: the nearest common parent of every read
    /// (the path itself when there is one); `None` when nothing is read.
    pub fn base(&self) -> Option<String> {
        let mut reads = self
            .reads()
            .map(|p| Path::new(p).components().collect::<Vec<_>>());
        let mut common = reads.next()?;
        for parts in reads {
            let same = common
                .iter()
                .zip(&parts)
                .take_while(|(a, b)| a == b)
                .count();
            common.truncate(same);
        }
        let path: std::path::PathBuf = common.iter().collect();
        Some(path.to_string_lossy().into_owned()).filter(|p| !p.is_empty())
    }

    /// Whether the entry at `path` is kept: a change read, or beneath one.
    fn keeps(&self, read: &BTreeSet<&str>, path: &str) -> bool {
        Path::new(path)
            .ancestors()
            .any(|a| read.contains(a.to_str().unwrap_or_default()))
    }
}

/// The path in the container of an entry of the archive of `base`.
fn full_path(base: &str, entry: &Path) -> String {
    let parent = Path::new(base).parent().unwrap_or(Path::new("/"));
    let joined = parent.join(entry);
    let parts = joined
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    format!("/{}", parts.collect::<Vec<_>>().join("/"))
}

/// What one read of a layer kept.
#[derive(Debug, Default)]
pub struct Taken {
    pub kept: usize,
    /// deckhand's own files, found as it wrote them: not evidence.
    pub own: BTreeSet<String>,
    pub cut: Vec<(String, Cut)>,
}

impl Taken {
    /// Whether `path` may be copied: the tar is not full of entries and the
    /// time is not out (else it is listed as cut, and why).
    pub fn may_take(&mut self, path: &str, deadline: std::time::Instant) -> bool {
        let cut = match () {
            () if std::time::Instant::now() >= deadline => Cut::OutOfTime,
            () if self.kept >= LISTED => Cut::TooMany,
            () => return true,
        };
        self.cut.push((path.to_string(), cut));
        false
    }
}

/// The sidecar's list of the changes (at most [`LISTED`], the rest
/// counted): the foreign ones, and deckhand's own files found changed.
pub fn listing(want: &Wanted, taken: &Taken) -> serde_json::Value {
    let foreign = want.changes.iter();
    let mut changed: Vec<serde_json::Value> = foreign
        .map(|c| serde_json::json!({"path": c.path, "kind": c.kind}))
        .collect();
    let theirs = want.own.keys().filter(|p| !taken.own.contains(*p));
    let note = "a file deckhand wrote, changed since";
    changed
        .extend(theirs.map(|p| serde_json::json!({"path": p, "kind": "modified", "note": note})));
    serde_json::json!({
        "changes_not_listed": changed.len().saturating_sub(LISTED),
        "changes": changed.into_iter().take(LISTED).collect::<Vec<_>>(),
    })
}

/// Copies the entries of the engine's archive of `base` (from `reader`)
/// that `want` keeps into a tar in `out`, at most `max` bytes.
pub fn take(
    reader: &mut dyn Read,
    base: &str,
    want: &Wanted,
    out: &mut Sparse<'_>,
    max: u64,
    deadline: std::time::Instant,
) -> io::Result<Taken> {
    let read: BTreeSet<&str> = want.reads().collect();
    let mut tar = TarOut::new(out, max);
    let mut taken = Taken::default();
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries()? {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                taken
                    .cut
                    .push(("(the rest)".into(), Cut::Broken(e.to_string())));
                break;
            }
        };
        let path = full_path(base, &entry.path()?);
        let own = want.own.get(&path).map(String::as_str);
        if own.is_none() && !want.keeps(&read, &path) {
            continue;
        }
        if std::time::Instant::now() >= deadline {
            taken.cut.push(("(the rest)".into(), Cut::OutOfTime));
            break;
        }
        if !taken.may_take(&path, deadline) {
            continue;
        }
        match tar.append(&mut entry, path.trim_start_matches('/'), own)? {
            Appended::Kept => taken.kept += 1,
            Appended::Own => drop(taken.own.insert(path)),
            Appended::Cut(cut) => taken.cut.push((path, cut)),
        }
    }
    tar.finish()?;
    Ok(taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, kind: &'static str) -> LayerChange {
        LayerChange {
            path: path.into(),
            kind,
        }
    }

    fn paths(w: &Wanted) -> Vec<&str> {
        w.changes.iter().map(|c| c.path.as_str()).collect()
    }

    #[test]
    fn a_layer_lists_only_what_deckhand_did_not_make() {
        let own = Own {
            dropped: BTreeSet::from(["/srv/bait".to_string(), "/srv/other".to_string()]),
            written: BTreeMap::from([("/srv/other".to_string(), "ab".repeat(32))]),
        };
        let changes = vec![
            change("/srv", "modified"),
            change("/srv/bait", "added"),
            change("/srv/other", "modified"),
            change("/tmp", "modified"),
            change("/tmp/x.sh", "added"),
            change("/etc/shadow", "deleted"),
        ];
        let w = wanted(changes, &own, &[]);
        assert_eq!(paths(&w), ["/tmp/x.sh", "/etc/shadow"]);
        assert_eq!(
            w.own.keys().collect::<Vec<_>>(),
            ["/srv/other"],
            "checked against what deckhand wrote"
        );
        assert_eq!(w.base().as_deref(), Some("/"));
    }

    #[test]
    fn a_mount_point_and_what_is_beneath_it_are_not_evidence() {
        let changes = vec![
            change("/var", "modified"),
            change("/var/lib", "added"),
            change("/var/lib/systemd", "added"),
            change("/var/lib/systemd/coredump", "added"),
            change("/var/lib/systemd/coredump/core.1", "added"),
            change("/var/lib/systemd-x", "added"),
        ];
        let mounts = ["/var/lib/systemd/coredump".to_string()];
        let w = wanted(changes.clone(), &Own::default(), &mounts);
        assert_eq!(paths(&w), ["/var/lib/systemd-x"]);
        let only_mount = changes[..4].to_vec();
        assert!(wanted(only_mount, &Own::default(), &mounts).is_empty());
    }

    #[test]
    fn a_hundred_thousand_changes_are_sorted_out_quickly() {
        let mut changes = vec![change("/srv", "modified"), change("/srv/p", "added")];
        changes.extend((0..100_000).map(|i| change(&format!("/srv/p/f{i}"), "added")));
        let started = std::time::Instant::now();
        let w = wanted(changes, &Own::default(), &[]);
        assert_eq!(w.changes.len(), 100_000);
        assert_eq!(w.base().as_deref(), Some("/srv/p"));
        assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    }

    #[test]
    fn a_sidecar_lists_ten_thousand_changes_and_counts_the_rest() {
        let changes = (0..LISTED + 5).map(|i| change(&format!("/srv/f{i}"), "added"));
        let w = wanted(changes.collect(), &Own::default(), &[]);
        let meta = listing(&w, &Taken::default());
        assert_eq!(meta["changes"].as_array().unwrap().len(), LISTED);
        assert_eq!(meta["changes_not_listed"], 5);
    }

    #[test]
    fn entries_are_named_by_their_path_in_the_container() {
        assert_eq!(full_path("/srv/p", Path::new("p/a")), "/srv/p/a");
        assert_eq!(full_path("/", Path::new("/tmp/x")), "/tmp/x");
        assert_eq!(full_path("/tmp/x", Path::new("x")), "/tmp/x");
        assert_eq!(full_path("/", Path::new("/")), "/");
    }
}
