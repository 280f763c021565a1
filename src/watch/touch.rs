//! What inotify tells of the baits' directories, as plain data: a process
//! touched a bait ([`Touch`]), a watched directory itself went away (moved,
//! deleted, unmounted), or the kernel's queue overflowed and events were lost.

use std::collections::BTreeMap;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;

use rustix::fs::inotify::{self, ReadFlags};

/// What a process in a decky did to a bait: an `access` word of SPEC §9,
/// and the inotify flags it came from (to count opens and writes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touch {
    pub container: String,
    pub path: String,
    pub access: &'static str,
    pub flags: ReadFlags,
}

impl Touch {
    /// Whether it changed the bait (and so a pass should heal it).
    pub fn changes(&self) -> bool {
        matches!(self.access, "write" | "delete" | "attrib")
    }

    /// Whether it ends one change (a write closed, a `chmod`, a delete or a
    /// rename): what a count of rewrites counts.
    pub fn completes(&self) -> bool {
        self.flags.intersects(
            ReadFlags::CLOSE_WRITE
                | ReadFlags::ATTRIB
                | ReadFlags::DELETE
                | ReadFlags::MOVED_FROM
                | ReadFlags::MOVED_TO,
        )
    }
}

/// One thing inotify said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    Touch(Touch),
    /// A watched directory was moved, deleted or unmounted: its baits are
    /// unwatched until the watches are rebuilt.
    Lost {
        container: String,
        dir: String,
    },
    /// The kernel's queue overflowed: events were lost.
    Overflow,
}

/// A watched directory: whose, where, and the bait names in it.
#[derive(Debug, Clone)]
pub struct Dir {
    pub container: String,
    pub dir: String,
    pub names: std::collections::BTreeSet<String>,
}

/// The access word of an inotify event on a file.
pub fn access(flags: ReadFlags) -> Option<&'static str> {
    let is = |f: ReadFlags| flags.intersects(f);
    if is(ReadFlags::DELETE | ReadFlags::MOVED_FROM) {
        Some("delete")
    } else if is(ReadFlags::MODIFY
        | ReadFlags::CLOSE_WRITE
        | ReadFlags::CREATE
        | ReadFlags::MOVED_TO)
    {
        Some("write")
    } else if is(ReadFlags::ATTRIB) {
        Some("attrib")
    } else if is(ReadFlags::ACCESS) {
        Some("read")
    } else if is(ReadFlags::OPEN) {
        Some("open")
    } else {
        None
    }
}

/// The events on a watched directory itself that end its watch.
fn lost(flags: ReadFlags) -> bool {
    flags.intersects(
        ReadFlags::MOVE_SELF | ReadFlags::DELETE_SELF | ReadFlags::IGNORED | ReadFlags::UNMOUNT,
    )
}

/// Every event queued on `fd` (reads until empty), as what it means for the
/// baits of `dirs` (by watch descriptor).
pub fn drain(fd: &OwnedFd, dirs: &BTreeMap<i32, Dir>) -> Vec<Seen> {
    let mut buf = [MaybeUninit::<u8>::uninit(); 8192];
    let mut reader = inotify::Reader::new(fd, &mut buf);
    let mut out = Vec::new();
    while let Ok(event) = reader.next() {
        if event.events().contains(ReadFlags::QUEUE_OVERFLOW) {
            out.push(Seen::Overflow);
            continue;
        }
        let Some(dir) = dirs.get(&event.wd()) else {
            continue;
        };
        let name = event.file_name().map(|n| n.to_string_lossy().into_owned());
        if name.is_none() && lost(event.events()) {
            out.push(Seen::Lost {
                container: dir.container.clone(),
                dir: dir.dir.clone(),
            });
            continue;
        }
        if let Some(touch) = name.and_then(|n| touch(dir, &n, event.events())) {
            out.push(Seen::Touch(touch));
        }
    }
    out
}

/// The touch of bait `name` in `dir`, if it is one.
fn touch(dir: &Dir, name: &str, flags: ReadFlags) -> Option<Touch> {
    let access = access(flags)?;
    if !dir.names.contains(name) {
        return None;
    }
    let path = match dir.dir.as_str() {
        "/" => format!("/{name}"),
        d => format!("{d}/{name}"),
    };
    Some(Touch {
        container: dir.container.clone(),
        path,
        access,
        flags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_has_its_access_word() {
        assert_eq!(access(ReadFlags::OPEN), Some("open"));
        assert_eq!(access(ReadFlags::ACCESS), Some("read"));
        assert_eq!(access(ReadFlags::CLOSE_WRITE), Some("write"));
        assert_eq!(access(ReadFlags::MOVED_FROM), Some("delete"));
        assert_eq!(access(ReadFlags::ATTRIB), Some("attrib"));
        assert_eq!(access(ReadFlags::CLOSE_NOWRITE), None);
    }

    #[test]
    fn a_rewrite_completes_on_close_not_on_each_modify() {
        let t = |flags| Touch {
            container: "c".into(),
            path: "/p".into(),
            access: access(flags).unwrap(),
            flags,
        };
        assert!(t(ReadFlags::MODIFY).changes());
        assert!(!t(ReadFlags::MODIFY).completes());
        assert!(t(ReadFlags::CLOSE_WRITE).completes());
        assert!(!t(ReadFlags::OPEN).completes());
    }
}
