//! Baits looked at without inotify: every 2 s when inotify cannot be had
//! for them (SPEC §8: a decky that holds every inotify instance of the
//! host's root must not blind the watch), and at once when inotify's queue
//! overflowed (events were lost: which baits changed?). Cheap: the root
//! opened again, a walk of `O_PATH` opens (which inotify does not see) and
//! one `stat` per bait; a bait whose identity, size, mode, owner or times
//! differ from the last look is told as a touch. No descriptor is held
//! between looks (a container's root must not be kept busy).

use std::collections::BTreeMap;
use std::time::Duration;

use rustix::fs::inotify::ReadFlags;
use rustix::fs::{AtFlags, Stat};

use super::baits::Bait;
use super::touch::{Seen, Touch};
use crate::observe::host::{open_dir, Root};

/// How often the baits are looked at.
pub const EVERY: Duration = Duration::from_secs(2);

/// What a look at a bait finds: enough to see any write, `chmod` or swap.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Look {
    id: (u64, u64),
    mode: u32,
    owner: (u32, u32),
    size: i64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Look {
    fn of(st: &Stat) -> Look {
        Look {
            id: (st.st_dev, st.st_ino),
            mode: st.st_mode,
            owner: (st.st_uid, st.st_gid),
            size: st.st_size,
            mtime: (st.st_mtime, st.st_mtime_nsec as i64),
            ctime: (st.st_ctime, st.st_ctime_nsec as i64),
        }
    }
}

/// The baits looked at, and what the last look found (`None`: missing).
#[derive(Default)]
pub struct Poll {
    /// Per container (name, id, pid): its bait paths.
    baits: BTreeMap<(String, String, u32), Vec<String>>,
    last: BTreeMap<(String, String), Option<Look>>,
}

impl Poll {
    /// Starts from a first look at every bait.
    pub fn new(baits: &[Bait]) -> Poll {
        let mut poll = Poll::default();
        for b in baits {
            let key = (b.container.clone(), b.id.clone(), b.pid);
            poll.baits.entry(key).or_default().push(b.path.clone());
        }
        poll.look();
        poll
    }

    /// What changed since the last look.
    pub fn look(&mut self) -> Vec<Seen> {
        let mut out = Vec::new();
        for ((container, id, pid), paths) in &self.baits {
            let root = Root::open(id, *pid).ok();
            for path in paths {
                let now = root.as_ref().and_then(|r| look_at(r, path));
                let key = (container.clone(), path.clone());
                let before = self.last.insert(key, now.clone());
                if let Some(before) = before.filter(|b| *b != now) {
                    out.push(Seen::Touch(touch(container, path, &before, &now)));
                }
            }
        }
        out
    }
}

/// The bait at `path` as it is now; `None` when it cannot be reached.
fn look_at(root: &Root, path: &str) -> Option<Look> {
    let (dir, name) = path.rsplit_once('/')?;
    let dir = open_dir(root, if dir.is_empty() { "/" } else { dir }).ok()?;
    let st = rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW).ok()?;
    Some(Look::of(&st))
}

/// What a difference between two looks amounts to.
fn touch(container: &str, path: &str, before: &Option<Look>, now: &Option<Look>) -> Touch {
    let (access, flags) = match (before, now) {
        (_, None) => ("delete", ReadFlags::DELETE),
        (Some(b), Some(n)) if (b.id, b.size, b.mtime) == (n.id, n.size, n.mtime) => {
            ("attrib", ReadFlags::ATTRIB)
        }
        _ => ("write", ReadFlags::CLOSE_WRITE),
    };
    Touch {
        container: container.to_string(),
        path: path.to_string(),
        access,
        flags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn look(size: i64, mode: u32) -> Option<Look> {
        Some(Look {
            id: (1, 2),
            mode,
            owner: (0, 0),
            size,
            mtime: (10, 0),
            ctime: (10, 0),
        })
    }

    #[test]
    fn a_difference_is_told_as_what_it_is() {
        let t = |b, n| touch("c", "/p", &b, &n).access;
        assert_eq!(t(look(3, 0o644), None), "delete");
        assert_eq!(t(look(3, 0o644), look(3, 0o777)), "attrib");
        assert_eq!(t(look(3, 0o644), look(9, 0o644)), "write");
        assert_eq!(t(None, look(3, 0o644)), "write");
    }
}
