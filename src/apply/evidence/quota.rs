//! The evidence directory's bounds (SPEC §8): `evidence_quota_mb` over the
//! whole directory, counted in allocated blocks (a sparse copy counts what
//! it uses), and the filesystem's reserve (a capture never takes it below
//! 5 % free). When a capture needs room over the quota, the oldest captures
//! of the decky holding the most are dropped first.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use super::sparse::Room;
use super::store::{sidecar_of, PARTIAL};

/// Test-only: the share of the filesystem (percent) kept free instead of 5.
pub const FLOOR_ENV: &str = "DECKHAND_EVIDENCE_FLOOR_PERCENT";
/// Room asked for at a time, so the disk is looked at once per MiB.
const CHUNK: u64 = 1 << 20;

/// One capture on disk: its copy (which may be absent) and sidecar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub copy: PathBuf,
    pub decky: String,
    /// The copy's file name: it starts with the UTC time it was kept.
    pub name: String,
    /// Allocated bytes of the copy and its sidecar.
    pub bytes: u64,
}

/// The capture being written: its decky and the bytes it holds so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Writing<'a> {
    pub decky: &'a str,
    pub bytes: u64,
}

/// Which captures to drop to free `excess` bytes: always the oldest of the
/// decky holding the most at that moment, the capture being written
/// counted as its decky's. When that decky has nothing left but the capture
/// being written, or everything droppable would not free `excess`, nothing
/// is dropped: the part does not fit.
pub fn choose(held: &[Held], writing: Writing<'_>, excess: u64) -> Vec<usize> {
    let mut queues: BTreeMap<&str, (u64, Vec<usize>)> = BTreeMap::new();
    queues.entry(writing.decky).or_default().0 = writing.bytes;
    for (i, h) in held.iter().enumerate() {
        let q = queues.entry(&h.decky).or_default();
        q.0 += h.bytes;
        q.1.push(i);
    }
    for q in queues.values_mut() {
        // Newest first, so that `pop` takes the oldest.
        q.1.sort_by(|a, b| held[*b].name.cmp(&held[*a].name));
    }
    let (mut freed, mut out) = (0, Vec::new());
    while freed < excess {
        let most = queues.values_mut().filter(|q| q.0 > 0 || !q.1.is_empty());
        let Some(i) = most.max_by_key(|q| q.0).and_then(|q| q.1.pop()) else {
            return Vec::new();
        };
        let q = queues.get_mut(held[i].decky.as_str()).expect("queued");
        q.0 = q.0.saturating_sub(held[i].bytes);
        freed += held[i].bytes;
        out.push(i);
    }
    out
}

/// Allocated bytes of `path` (a file).
fn allocated(path: &Path) -> u64 {
    std::fs::symlink_metadata(path).map_or(0, |m| m.blocks() * 512)
}

/// A copy being written for longer than this was left by a killed run.
const STALE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Allocated bytes of everything under `dir` (no link followed); each
/// capture's sidecar found there, and the copies a killed run left half
/// written (`stale`).
fn walk(dir: &Path, sidecars: &mut Vec<PathBuf>, stale: &mut Vec<PathBuf>) -> u64 {
    let mut used = allocated(dir);
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(kind) = e.file_type() else { continue };
        let name = e.file_name().to_string_lossy().into_owned();
        match kind.is_dir() {
            true => used += walk(&e.path(), sidecars, stale),
            false => used += allocated(&e.path()),
        }
        let old = || e.metadata().and_then(|m| m.modified()).ok();
        let old = old()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE);
        match name.starts_with(PARTIAL) {
            true if kind.is_file() && old => stale.push(e.path()),
            false if kind.is_file() && name.ends_with(".json") => sidecars.push(e.path()),
            _ => {}
        }
    }
    used
}

/// The capture a sidecar describes.
fn held(sidecar: &Path) -> Held {
    let text = std::fs::read(sidecar).unwrap_or_default();
    let meta: serde_json::Value = serde_json::from_slice(&text).unwrap_or_default();
    let copy = sidecar.with_extension("");
    Held {
        decky: meta["decky"].as_str().unwrap_or_default().to_string(),
        name: copy
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
        bytes: allocated(sidecar) + allocated(&copy),
        copy,
    }
}

/// Bytes that may be written on the filesystem of `dir` before it is left
/// with less than `floor_percent` free.
fn disk_room(dir: &Path, floor_percent: u64) -> u64 {
    let Ok(fs) = rustix::fs::statvfs(dir) else {
        return 0;
    };
    let total = fs.f_blocks.saturating_mul(fs.f_frsize);
    let free = fs.f_bavail.saturating_mul(fs.f_frsize);
    free.saturating_sub(total / 100 * floor_percent.min(100))
}

/// The bounds one capture is written under.
pub struct Quota {
    root: PathBuf,
    limit: u64,
    floor_percent: u64,
    /// Allocated bytes under `root`, as walked, plus what was granted since.
    used: u64,
    /// Captures dropped to make room.
    pub dropped: Vec<PathBuf>,
    /// What made a write stop, when one did.
    pub stopped: Option<String>,
    /// The decky the capture is written for.
    decky: String,
    /// Allocated bytes of the capture being written, before its current part.
    mine: u64,
    /// Whether the current part could fit with everything droppable gone:
    /// only then are older captures dropped for it.
    may_drop: bool,
    /// The disk's reserve was reached: nothing more is written.
    pub reserve_reached: bool,
}

impl Quota {
    /// The bounds of `root` (which exists), `limit` bytes in all, for a
    /// capture of `decky`.
    pub fn new(root: &Path, limit: u64, decky: &str) -> Quota {
        let floor = std::env::var(FLOOR_ENV).ok().and_then(|v| v.parse().ok());
        Quota {
            root: root.to_path_buf(),
            limit,
            floor_percent: floor.unwrap_or(5),
            used: walk(root, &mut Vec::new(), &mut Vec::new()),
            dropped: Vec::new(),
            stopped: None,
            decky: decky.to_string(),
            mine: 0,
            may_drop: true,
            reserve_reached: false,
        }
    }

    /// Drops the oldest captures of the biggest deckies, `keep` aside,
    /// until `need` more bytes fit under the quota (or drops nothing when
    /// they would not).
    fn drop_for(&mut self, need: u64, keep: Option<&Path>) {
        let (mut sidecars, mut stale) = (Vec::new(), Vec::new());
        self.used = walk(&self.root, &mut sidecars, &mut stale);
        let freed = remove_all(&stale);
        self.used = self.used.saturating_sub(freed);
        let excess = (self.used + need).saturating_sub(self.limit);
        let held: Vec<Held> = sidecars
            .iter()
            .map(|s| held(s))
            .filter(|h| keep != Some(h.copy.as_path()))
            .collect();
        let writing = Writing {
            decky: &self.decky,
            bytes: self.mine,
        };
        for i in choose(&held, writing, excess) {
            let h = &held[i];
            let _ = std::fs::remove_file(&h.copy);
            if std::fs::remove_file(sidecar_of(&h.copy)).is_ok() {
                self.used = self.used.saturating_sub(h.bytes);
                self.dropped.push(h.copy.clone());
            }
            remove_empty_parents(&h.copy, &self.root);
        }
    }

    /// Once a capture (`keep`) is in place: brings the directory back under
    /// its quota if its sidecar took it over.
    pub fn settle(&mut self, keep: &Path) {
        let used = walk(&self.root, &mut Vec::new(), &mut Vec::new());
        if used > self.limit {
            self.mine = 0; // in place: counted among its decky's captures
            self.drop_for(0, Some(keep));
        }
    }
}

impl Room for Quota {
    fn part(&mut self, size: u64, mine: u64) {
        self.mine = mine;
        self.may_drop = mine.saturating_add(size) <= self.limit;
    }

    fn reserve_reached(&self) -> bool {
        self.reserve_reached
    }

    fn more(&mut self, need: u64) -> u64 {
        // Dropping makes room for what is needed, never for the chunk.
        if self.used + need > self.limit && self.may_drop {
            self.drop_for(need, None);
        }
        let want = need.max(CHUNK);
        let disk = disk_room(&self.root, self.floor_percent);
        let grant = want.min(self.limit.saturating_sub(self.used)).min(disk);
        if grant < need {
            self.reserve_reached |= disk < need;
            self.stopped = Some(match disk < need {
                true => format!(
                    "the filesystem would go below {} % free",
                    self.floor_percent
                ),
                false => format!("over evidence_quota_mb ({} MiB)", self.limit >> 20),
            });
        }
        self.used += grant;
        grant
    }
}

/// Removes `files`; returns the allocated bytes freed.
fn remove_all(files: &[PathBuf]) -> u64 {
    let removed = files
        .iter()
        .map(|f| (allocated(f), std::fs::remove_file(f)));
    removed
        .filter(|(_, r)| r.is_ok())
        .map(|(bytes, _)| bytes)
        .sum()
}

/// Removes the directories left empty above `copy`, up to `root`.
fn remove_empty_parents(copy: &Path, root: &Path) {
    let mut dir = copy.parent();
    while let Some(d) = dir.filter(|d| d.starts_with(root) && *d != root) {
        if std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(decky: &str, name: &str, bytes: u64) -> Held {
        Held {
            copy: PathBuf::from(format!("/e/{decky}/{name}")),
            decky: decky.into(),
            name: name.into(),
            bytes,
        }
    }

    #[test]
    fn the_oldest_captures_of_the_decky_holding_the_most_go_first() {
        let held = [
            h("a", "20260102T000000.000Z-x", 10),
            h("b", "20260101T000000.000Z-x", 30),
            h("b", "20260103T000000.000Z-x", 30),
            h("a", "20260101T000000.000Z-y", 10),
        ];
        let other = Writing {
            decky: "c",
            bytes: 0,
        };
        assert_eq!(choose(&held, other, 1), [1], "b holds the most; its oldest");
        // b's oldest, then b (30) against a (20): b again, then a's oldest.
        assert_eq!(choose(&held, other, 61), [1, 2, 3]);
        assert_eq!(
            choose(&held, other, 80),
            [1, 2, 3, 0],
            "everything, when needed"
        );
        assert_eq!(
            choose(&held, other, 81),
            Vec::<usize>::new(),
            "never in vain"
        );
        assert_eq!(choose(&held, other, 0), Vec::<usize>::new());
    }

    #[test]
    fn the_capture_being_written_counts_as_its_deckys_and_is_never_made_room_for_by_others() {
        let held = [
            h("b", "20260101T000000.000Z-b", 30),
            h("a", "20260102T000000.000Z-old", 10),
        ];
        let writing = |bytes| Writing { decky: "a", bytes };
        // a holds 10 + 50 against b's 30: a's own oldest goes first.
        assert_eq!(choose(&held, writing(50), 5), [1]);
        // Then a (50, only what it writes) still holds the most: cut, not b.
        assert_eq!(choose(&held, writing(50), 15), Vec::<usize>::new());
        // A decky writing little makes room from the one holding the most.
        assert_eq!(choose(&held, writing(5), 5), [0]);
    }

    #[test]
    fn nothing_is_dropped_for_a_part_that_could_not_fit_at_all() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("b");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("20260101T000000.000Z-b"), vec![1u8; 2 << 20]).unwrap();
        let meta = serde_json::json!({"decky": "b"}).to_string();
        std::fs::write(dir.join("20260101T000000.000Z-b.json"), meta).unwrap();
        let mut q = Quota::new(root.path(), 3 << 20, "a");
        q.floor_percent = 0; // the quota alone: not how full this machine's disk is
        q.part(5 << 20, 0);
        assert!(q.more(2 << 20) < 2 << 20, "over the quota");
        assert!(q.dropped.is_empty(), "b's copy is not dropped in vain");
        assert!(!q.reserve_reached(), "a later, smaller part is still tried");
        q.part(2 << 20, 0);
        assert_eq!(q.more(2 << 20), 2 << 20, "a part that fits makes room");
        assert_eq!(q.dropped.len(), 1);
    }

    #[test]
    fn room_over_the_quota_is_made_by_dropping_and_the_rest_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let keep = |decky: &str, name: &str, size: usize| {
            let dir = root.path().join(decky);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(name), vec![1u8; size]).unwrap();
            let meta = serde_json::json!({"decky": decky});
            std::fs::write(dir.join(format!("{name}.json")), meta.to_string()).unwrap();
        };
        keep("a", "20260101T000000.000Z-old", 2 << 20);
        keep("a", "20260102T000000.000Z-new", 2 << 20);
        keep("b", "20260101T000000.000Z-b", 1 << 20);
        let mut q = Quota::new(root.path(), 7 << 20, "a");
        q.floor_percent = 0; // the quota alone: not how full this machine's disk is
        assert_eq!(q.more(4096), CHUNK, "room left");
        assert!(q.dropped.is_empty());
        let granted = q.more(2 << 20);
        assert_eq!(granted, 2 << 20);
        assert_eq!(q.dropped, [root.path().join("a/20260101T000000.000Z-old")]);
        assert!(!root.path().join("a/20260101T000000.000Z-old.json").exists());
        assert!(
            q.more(16 << 20) < 16 << 20,
            "more than the quota is never granted"
        );
        assert!(q.stopped.as_deref().unwrap().contains("evidence_quota_mb"));
    }
}
