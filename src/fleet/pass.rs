//! The pass itself: connect, lock (when changing), observe, plan; then apply
//! and release. Each step returns values; nothing here prints.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::join_all;

use crate::apply::{self, RecordUpdate, Sink};
use crate::desired::DesiredState;
use crate::engine::{Engine, EngineError};
use crate::hosts::Hosts;
use crate::interrupt::Interrupt;
use crate::live::{LiveState, Origin};
use crate::lock::{FleetLock, Held};
use crate::observe::observe;
use crate::plan::{in_targets, plan, Action, Change, Object, Plan};

use super::failure::{Failure, HostFailure};
use super::report::FleetReport;
use super::site::{connect, lock, Site};

/// How to run a pass.
pub struct Options<'a> {
    /// `--docker-host`: the engine named `local`, unless `[hosts.local]` names one.
    pub docker_host: Option<&'a str>,
    /// `--target`: only these deckies (empty: all).
    pub targets: &'a [String],
    /// Lock every engine first, naming this holder; `None` reads only.
    pub lock_as: Option<&'a str>,
    /// `--force`: a decky's live session holds nothing back (SPEC §11).
    pub force: bool,
}

/// One engine observed and planned.
pub struct Planned {
    pub site: Site,
    pub live: LiveState,
    pub plan: Plan,
}

/// A fleet observed and planned on every engine it spans.
pub struct Pass {
    pub fleet: String,
    /// Whether the fleet spans several engines (views then name the host).
    pub several: bool,
    pub targets: Vec<String>,
    /// The engines that were planned, `local` first.
    pub planned: Vec<Planned>,
    /// The engines that could not be, and why.
    pub failures: Vec<HostFailure>,
    /// Locks left by processes gone from this host, taken over, by host name.
    pub taken_over: Vec<(String, Held)>,
    locks: Vec<(Engine, FleetLock)>,
}

impl Pass {
    /// Reaches, locks (with `lock_as`), observes and plans every engine at once.
    pub async fn open(desired: DesiredState, hosts: &Hosts, options: &Options<'_>) -> Pass {
        let fleet = desired.fleet.clone();
        let (sites, mut failures) = connect(hosts.split(desired), options.docker_host).await;
        let (mut locks, mut taken_over) = (Vec::new(), Vec::new());
        let sites = match options.lock_as {
            Some(holder) => {
                let (locked, failed) = lock(sites, holder).await;
                failures.extend(failed);
                let (sites, mut held): (Vec<Site>, Vec<FleetLock>) = locked.into_iter().unzip();
                for (site, lock) in sites.iter().zip(&mut held) {
                    let took = lock.took_over.take();
                    taken_over.extend(took.map(|h| (site.host.name.clone(), h)));
                }
                locks = sites.iter().map(|s| s.engine.clone()).zip(held).collect();
                sites
            }
            None => sites,
        };
        let observed = join_all(sites.into_iter().map(|s| observe_site(s, options))).await;
        let mut planned = Vec::new();
        for result in observed {
            match result {
                Ok(p) => planned.push(p),
                Err(f) => failures.push(f),
            }
        }
        Pass {
            fleet,
            several: hosts.several(),
            targets: options.targets.to_vec(),
            planned,
            failures,
            taken_over,
            locks,
        }
    }

    /// The one plan of every engine planned; it names the engines that were not.
    pub fn plan(&self) -> Plan {
        let plans = self.planned.iter().map(|p| p.plan.clone()).collect();
        self.merged(plans)
    }

    /// [`Pass::plan`] for a pass that will not apply: the engines' plans
    /// are moved into it instead of copied (a plan of 10,000 deckies is
    /// held once).
    pub fn take_plan(&mut self) -> Plan {
        let plans = self
            .planned
            .iter_mut()
            .map(|p| std::mem::take(&mut p.plan))
            .collect();
        self.merged(plans)
    }

    fn merged(&self, plans: Vec<Plan>) -> Plan {
        let mut plan = Plan::merge(&self.fleet, plans);
        plan.unplanned = self.failures.iter().map(|f| f.host.clone()).collect();
        plan
    }

    /// `destroy --networks`: every planned engine also removes the networks
    /// the file declares, after its containers.
    pub fn remove_declared_networks(&mut self) {
        for p in &mut self.planned {
            let removals =
                crate::plan::network_removals(&p.site.desired, &p.live, &p.site.host.name);
            p.plan.changes.extend(removals);
        }
    }

    /// Holds back every decky destroy when there are more than `max` of them
    /// across the fleet (a truncated save must not wipe the fleet from a
    /// watch): those deckies' removals leave the plans; the rest stays. Returns
    /// what was held back, as a plan to show.
    pub fn hold_back_destroys(&mut self, max: usize) -> Option<Plan> {
        let destroyed =
            |c: &Change| c.action == Action::Delete && matches!(c.object, Object::Decky { .. });
        let doomed: BTreeSet<(String, String)> = self
            .planned
            .iter()
            .flat_map(|p| p.plan.changes.iter().filter(|c| destroyed(c)))
            .filter_map(|c| Some((c.host.clone(), c.object.decky()?.to_string())))
            .collect();
        if doomed.len() <= max {
            return None;
        }
        let held = |c: &Change| {
            c.action == Action::Delete
                && c.object
                    .decky()
                    .is_some_and(|d| doomed.contains(&(c.host.clone(), d.to_string())))
        };
        let mut held_back = Plan::merge(&self.fleet, vec![]);
        for p in &mut self.planned {
            let (kept, gone): (Vec<Change>, Vec<Change>) =
                p.plan.changes.drain(..).partition(|c| !held(c));
            p.plan.changes = kept;
            held_back.changes.extend(gone);
        }
        held_back.hosts = self
            .planned
            .iter()
            .map(|p| p.site.host.name.clone())
            .collect();
        Some(held_back)
    }

    /// What each planned engine observed, by host name.
    pub fn lives(&self) -> Vec<(&str, &LiveState)> {
        let planned = self.planned.iter();
        planned
            .map(|p| (p.site.host.name.as_str(), &p.live))
            .collect()
    }

    /// With one engine, its failure is the whole answer: taken out to be returned.
    pub fn sole_failure(&mut self) -> Option<HostFailure> {
        if self.several {
            return None;
        }
        self.failures.pop()
    }

    /// DECNET's containers, not adopted, that the plans would change.
    pub fn decnet_touched(&self) -> Vec<&str> {
        self.planned
            .iter()
            .flat_map(Planned::decnet_touched)
            .collect()
    }

    /// DECNET's containers in scope, on every engine.
    pub fn decnet_in_scope(&self) -> usize {
        self.planned
            .iter()
            .map(|p| p.decnet(&self.targets).len())
            .sum()
    }

    /// Applies the plan of every engine that `which` picks, all at once; with
    /// `adopt`, DECNET's containers in scope are recorded as deckhand's.
    pub async fn apply(
        &self,
        adopt: bool,
        which: impl Fn(&Planned) -> bool,
        sink: Sink,
        interrupt: &Interrupt,
    ) -> FleetReport {
        let runs = self.planned.iter().filter(|p| which(p)).map(|p| {
            let mut record = RecordUpdate::new(&p.site.desired, &p.live, &self.targets);
            if adopt {
                record.adopt = p.decnet(&self.targets);
            }
            let sink = sink.clone();
            async move {
                let (evidence, dirs) = (&p.site.desired.evidence, p.site.desired.beside.artifacts);
                let report = apply::apply(
                    &p.site.engine,
                    &p.plan,
                    record,
                    evidence,
                    dirs,
                    sink,
                    interrupt,
                )
                .await;
                (p.site.host.name.clone(), report)
            }
        });
        FleetReport {
            hosts: join_all(runs).await,
            adopted: if adopt { self.decnet_in_scope() } else { 0 },
            interrupted: interrupt.is_raised(),
        }
    }

    /// Releases every lock the pass took; the last error, if any.
    pub async fn release(self) -> Result<(), EngineError> {
        let mut released = Ok(());
        for (engine, lock) in self.locks {
            if let Err(e) = lock.release(&engine).await {
                released = Err(e);
            }
        }
        released
    }
}

impl Planned {
    /// DECNET's containers, not adopted, that this plan would change.
    pub fn decnet_touched(&self) -> Vec<&str> {
        crate::adopt::touched(&self.plan, &self.live)
    }

    /// DECNET's containers of the deckies in scope: name to id.
    fn decnet(&self, targets: &[String]) -> BTreeMap<String, String> {
        let containers = self.live.containers.values();
        containers
            .filter(|c| c.origin == Origin::Decnet && in_targets(targets, c.decky.as_deref()))
            .map(|c| (c.name.clone(), c.id.clone()))
            .collect()
    }

    /// Ids of the containers this plan removes (deletes or replaces).
    pub fn removed_ids(&self) -> BTreeSet<String> {
        let removing =
            |c: &&crate::plan::Change| matches!(c.action, Action::Delete | Action::Replace);
        let changes = self.plan.changes.iter().filter(removing);
        changes
            .filter_map(|c| self.live.containers.get(c.container()?))
            .map(|c| c.id.clone())
            .collect()
    }
}

/// Observes and plans one site; its plan names its host.
async fn observe_site(site: Site, options: &Options<'_>) -> Result<Planned, HostFailure> {
    let targets = options.targets;
    let planned = async {
        let live = observe(&site.engine, &site.desired, targets).await?;
        let mut plan = plan(&site.desired, &live, targets, &site.host.name)?;
        crate::rotation::annotate(&site.desired.rotation, &mut plan);
        if !options.force {
            crate::engagement::hold(&site.engine, &site.desired, &mut plan).await;
        }
        Ok::<_, Failure>((live, plan))
    };
    match planned.await {
        Ok((live, plan)) => Ok(Planned { site, live, plan }),
        Err(failure) => Err(HostFailure {
            host: site.host.name.clone(),
            failure,
        }),
    }
}
