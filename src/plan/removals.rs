//! What goes away: live containers no longer desired (services before their
//! base), and the declared networks `destroy --networks` removes.

use crate::desired::{DesiredState, Role};
use crate::live::{LiveContainer, LiveState};

use super::planner::Planner;
use super::{Action, Change, Detail, Object};

/// `destroy --networks`: removes every network the file declares that is
/// live. Apply runs these after every container step.
pub fn network_removals(desired: &DesiredState, live: &LiveState, host: &str) -> Vec<Change> {
    let declared = desired.networks.values();
    declared
        .filter(|n| live.networks.contains(&n.name))
        .map(|n| Change {
            host: host.to_string(),
            action: Action::Delete,
            object: Object::Network {
                name: n.name.clone(),
            },
            reasons: vec!["deckhand destroy --networks".to_string()],
            detail: Detail::Network(n.clone()),
        })
        .collect()
}

impl Planner<'_> {
    /// Live containers no longer desired: services before their base.
    pub(super) fn gone(&self, in_scope: &dyn Fn(Option<&str>) -> bool) -> Vec<Change> {
        let mut gone: Vec<&LiveContainer> = self
            .live
            .containers
            .values()
            .filter(|c| self.desired.container(&c.name).is_none() && in_scope(c.decky.as_deref()))
            .collect();
        gone.sort_by_key(|c| (c.decky.clone(), c.role == Some(Role::Base), c.name.clone()));
        let why = |c: &LiveContainer| match &c.decky {
            Some(d) if self.desired.destroying.contains(d) => {
                format!("destroy takes decky {d} down")
            }
            Some(d) if !self.desired.deckies.contains(d) => {
                format!("decky {d} is no longer in the file")
            }
            None if !self.desired.destroying.is_empty() => {
                "destroy takes the fleet down".to_string()
            }
            _ => "no longer in the file".to_string(),
        };
        gone.into_iter()
            .map(|c| Change {
                host: self.host.to_string(),
                action: Action::Delete,
                object: object_of_live(c),
                reasons: vec![why(c)],
                detail: Detail::Container {
                    name: c.name.clone(),
                    spec: None,
                },
            })
            .collect()
    }
}

fn object_of_live(c: &LiveContainer) -> Object {
    let decky = c.decky.clone().unwrap_or_default();
    let service = c.service.clone().unwrap_or_else(|| c.name.clone());
    match c.role {
        Some(Role::Base) => Object::Decky { decky },
        Some(Role::Singleton) => Object::Singleton { service },
        _ if c.decky.is_none() => Object::Singleton { service },
        _ => Object::Service { decky, service },
    }
}
