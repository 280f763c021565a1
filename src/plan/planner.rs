//! The planner: a pure function from (desired, live) to a [`Plan`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::desired::{ContainerSpec, DesiredState, Role};
use crate::live::LiveState;

use super::error::check_targets;
use super::notes::{degraded_note, mark_decnet, notes};
use super::{spec_diff, Action, Change, Detail, Object, Plan, PlanError};

/// Plans `live` into `desired` on the engine `host`. With `targets`, only
/// those deckies (and the networks they use) are planned; singletons are left
/// alone.
pub fn plan(
    desired: &DesiredState,
    live: &LiveState,
    targets: &[String],
    host: &str,
) -> Result<Plan, PlanError> {
    check_targets(desired, live, targets)?;
    let in_scope = |decky: Option<&str>| super::in_targets(targets, decky);
    let mut planner = Planner {
        desired,
        live,
        host,
        refusals: Vec::new(),
        fresh: BTreeMap::new(),
        drift: Vec::new(),
        over_budget: live.over_budget.clone(),
        diff_time: BTreeMap::new(),
    };
    let (mut changes, degraded) = planner.steps(&in_scope);
    if !planner.refusals.is_empty() {
        return Err(PlanError::Refused(planner.refusals));
    }
    let problems = super::checks::run(desired, live, &changes);
    mark_decnet(&mut changes, live, &desired.fleet);
    let mut notes = notes(&changes, live, &in_scope);
    notes.extend(super::checks::pull_notes(desired, live, &changes));
    notes.extend(degraded.iter().map(degraded_note));
    let plan = Plan {
        fleet: desired.fleet.clone(),
        hosts: vec![host.to_string()],
        unplanned: vec![],
        changes,
        notes,
        drift: planner.drift,
        degraded,
        held: vec![],
    };
    match problems.is_empty() {
        true => Ok(plan),
        false => Err(PlanError::Blocked {
            problems,
            plan: Box::new(plan),
        }),
    }
}

pub(super) struct Planner<'a> {
    pub desired: &'a DesiredState,
    pub live: &'a LiveState,
    /// The engine planned for: every change names it.
    pub host: &'a str,
    pub refusals: Vec<String>,
    /// Containers this plan creates or replaces, with the word for it.
    pub fresh: BTreeMap<String, &'static str>,
    /// Files someone else changed, left as found (`on_drift = "report"`).
    pub drift: Vec<super::Drift>,
    /// Deckies over their budget: their reads (from observing) or diffs.
    pub over_budget: Vec<crate::live::OverBudget>,
    /// Time spent diffing each decky's files so far.
    pub diff_time: BTreeMap<String, std::time::Duration>,
}

impl Planner<'_> {
    /// Every step in scope in order: networks, then deckies in name order
    /// (containers, their LANs, removals, files), then fleet-wide
    /// singletons. A decky over its budget is left out and returned.
    fn steps(
        &mut self,
        in_scope: &dyn Fn(Option<&str>) -> bool,
    ) -> (Vec<Change>, Vec<super::Degraded>) {
        let mut changes = self.networks(in_scope);
        let mut by_decky: BTreeMap<Option<String>, Vec<Change>> = BTreeMap::new();
        let desired = self.desired;
        for spec in desired
            .containers
            .iter()
            .filter(|c| in_scope(c.decky.as_deref()))
        {
            let change = self.container(spec);
            let joins_live = change.as_ref().is_none_or(|c| c.action == Action::Start);
            let lans = joins_live.then(|| self.lans(spec)).flatten();
            for change in change.into_iter().chain(lans) {
                by_decky.entry(spec.decky.clone()).or_default().push(change);
            }
        }
        let gone = self.gone(in_scope);
        for change in gone.into_iter().chain(self.files(in_scope)) {
            let decky = change.object.decky().map(str::to_string);
            by_decky.entry(decky).or_default().push(change);
        }
        // A decky over its budget is not planned: its steps are skipped.
        let degraded = self.degraded(in_scope);
        for d in &degraded {
            by_decky.remove(&Some(d.decky.clone()));
        }
        self.drift
            .retain(|d| !degraded.iter().any(|g| g.decky == d.decky));
        let singletons = by_decky.remove(&None).unwrap_or_default();
        // Sized once: a fleet of 10,000 deckies has 80,000 steps.
        let total = by_decky.values().map(Vec::len).sum::<usize>() + singletons.len();
        changes.reserve_exact(total);
        changes.extend(by_decky.into_values().flatten());
        changes.extend(singletons);
        (changes, degraded)
    }

    /// The deckies in scope over their budget, in name order, as the plan names them.
    fn degraded(&self, in_scope: &dyn Fn(Option<&str>) -> bool) -> Vec<super::Degraded> {
        let mut out: Vec<super::Degraded> = Vec::new();
        for o in &self.over_budget {
            if in_scope(Some(&o.decky)) && !out.iter().any(|d| d.decky == o.decky) {
                out.push(super::Degraded {
                    host: self.host.to_string(),
                    decky: o.decky.clone(),
                    what: o.what.clone(),
                    limit: crate::budget::words(o.limit),
                });
            }
        }
        out.sort_by(|a, b| a.decky.cmp(&b.decky));
        out
    }

    fn networks(&self, in_scope: &dyn Fn(Option<&str>) -> bool) -> Vec<Change> {
        let used: BTreeSet<String> = self
            .desired
            .containers
            .iter()
            .filter(|c| in_scope(c.decky.as_deref()))
            .flat_map(|c| c.joins().into_keys())
            .collect();
        super::networks::changes(self.desired, self.live, self.host, used)
    }

    fn container(&mut self, spec: &Arc<ContainerSpec>) -> Option<Change> {
        for net in spec.joins().keys() {
            if !self.live.networks.contains(net) && !self.desired.networks.contains_key(net) {
                self.refusals.push(format!("{}: network '{net}' is neither declared in [networks] nor present on the engine\n  help: declare [networks.{net}] or create it first", spec.name));
            }
        }
        let (action, mut reasons) = self.container_action(spec)?;
        if action == Action::Replace {
            self.refuse_loss(spec);
        }
        if matches!(action, Action::Create | Action::Replace) {
            let word = if action == Action::Create {
                "created"
            } else {
                "replaced"
            };
            self.fresh.insert(spec.name.clone(), word);
        }
        if spec.role == Role::Base && action == Action::Replace {
            let taken = self.services_on(&spec.name);
            if !taken.is_empty() {
                reasons.push(format!("replaces its services too: {}", taken.join(", ")));
            }
        }
        Some(Change {
            host: self.host.to_string(),
            action,
            object: object_of_spec(spec),
            reasons,
            detail: Detail::Container {
                name: spec.name.clone(),
                spec: Some(Arc::clone(spec)),
            },
        })
    }

    /// A replace of a container made with settings the file cannot express
    /// would lose them: refused, naming them (SPEC §7).
    fn refuse_loss(&mut self, spec: &ContainerSpec) {
        let Some(live) = self.live.containers.get(&spec.name) else {
            return;
        };
        if !live.unexpressed.is_empty() {
            self.refusals.push(format!(
                "{}: a replace would lose {}, which deckhand.toml cannot express\n  help: remove the container by hand if the disguise can do without that, or leave the decky out of the file (or plan the others with --target)",
                spec.name,
                live.unexpressed.join(", ")
            ));
        }
    }

    /// The LANs a live base with `networks` joins or leaves to match the
    /// file: an update made live. `None` when they match.
    fn lans(&self, spec: &ContainerSpec) -> Option<Change> {
        let live = self.live.containers.get(&spec.name)?;
        if spec.lans.is_empty() || spec.role != Role::Base {
            return None;
        }
        let lan = super::lans::compare(&spec.lans, &live.lans)?;
        Some(Change {
            host: self.host.to_string(),
            action: Action::Update,
            object: object_of_spec(spec),
            reasons: lan.reasons,
            detail: Detail::Lans(super::LanChange {
                container: spec.name.clone(),
                attach: lan.attach,
                detach: lan.detach,
            }),
        })
    }

    /// What a desired container needs, and why; `None` when it is as it should be.
    fn container_action(&self, spec: &ContainerSpec) -> Option<(Action, Vec<String>)> {
        let base_fresh = spec.base_name().and_then(|b| self.fresh.get(b).copied());
        match self.live.containers.get(&spec.name) {
            None => Some((Action::Create, vec!["not live".to_string()])),
            Some(live) if live.digest.as_deref() != Some(spec.digest().as_str()) => Some((
                Action::Replace,
                spec_diff::reasons(live.spec.as_ref(), spec),
            )),
            Some(_) if base_fresh.is_some() => {
                let base = spec.base_name().unwrap_or_default();
                let word = base_fresh.unwrap_or_default();
                Some((Action::Replace, vec![format!("its base {base} is {word}")]))
            }
            Some(live) if !live.is_running() => {
                let state = if live.state.is_empty() {
                    "not running"
                } else {
                    &live.state
                };
                Some((Action::Start, vec![format!("{state} live")]))
            }
            Some(_) => None,
        }
    }

    /// The live services of the decky whose base is `base`.
    fn services_on(&self, base: &str) -> Vec<&str> {
        let desired = self.desired.containers.iter();
        desired
            .filter(|c| c.base_name() == Some(base) && self.live.containers.contains_key(&c.name))
            .map(|c| c.name.as_str())
            .collect()
    }
}

fn object_of_spec(spec: &ContainerSpec) -> Object {
    let decky = spec.decky.clone().unwrap_or_default();
    let service = spec.service.clone().unwrap_or_default();
    match spec.role {
        Role::Base => Object::Decky { decky },
        Role::Service => Object::Service { decky, service },
        Role::Singleton => Object::Singleton { service },
    }
}

#[cfg(test)]
#[path = "planner_tests.rs"]
mod tests;
