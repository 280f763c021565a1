//! Rotation as a plan (SPEC §11): `[rotation]` names, per decky, a pool of
//! services and how many of them run; which ones is chosen per epoch
//! (`floor(t / every)`) from the fleet's seed, the decky and the epoch, so
//! the choice is stable, reviewable ahead (`plan --at`) and differs per
//! decky. DECNET's mutator does the same at random every 30 minutes, unseen.
//!
//! The desired state at time t is the file with epoch(t)'s choice applied
//! (by `config`); this module holds the choice and what it tells plans.

pub mod at;
pub mod every;
pub mod plan_at;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::craft::{derive, Seed};
use crate::plan::{Action, Object, Plan};

/// The rotation applied to a desired state: its period, its epoch, and
/// each rotated decky's pool and choice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    pub every: Duration,
    /// Seconds since the Unix epoch the desired state was made for.
    pub at: i64,
    pub epoch: u64,
    /// Per decky: its pool, and the services chosen from it.
    pub deckies: BTreeMap<String, (Vec<String>, Vec<String>)>,
}

impl Applied {
    /// Whether there is a rotation at all.
    pub fn is_on(&self) -> bool {
        !self.deckies.is_empty() && !self.every.is_zero()
    }

    /// Unix seconds of the next epoch's start.
    pub fn next_boundary(&self) -> i64 {
        let every = self.every.as_secs().max(1) as i64;
        (self.epoch as i64 + 1) * every
    }

    /// The reason changes of this rotation carry.
    pub fn reason(&self) -> String {
        format!("rotation epoch {}", self.epoch)
    }
}

/// The epoch `at` (Unix seconds) falls in; times before 1970 are epoch 0.
pub fn epoch(at: i64, every: Duration) -> u64 {
    let every = every.as_secs().max(1);
    u64::try_from(at).map(|t| t / every).unwrap_or(0)
}

/// The `active` services of `pool` that run in `epoch` on `decky`, in the
/// pool's order: a shuffle keyed by the seed, the decky and the epoch.
pub fn choose(seed: &Seed, decky: &str, epoch: u64, pool: &[String], active: usize) -> Vec<String> {
    let bytes = derive::bytes(
        seed,
        decky,
        "",
        &format!("rotation {epoch}"),
        8 * pool.len(),
    );
    let mut keyed: Vec<(u64, usize)> = bytes
        .chunks(8)
        .map(|c| u64::from_be_bytes(c.try_into().expect("8 bytes")))
        .zip(0..)
        .collect();
    keyed.sort();
    let mut chosen: Vec<usize> = keyed.iter().take(active).map(|(_, i)| *i).collect();
    chosen.sort();
    chosen.into_iter().map(|i| pool[i].clone()).collect()
}

/// Marks the changes the rotation makes: a service of a pool created or
/// removed gets `rotation epoch N` among its reasons.
pub fn annotate(rotation: &Applied, plan: &mut Plan) {
    let reason = rotation.reason();
    for change in &mut plan.changes {
        let Object::Service { decky, service } = &change.object else {
            continue;
        };
        let Some((pool, _)) = rotation.deckies.get(decky) else {
            continue;
        };
        let rotates = matches!(change.action, Action::Create | Action::Delete);
        if rotates && pool.contains(service) && !change.reasons.contains(&reason) {
            change.reasons.push(reason.clone());
        }
    }
}

/// Whether a change is the rotation's (held like a replace while a session lasts).
pub fn is_rotation(reasons: &[String]) -> bool {
    reasons.iter().any(|r| r.starts_with("rotation epoch "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> Vec<String> {
        ["ssh", "http", "ftp", "smb", "rdp", "telnet"]
            .map(String::from)
            .to_vec()
    }

    fn change(action: Action, decky: &str, service: &str) -> crate::plan::Change {
        crate::plan::Change {
            host: "local".into(),
            action,
            object: Object::Service {
                decky: decky.into(),
                service: service.into(),
            },
            reasons: vec!["not live".into()],
            detail: crate::plan::Detail::Container {
                name: format!("{decky}-{service}"),
                spec: None,
            },
        }
    }

    #[test]
    fn only_the_pools_creates_and_deletes_name_the_rotation() {
        let mut rotation = Applied {
            every: Duration::from_secs(1800),
            epoch: 9,
            ..Default::default()
        };
        let both = (vec!["ftp".to_string(), "smb".to_string()], vec![]);
        rotation.deckies.insert("web-01".into(), both);
        let mut changes = vec![
            change(Action::Create, "web-01", "ftp"),
            change(Action::Delete, "web-01", "smb"),
            change(Action::Create, "web-01", "ssh"),
            change(Action::Replace, "web-01", "ftp"),
            change(Action::Create, "db-01", "ftp"),
        ];
        let mut plan = crate::plan::Plan {
            fleet: "corp".into(),
            hosts: vec![],
            unplanned: vec![],
            changes: std::mem::take(&mut changes),
            notes: vec![],
            drift: vec![],
            degraded: vec![],
            held: vec![],
        };
        annotate(&rotation, &mut plan);
        annotate(&rotation, &mut plan);
        let marked: Vec<bool> = plan
            .changes
            .iter()
            .map(|c| is_rotation(&c.reasons))
            .collect();
        assert_eq!(marked, [true, true, false, false, false]);
        assert_eq!(plan.changes[0].reasons, ["not live", "rotation epoch 9"]);
    }

    #[test]
    fn the_epoch_is_time_over_the_period() {
        let every = Duration::from_secs(1800);
        assert_eq!(epoch(0, every), 0);
        assert_eq!(epoch(1799, every), 0);
        assert_eq!(epoch(1800, every), 1);
        assert_eq!(epoch(-5, every), 0);
        let applied = Applied {
            every,
            epoch: 3,
            ..Default::default()
        };
        assert_eq!(applied.next_boundary(), 4 * 1800);
    }

    #[test]
    fn the_choice_is_stable_and_of_the_size_asked() {
        let seed = Seed::from_bytes(vec![3; 32]);
        let a = choose(&seed, "web-01", 7, &pool(), 2);
        assert_eq!(a.len(), 2);
        assert_eq!(a, choose(&seed, "web-01", 7, &pool(), 2));
        assert!(a.iter().all(|s| pool().contains(s)));
        assert_eq!(choose(&seed, "web-01", 7, &pool(), 6), pool());
    }

    #[test]
    fn the_choice_differs_per_decky_per_epoch_and_per_seed() {
        let seed = Seed::from_bytes(vec![3; 32]);
        let per = |s: &Seed, d: &str, e| choose(s, d, e, &pool(), 3);
        let web: Vec<_> = (0..8).map(|e| per(&seed, "web-01", e)).collect();
        let db: Vec<_> = (0..8).map(|e| per(&seed, "db-01", e)).collect();
        assert_ne!(web, db);
        assert!(web.iter().any(|c| *c != web[0]), "{web:?}");
        let other = Seed::from_bytes(vec![4; 32]);
        let web2: Vec<_> = (0..8).map(|e| per(&other, "web-01", e)).collect();
        assert_ne!(web, web2);
    }
}
