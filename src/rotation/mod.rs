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
    /// Per decky: its personas, and the one chosen.
    pub personas: BTreeMap<String, (Vec<String>, String)>,
}

impl Applied {
    /// Whether there is a rotation at all.
    pub fn is_on(&self) -> bool {
        (!self.deckies.is_empty() || !self.personas.is_empty()) && !self.every.is_zero()
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
    shuffled(seed, decky, &format!("rotation {epoch}"), pool, active)
}

/// The persona of `personas` that `decky` wears in `epoch`: drawn apart
/// from its services (another key), so the two rotate independently.
pub fn choose_persona(seed: &Seed, decky: &str, epoch: u64, personas: &[String]) -> String {
    let label = format!("rotation persona {epoch}");
    let chosen = shuffled(seed, decky, &label, personas, 1);
    chosen.into_iter().next().unwrap_or_default()
}

/// The first `active` of `pool` in an order keyed by the seed, the decky
/// and `label`, in the pool's order.
fn shuffled(seed: &Seed, decky: &str, label: &str, pool: &[String], active: usize) -> Vec<String> {
    let bytes = derive::bytes(seed, decky, "", label, 8 * pool.len());
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

/// Marks the changes the rotation makes with `rotation epoch N` among
/// their reasons: a service of a pool created or removed, and a base
/// replaced for a persona its rotation chose.
pub fn annotate(rotation: &Applied, plan: &mut Plan) {
    let reason = rotation.reason();
    for change in &mut plan.changes {
        if rotates(rotation, change) && !change.reasons.contains(&reason) {
            change.reasons.push(reason.clone());
        }
    }
}

fn rotates(rotation: &Applied, change: &crate::plan::Change) -> bool {
    match &change.object {
        Object::Service { decky, service } => {
            let pool = rotation.deckies.get(decky).map(|(pool, _)| pool);
            matches!(change.action, Action::Create | Action::Delete)
                && pool.is_some_and(|p| p.contains(service))
        }
        Object::Decky { decky } => {
            let persona_changed = change.reasons.iter().any(|r| r.starts_with("persona "));
            change.action == Action::Replace
                && persona_changed
                && rotation.personas.contains_key(decky)
        }
        _ => false,
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
            changes: std::mem::take(&mut changes),
            ..Plan::default()
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

    #[test]
    fn a_persona_is_chosen_per_epoch_apart_from_the_services() {
        let seed = Seed::from_bytes(vec![3; 32]);
        let personas: Vec<String> = ["linux", "windows", "bsd"].map(String::from).to_vec();
        let worn: Vec<String> = (0..12)
            .map(|e| choose_persona(&seed, "web-01", e, &personas))
            .collect();
        assert!(worn.iter().all(|p| personas.contains(p)), "{worn:?}");
        assert!(worn.iter().any(|p| *p != worn[0]), "{worn:?}");
        assert_eq!(worn[5], choose_persona(&seed, "web-01", 5, &personas));
    }

    #[test]
    fn a_base_replaced_for_its_rotated_persona_names_the_rotation() {
        let mut rotation = Applied {
            every: Duration::from_secs(1800),
            epoch: 4,
            ..Default::default()
        };
        let worn = (vec!["linux".into(), "windows".into()], "windows".into());
        rotation.personas.insert("web-01".into(), worn);
        let base = |decky: &str, reason: &str| crate::plan::Change {
            object: Object::Decky {
                decky: decky.into(),
            },
            reasons: vec![reason.into()],
            ..change(Action::Replace, decky, "")
        };
        let mut plan = crate::plan::Plan {
            changes: vec![
                base("web-01", "persona linux -> windows"),
                base("web-01", "image a -> b"),
                base("db-01", "persona linux -> windows"),
            ],
            ..Default::default()
        };
        annotate(&rotation, &mut plan);
        let marked: Vec<bool> = plan
            .changes
            .iter()
            .map(|c| is_rotation(&c.reasons))
            .collect();
        assert_eq!(marked, [true, false, false]);
        assert!(rotation.is_on());
    }
}
