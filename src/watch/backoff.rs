//! Restores of a bait rewritten over and over, spaced out (SPEC §8): an
//! intruder rewriting a bait ten times a second must not have watch restore
//! it ten times a second, keep evidence each time, and crowd out the passes
//! the other deckies need.
//!
//! After a restore, a bait is not restored again for a while: 1 s at first,
//! doubling (to 30 s at most) each time it was changed again within that
//! while; a change after the while has passed is restored at once, and the
//! wait starts again from 1 s. Pure: the caller passes the clock in.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// The wait after a first restore, and the longest.
pub const FIRST: Duration = Duration::from_secs(1);
pub const MAX: Duration = Duration::from_secs(30);

/// A bait: (container, path).
pub type Key = (String, String);

#[derive(Debug)]
struct State {
    wait: Duration,
    /// No restore before this.
    not_before: Instant,
    /// Changes seen since the last restore.
    rewrites: u64,
    /// Changed again before `not_before`: the next wait doubles.
    inside: bool,
    /// A pass is owed at `not_before` (a change or a restore was held).
    owed: bool,
}

/// What a restore of a bait after backoff says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// Changes seen since the restore before.
    pub rewrites: u64,
    /// How long until it may be restored again.
    pub next: Duration,
}

#[derive(Debug, Default)]
pub struct Backoff {
    baits: BTreeMap<Key, State>,
}

impl Backoff {
    /// Someone changed `key` (`counts`: one whole change, as a closed write);
    /// whether a pass may restore it now. When not, a pass is owed later.
    pub fn changed(&mut self, key: &Key, counts: bool, now: Instant) -> bool {
        let Some(st) = self.baits.get_mut(key) else {
            return true;
        };
        st.rewrites += u64::from(counts);
        if now >= st.not_before {
            return true;
        }
        st.inside = true;
        st.owed = true;
        false
    }

    /// The baits whose restore waits at `now`: changed again within their
    /// wait (a write of deckhand's own for a saved edit never waits).
    pub fn held(&self, now: Instant) -> BTreeSet<Key> {
        let waiting = self
            .baits
            .iter()
            .filter(|(_, s)| s.owed && now < s.not_before);
        waiting.map(|(k, _)| k.clone()).collect()
    }

    /// A pass left `key`'s restore for later: one is owed when its wait ends.
    pub fn hold(&mut self, key: &Key) {
        if let Some(st) = self.baits.get_mut(key) {
            st.owed = true;
        }
    }

    /// When the next owed pass is due.
    pub fn deadline(&self) -> Option<Instant> {
        let owed = self.baits.values().filter(|s| s.owed);
        owed.map(|s| s.not_before).min()
    }

    /// The baits whose owed pass is due at `now` (each once).
    pub fn due(&mut self, now: Instant) -> Vec<Key> {
        let mut out = Vec::new();
        for (k, st) in &mut self.baits {
            if st.owed && st.not_before <= now {
                st.owed = false;
                out.push(k.clone());
            }
        }
        out
    }

    /// A pass wrote `key` at `now`; what the backoff says of it, when it was
    /// one (the bait had been changed again within its wait).
    pub fn restored(&mut self, key: &Key, now: Instant) -> Option<Restored> {
        let st = self.baits.entry(key.clone()).or_insert(State {
            wait: FIRST,
            not_before: now,
            rewrites: 0,
            inside: false,
            owed: false,
        });
        let backed_off = st.inside;
        st.wait = match backed_off {
            true => (st.wait * 2).min(MAX),
            false => FIRST,
        };
        let rewrites = std::mem::take(&mut st.rewrites);
        (st.not_before, st.inside, st.owed) = (now + st.wait, false, false);
        backed_off.then_some(Restored {
            rewrites,
            next: st.wait,
        })
    }

    /// Forgets every bait but `keep` (those watched now).
    pub fn retain(&mut self, keep: &BTreeSet<Key>) {
        self.baits.retain(|k, _| keep.contains(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn key() -> Key {
        ("c".into(), "/bait".into())
    }

    #[test]
    fn a_first_change_and_a_change_long_after_are_restored_at_once() {
        let mut b = Backoff::default();
        let t = Instant::now();
        assert!(b.changed(&key(), true, t));
        assert_eq!(b.restored(&key(), t), None);
        assert!(b.changed(&key(), true, t + 5 * S));
        assert_eq!(b.restored(&key(), t + 5 * S), None);
        assert!(b.deadline().is_none());
    }

    #[test]
    fn a_bait_rewritten_ten_times_a_second_is_restored_ever_more_rarely() {
        let mut b = Backoff::default();
        let t = Instant::now();
        let mut waits = Vec::new();
        b.restored(&key(), t);
        for tenth in 1..=700u32 {
            let now = t + S * tenth / 10;
            let changed = b.changed(&key(), true, now);
            if changed | !b.due(now).is_empty() {
                let r = b.restored(&key(), now).expect("a restore after backoff");
                assert!(r.rewrites >= 9, "{r:?}");
                waits.push(r.next);
            }
        }
        assert_eq!(waits[..5], [2 * S, 4 * S, 8 * S, 16 * S, 30 * S]);
        assert_eq!(waits.len(), 6, "{waits:?}");
    }

    #[test]
    fn a_held_restore_is_owed_when_its_wait_ends() {
        let mut b = Backoff::default();
        let t = Instant::now();
        b.restored(&key(), t);
        assert!(b.held(t).is_empty(), "nobody changed it since");
        assert!(!b.changed(&key(), true, t));
        assert_eq!(b.held(t), BTreeSet::from([key()]));
        b.hold(&key());
        assert_eq!(b.deadline(), Some(t + S));
        assert!(b.due(t).is_empty());
        assert_eq!(b.due(t + S), vec![key()]);
        assert!(b.due(t + S).is_empty(), "owed once");
        assert!(b.held(t + S).is_empty());
    }
}
