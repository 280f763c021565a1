//! What inotify queued while a pass ran, less what the pass itself did.
//!
//! inotify does not say who: deckhand counts its own opens of each bait
//! ([`crate::own_opens`]) and knows which baits the pass wrote or deleted.
//! One archive upload of a bait makes, on the engine, one delete (when it
//! was there), one create, one open, modifies, one close-write and its
//! attribute changes; one read makes one open and reads. Whatever is left
//! over after those is someone else's: an intruder's open during the pass is
//! reported like any other, and their change asks for one more pass.

use std::collections::{BTreeMap, BTreeSet};

use rustix::fs::inotify::ReadFlags;

use super::touch::{Seen, Touch};

/// Kinds of event counted against what a pass does itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Open,
    CloseWrite,
    Create,
    Delete,
    Attrib,
    /// Modifies and reads: any number come from one write (reads are
    /// counted by their opens).
    Bulk,
}

fn kind(flags: ReadFlags) -> Kind {
    let is = |f: ReadFlags| flags.intersects(f);
    if is(ReadFlags::OPEN) {
        Kind::Open
    } else if is(ReadFlags::CLOSE_WRITE) {
        Kind::CloseWrite
    } else if is(ReadFlags::CREATE | ReadFlags::MOVED_TO) {
        Kind::Create
    } else if is(ReadFlags::DELETE | ReadFlags::MOVED_FROM) {
        Kind::Delete
    } else if is(ReadFlags::ATTRIB) {
        Kind::Attrib
    } else {
        Kind::Bulk
    }
}

/// How many events of `kind` on a bait the pass made itself: `opens` reads
/// and copies, and `wrote` (one upload or delete) or not.
fn own(kind: Kind, opens: u64, wrote: bool) -> u64 {
    let once = u64::from(wrote);
    match kind {
        Kind::Open => opens + once,
        Kind::CloseWrite | Kind::Create | Kind::Delete | Kind::Attrib => once,
        Kind::Bulk if wrote => u64::MAX,
        Kind::Bulk => 0,
    }
}

/// What of `queued` was not the pass's own doing: the pass opened each
/// (container, path) `opens` times and wrote or deleted those in `wrote`.
pub fn theirs(
    queued: Vec<Seen>,
    opens: &BTreeMap<(String, String), u64>,
    wrote: &BTreeSet<(String, String)>,
) -> Vec<Seen> {
    let mut used: BTreeMap<(String, String, Kind), u64> = BTreeMap::new();
    let mut out = Vec::new();
    for seen in queued {
        let Seen::Touch(t) = &seen else {
            out.push(seen);
            continue;
        };
        let key = (t.container.clone(), t.path.clone());
        let k = kind(t.flags);
        let allowed = own(
            k,
            opens.get(&key).copied().unwrap_or(0),
            wrote.contains(&key),
        );
        let n = used.entry((key.0, key.1, k)).or_default();
        *n += 1;
        if *n > allowed && !is_bulk_read(t) {
            out.push(seen);
        }
    }
    out
}

/// A read comes with an open, which is what is counted; reads themselves
/// cannot be told apart.
fn is_bulk_read(t: &Touch) -> bool {
    t.access == "read"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::touch::access;

    fn t(path: &str, flags: ReadFlags) -> Seen {
        Seen::Touch(Touch {
            container: "c".into(),
            path: path.into(),
            access: access(flags).unwrap(),
            flags,
        })
    }

    fn key(path: &str) -> (String, String) {
        ("c".to_string(), path.to_string())
    }

    #[test]
    fn the_pass_reading_each_bait_once_is_its_own() {
        let queued = vec![t("/a", ReadFlags::OPEN), t("/a", ReadFlags::ACCESS)];
        let opens = BTreeMap::from([(key("/a"), 1)]);
        assert_eq!(theirs(queued, &opens, &BTreeSet::new()), vec![]);
    }

    #[test]
    fn an_intruders_two_reads_during_the_pass_are_theirs() {
        let mut queued = vec![t("/a", ReadFlags::OPEN), t("/a", ReadFlags::ACCESS)];
        for _ in 0..2 {
            queued.extend([t("/a", ReadFlags::OPEN), t("/a", ReadFlags::ACCESS)]);
        }
        let opens = BTreeMap::from([(key("/a"), 1)]);
        let left = theirs(queued, &opens, &BTreeSet::new());
        assert_eq!(
            left,
            vec![t("/a", ReadFlags::OPEN), t("/a", ReadFlags::OPEN)]
        );
    }

    #[test]
    fn an_upload_is_the_pass_own_and_a_second_write_is_not() {
        let upload = [
            ReadFlags::DELETE,
            ReadFlags::CREATE,
            ReadFlags::OPEN,
            ReadFlags::MODIFY,
            ReadFlags::CLOSE_WRITE,
            ReadFlags::ATTRIB,
        ];
        let mut queued: Vec<Seen> = upload.iter().map(|f| t("/a", *f)).collect();
        let wrote = BTreeSet::from([key("/a")]);
        assert_eq!(theirs(queued.clone(), &BTreeMap::new(), &wrote), vec![]);
        queued.extend([
            t("/a", ReadFlags::OPEN),
            t("/a", ReadFlags::MODIFY),
            t("/a", ReadFlags::CLOSE_WRITE),
        ]);
        let left = theirs(queued, &BTreeMap::new(), &wrote);
        assert_eq!(
            left,
            vec![t("/a", ReadFlags::OPEN), t("/a", ReadFlags::CLOSE_WRITE)]
        );
    }

    #[test]
    fn a_change_to_a_bait_the_pass_did_not_write_is_theirs() {
        let queued = vec![t("/b", ReadFlags::MODIFY), t("/b", ReadFlags::ATTRIB)];
        let left = theirs(queued.clone(), &BTreeMap::new(), &BTreeSet::new());
        assert_eq!(left, queued);
    }

    #[test]
    fn a_lost_directory_and_an_overflow_are_always_told() {
        let lost = Seen::Lost {
            container: "c".into(),
            dir: "/root/.aws".into(),
        };
        let queued = vec![lost.clone(), Seen::Overflow];
        let left = theirs(queued, &BTreeMap::new(), &BTreeSet::new());
        assert_eq!(left, vec![lost, Seen::Overflow]);
    }
}
