//! When a burst of triggers (saves, container events) turns into one pass.
//!
//! A pass fires once no trigger has come for `quiet`, or `max_wait` after the
//! first trigger of a burst at the latest, so that a file saved every 100 ms
//! still gets applied. Bait triggers are debounced per decky ([`PerDecky`]):
//! an intruder whose bait events never stop holds back only their own
//! decky's pass, never another's. Pure: the caller passes the clock in.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Debounce {
    quiet: Duration,
    max_wait: Duration,
    /// First and last trigger of the pending burst.
    pending: Option<(Instant, Instant)>,
}

impl Debounce {
    pub fn new(quiet: Duration) -> Debounce {
        Debounce {
            quiet,
            max_wait: (quiet * 10).max(Duration::from_secs(1)),
            pending: None,
        }
    }

    pub fn trigger(&mut self, now: Instant) {
        self.pending = Some(match self.pending {
            Some((first, _)) => (first, now),
            None => (now, now),
        });
    }

    /// When the pending burst fires; `None` when nothing is pending.
    pub fn deadline(&self) -> Option<Instant> {
        self.pending
            .map(|(first, last)| (last + self.quiet).min(first + self.max_wait))
    }

    /// True once, when the pending burst is due at `now`; it is then cleared.
    pub fn fire(&mut self, now: Instant) -> bool {
        let due = self.deadline().is_some_and(|d| d <= now);
        if due {
            self.pending = None;
        }
        due
    }
}

/// One [`Debounce`] per decky: a decky's burst fires after the quiet time
/// in that decky (or its own max wait), whatever the others do.
#[derive(Debug)]
pub struct PerDecky {
    quiet: Duration,
    deckies: BTreeMap<String, Debounce>,
}

impl PerDecky {
    pub fn new(quiet: Duration) -> PerDecky {
        PerDecky {
            quiet,
            deckies: BTreeMap::new(),
        }
    }

    pub fn trigger(&mut self, decky: &str, now: Instant) {
        let quiet = self.quiet;
        let d = self.deckies.entry(decky.to_string());
        d.or_insert_with(|| Debounce::new(quiet)).trigger(now);
    }

    /// When the first pending decky fires; `None` when nothing is pending.
    pub fn deadline(&self) -> Option<Instant> {
        self.deckies.values().filter_map(Debounce::deadline).min()
    }

    /// The deckies whose burst is due at `now` (each once); they are cleared.
    pub fn fire(&mut self, now: Instant) -> Vec<String> {
        let due: Vec<String> = self
            .deckies
            .iter_mut()
            .filter_map(|(decky, d)| d.fire(now).then(|| decky.clone()))
            .collect();
        self.deckies.retain(|_, d| d.deadline().is_some());
        due
    }

    /// Clears every pending burst (a pass of the whole fleet covers them).
    pub fn clear(&mut self) {
        self.deckies.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn nothing_pending_never_fires() {
        let mut d = Debounce::new(300 * MS);
        let t = Instant::now();
        assert_eq!(d.deadline(), None);
        assert!(!d.fire(t + 10_000 * MS));
    }

    #[test]
    fn one_trigger_fires_after_the_quiet_time_once() {
        let mut d = Debounce::new(300 * MS);
        let t = Instant::now();
        d.trigger(t);
        assert!(!d.fire(t + 299 * MS));
        assert!(d.fire(t + 300 * MS));
        assert!(!d.fire(t + 301 * MS), "fired twice");
    }

    #[test]
    fn five_saves_in_100_ms_fire_once_300_ms_after_the_last() {
        let mut d = Debounce::new(300 * MS);
        let t = Instant::now();
        let mut fired = 0;
        for i in 0..5 {
            let now = t + i * 25 * MS;
            fired += usize::from(d.fire(now));
            d.trigger(now);
        }
        assert_eq!(d.deadline(), Some(t + 400 * MS));
        for step in 0..100 {
            fired += usize::from(d.fire(t + step * 10 * MS));
        }
        assert_eq!(fired, 1);
    }

    #[test]
    fn a_steady_stream_of_saves_still_fires_at_max_wait() {
        let mut d = Debounce::new(300 * MS);
        let t = Instant::now();
        let mut fired_at = Vec::new();
        for i in 0..60 {
            let now = t + i * 100 * MS;
            if d.fire(now) {
                fired_at.push(i * 100);
            }
            d.trigger(now);
        }
        assert_eq!(fired_at, vec![3000]);
    }

    #[test]
    fn a_decky_never_quiet_does_not_hold_back_another() {
        let mut d = PerDecky::new(300 * MS);
        let t = Instant::now();
        let mut fired = Vec::new();
        for i in 0..70 {
            let now = t + i * 50 * MS;
            for decky in d.fire(now) {
                fired.push((decky, i * 50));
            }
            d.trigger("a", now);
            if i == 10 {
                d.trigger("b", now);
            }
        }
        let b: Vec<_> = fired.iter().filter(|(k, _)| k == "b").collect();
        assert_eq!(
            b,
            [&("b".to_string(), 800)],
            "b fires 300 ms after its trigger"
        );
        let a: Vec<_> = fired.iter().filter(|(k, _)| k == "a").collect();
        assert_eq!(a, [&("a".to_string(), 3000)], "a fires at its max wait");
    }

    #[test]
    fn deckies_due_together_fire_together_once() {
        let mut d = PerDecky::new(300 * MS);
        let t = Instant::now();
        assert_eq!(d.deadline(), None);
        d.trigger("b", t);
        d.trigger("a", t + 10 * MS);
        assert_eq!(d.deadline(), Some(t + 300 * MS));
        assert!(d.fire(t + 299 * MS).is_empty());
        assert_eq!(d.fire(t + 400 * MS), ["a", "b"]);
        assert!(d.fire(t + 500 * MS).is_empty(), "fired twice");
        assert_eq!(d.deadline(), None);
    }

    #[test]
    fn clear_drops_every_pending_decky() {
        let mut d = PerDecky::new(300 * MS);
        let t = Instant::now();
        d.trigger("a", t);
        d.clear();
        assert_eq!(d.deadline(), None);
        assert!(d.fire(t + 10_000 * MS).is_empty());
    }
}
