//! Removing what stands at one name in a directory, and everything beneath
//! it, through directory file descriptors: never by a path string, never
//! through a symlink, never across a mount point, and under a budget of
//! entries and time (the tree is the intruder's: it may be huge, deep, or
//! grow while it is removed).

use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// Most entries one removal takes out.
pub const MAX_ENTRIES: usize = 100_000;
/// Longest one removal takes.
pub const MAX_TIME: Duration = Duration::from_secs(10);
/// Deepest directory one removal descends into (each level holds a descriptor).
pub const MAX_DEPTH: usize = 256;

/// Why a removal stopped; what was removed before stays removed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    #[error("more than {MAX_ENTRIES} entries: stopped after removing {removed}")]
    TooMany { removed: usize },
    #[error("not done within {} s: stopped after removing {removed}", MAX_TIME.as_secs())]
    TooSlow { removed: usize },
    #[error("{at} is deeper than {MAX_DEPTH} directories: stopped after removing {removed}")]
    TooDeep { at: String, removed: usize },
    #[error("{at} is a mount point: not removed")]
    MountPoint { at: String },
    #[error("{at} changed while it was removed")]
    Changed { at: String },
    #[error("{at}: {errno}")]
    Os { at: String, errno: Errno },
}

/// What one removal may still spend.
#[derive(Debug)]
pub struct Budget {
    removed: usize,
    entries: usize,
    until: Instant,
}

impl Budget {
    /// The budget of one removal: [`MAX_ENTRIES`] entries, [`MAX_TIME`].
    pub fn new() -> Budget {
        Budget::with(MAX_ENTRIES, MAX_TIME)
    }

    pub fn with(entries: usize, time: Duration) -> Budget {
        Budget {
            removed: 0,
            entries,
            until: Instant::now() + time,
        }
    }

    /// How many entries were removed.
    pub fn removed(&self) -> usize {
        self.removed
    }

    /// One more entry to look at, if the budget allows it.
    fn spend(&mut self) -> Result<(), TreeError> {
        let removed = self.removed;
        if removed >= self.entries {
            return Err(TreeError::TooMany { removed });
        }
        if Instant::now() >= self.until {
            return Err(TreeError::TooSlow { removed });
        }
        Ok(())
    }
}

/// Opens resolve beneath the directory given, through no symlink at all.
fn resolve() -> ResolveFlags {
    ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS
}

fn os(at: &str) -> impl Fn(Errno) -> TreeError + '_ {
    move |errno| TreeError::Os {
        at: at.to_string(),
        errno,
    }
}

/// Removes `name` in `dir` (shown as `at`): a symlink, FIFO, device node or
/// file is unlinked itself; a directory is emptied depth-first, then removed.
/// Nothing there is nothing to do.
pub fn remove(
    dir: BorrowedFd<'_>,
    name: &CStr,
    at: &str,
    budget: &mut Budget,
) -> Result<(), TreeError> {
    let dev = rustix::fs::fstat(dir).map_err(os(at))?.st_dev;
    remove_at(dir, dev, name, at, budget, 0)
}

fn remove_at(
    dir: BorrowedFd<'_>,
    dir_dev: u64,
    name: &CStr,
    at: &str,
    budget: &mut Budget,
    depth: usize,
) -> Result<(), TreeError> {
    budget.spend()?;
    let st = match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Err(Errno::NOENT) => return Ok(()),
        st => st.map_err(os(at))?,
    };
    let is_dir = FileType::from_raw_mode(st.st_mode) == FileType::Directory;
    if is_dir {
        if st.st_dev != dir_dev {
            return Err(TreeError::MountPoint { at: at.to_string() });
        }
        if depth >= MAX_DEPTH {
            let removed = budget.removed;
            return Err(TreeError::TooDeep {
                at: at.to_string(),
                removed,
            });
        }
        let sub = open_same(dir, name, (st.st_dev, st.st_ino), at)?;
        empty(sub.as_fd(), st.st_dev, at, budget, depth)?;
    }
    let flags = if is_dir {
        AtFlags::REMOVEDIR
    } else {
        AtFlags::empty()
    };
    match rustix::fs::unlinkat(dir, name, flags) {
        Ok(()) | Err(Errno::NOENT) => {}
        Err(Errno::ISDIR | Errno::NOTDIR | Errno::NOTEMPTY) => {
            return Err(TreeError::Changed { at: at.to_string() })
        }
        Err(e) => return Err(os(at)(e)),
    }
    budget.removed += 1;
    Ok(())
}

/// Directory `name` in `dir`, opened for listing, as long as it is still the
/// directory `id` (device, inode) that was looked at.
fn open_same(
    dir: BorrowedFd<'_>,
    name: &CStr,
    id: (u64, u64),
    at: &str,
) -> Result<OwnedFd, TreeError> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let changed = || TreeError::Changed { at: at.to_string() };
    let sub = match rustix::fs::openat2(dir, name, flags, Mode::empty(), resolve()) {
        Err(Errno::NOTDIR | Errno::LOOP | Errno::NOENT | Errno::XDEV) => return Err(changed()),
        sub => sub.map_err(os(at))?,
    };
    let now = rustix::fs::fstat(&sub).map_err(os(at))?;
    if (now.st_dev, now.st_ino) != id {
        return Err(changed());
    }
    Ok(sub)
}

/// Removes everything in directory `dir` (shown as `at`), listing it again
/// until it is empty: what is added meanwhile is removed too, within budget.
fn empty(
    dir: BorrowedFd<'_>,
    dev: u64,
    at: &str,
    budget: &mut Budget,
    depth: usize,
) -> Result<(), TreeError> {
    loop {
        let names = list(dir, at, budget)?;
        if names.is_empty() {
            return Ok(());
        }
        for name in names {
            remove_at(dir, dev, &name, &below(at, &name), budget, depth + 1)?;
        }
    }
}

/// Longest path a message shows: the intruder picks the names and the depth.
const SHOWN: usize = 160;

/// How `name` in the directory shown as `at` is shown: cut with `/…` past [`SHOWN`].
fn below(at: &str, name: &CStr) -> String {
    if at.ends_with("/…") {
        return at.to_string();
    }
    let next = format!("{at}/{}", name.to_string_lossy());
    match next.len() > SHOWN {
        true => format!("{at}/…"),
        false => next,
    }
}

/// The names in directory `dir`, at most as many as the budget has left.
fn list(dir: BorrowedFd<'_>, at: &str, budget: &Budget) -> Result<Vec<CString>, TreeError> {
    let mut names = Vec::new();
    let room = budget.entries.saturating_sub(budget.removed) + 1;
    for entry in Dir::read_from(dir).map_err(os(at))? {
        let entry = entry.map_err(os(at))?;
        let name = entry.file_name();
        if name != c"." && name != c".." {
            names.push(name.to_owned());
        }
        if names.len() >= room {
            break;
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (tempfile::TempDir, OwnedFd) {
        let top = tempfile::tempdir().unwrap();
        let fd =
            rustix::fs::open(top.path(), OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        (top, fd)
    }

    #[test]
    fn a_tree_goes_depth_first_and_a_symlink_is_not_followed() {
        let (top, fd) = tree();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("keep"), "x").unwrap();
        let planted = top.path().join("bait");
        std::fs::create_dir_all(planted.join("a/b")).unwrap();
        std::fs::write(planted.join("a/b/f"), "y").unwrap();
        std::os::unix::fs::symlink(outside.path(), planted.join("a/link")).unwrap();
        let mut budget = Budget::new();
        remove(fd.as_fd(), c"bait", "/bait", &mut budget).unwrap();
        assert!(!planted.exists());
        assert_eq!(budget.removed(), 5, "bait, a, b, f, link");
        assert!(
            outside.path().join("keep").exists(),
            "the link's target stays"
        );
    }

    #[test]
    fn a_symlink_at_the_name_is_removed_itself() {
        let (top, fd) = tree();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), top.path().join("bait")).unwrap();
        remove(fd.as_fd(), c"bait", "/bait", &mut Budget::new()).unwrap();
        assert!(top.path().join("bait").symlink_metadata().is_err());
        assert!(outside.path().exists());
    }

    #[test]
    fn nothing_there_is_nothing_to_do() {
        let (_top, fd) = tree();
        remove(fd.as_fd(), c"none", "/none", &mut Budget::new()).unwrap();
    }

    #[test]
    fn over_the_budget_it_stops_and_says_so() {
        let (top, fd) = tree();
        let planted = top.path().join("bait");
        std::fs::create_dir(&planted).unwrap();
        for n in 0..20 {
            std::fs::write(planted.join(n.to_string()), "").unwrap();
        }
        let mut budget = Budget::with(10, MAX_TIME);
        let e = remove(fd.as_fd(), c"bait", "/bait", &mut budget).unwrap_err();
        assert_eq!(e, TreeError::TooMany { removed: 10 });
        assert!(planted.exists());
        let mut budget = Budget::with(MAX_ENTRIES, Duration::ZERO);
        let e = remove(fd.as_fd(), c"bait", "/bait", &mut budget).unwrap_err();
        assert_eq!(e, TreeError::TooSlow { removed: 0 });
    }

    #[test]
    fn too_deep_a_tree_stops() {
        let (top, fd) = tree();
        let mut deep = top.path().join("bait");
        for _ in 0..MAX_DEPTH + 1 {
            deep = deep.join("d");
        }
        std::fs::create_dir_all(&deep).unwrap();
        let e = remove(fd.as_fd(), c"bait", "/bait", &mut Budget::new()).unwrap_err();
        assert!(matches!(e, TreeError::TooDeep { .. }), "{e}");
        assert!(e.to_string().starts_with("/bait/d/d/"), "{e}");
        assert!(e.to_string().len() < SHOWN + 100, "{e}");
    }
}
