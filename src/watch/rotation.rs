//! Watch and `[rotation]` (SPEC §11): a pass at each epoch's start. The pass
//! loads the config as desired then, so it carries the new epoch's choice;
//! a decky a session holds gets it when the session ends (its pass then
//! loads the config again, at that time).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::rotation::Applied;

/// Past the boundary by this much, so the pass's clock is surely in the new epoch.
const PAST_BOUNDARY: Duration = Duration::from_millis(50);

/// When the next epoch starts, and its number.
#[derive(Debug, Default)]
pub struct Schedule {
    due: Option<(Instant, u64)>,
}

impl Schedule {
    /// After a pass: the epoch after the one it applied.
    pub fn set(&mut self, rotation: &Applied) {
        if !rotation.is_on() {
            self.due = None;
            return;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let boundary = Duration::from_secs(rotation.next_boundary().max(0) as u64);
        let wait = boundary.saturating_sub(now) + PAST_BOUNDARY;
        self.due = Some((Instant::now() + wait, rotation.epoch + 1));
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.due.map(|(at, _)| at)
    }

    /// The reason for a pass when the next epoch has begun by `now`.
    pub fn fire(&mut self, now: Instant) -> Option<String> {
        let (at, epoch) = self.due?;
        if at > now {
            return None;
        }
        self.due = None;
        Some(format!("rotation epoch {epoch}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_epoch_is_due_at_its_boundary_once() {
        let mut s = Schedule::default();
        s.set(&Applied::default());
        assert_eq!(s.deadline(), None);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let every = Duration::from_secs(3600);
        let epoch = now.as_secs() / 3600;
        let mut applied = Applied {
            every,
            at: now.as_secs() as i64,
            epoch,
            ..Default::default()
        };
        applied.deckies.insert("web-01".into(), (vec![], vec![]));
        s.set(&applied);
        let at = s.deadline().unwrap();
        assert!(at <= Instant::now() + every + PAST_BOUNDARY);
        assert_eq!(s.fire(at - Duration::from_millis(1)), None);
        assert_eq!(s.fire(at), Some(format!("rotation epoch {}", epoch + 1)));
        assert_eq!(s.fire(at), None);
    }
}
