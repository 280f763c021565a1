//! One reconcile pass of watch: load, then on every engine of the fleet at
//! once: lock, observe, plan, apply, unlock.
//!
//! Everything a pass meets is reported on its log lines and turned into what
//! the loop needs next; nothing here ends the watch. An engine that cannot be
//! reached or locked is reported and retried; the others are reconciled.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::config::Loaded;
use crate::engine::TlsFiles;
use crate::fleet::{Failure, HostFailure, Options, Pass, Planned};
use crate::interrupt::Interrupt;
use crate::plan::Plan;
use crate::render::view::Look;
use crate::render::{events_json, safe, steps};

use super::say::Say;
use super::Settings;

/// What the loop learns from a pass.
#[derive(Debug, Default)]
pub struct PassEnd {
    /// The files of a valid config (to watch), or `None` when it did not load.
    pub inputs: Option<Vec<PathBuf>>,
    /// The fleet of a valid config and its engines (to follow their container events).
    pub sources: Option<Sources>,
    /// Ids of the containers this pass removed (deleted or replaced): their
    /// `die` and `destroy` events are deckhand's own.
    pub removed: BTreeSet<String>,
    /// Some engine could not be reconciled (unreachable, fleet locked): try again soon.
    pub retry: bool,
    /// The bait files to watch from the host until the next pass.
    pub baits: Vec<super::baits::Bait>,
    /// Files this pass wrote or deleted, (container, path), with the (host,
    /// decky) they are on: their inotify events during the pass are its own.
    pub wrote: BTreeMap<(String, String), (String, String)>,
    /// Baits whose restore this pass left for later (backoff).
    pub held: Vec<(String, String)>,
    /// Deckies whose changes a live session held, with their base: looked
    /// at every second until it ends (SPEC §11).
    pub engaged: BTreeMap<String, crate::engine::Running>,
}

/// Whose container events to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    pub fleet: String,
    pub engines: Vec<Endpoint>,
    /// Whether the fleet spans several engines (log lines then name the host).
    pub several: bool,
}

/// How to reach one engine of the fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub url: Option<String>,
    pub tls: Option<TlsFiles>,
}

/// What a pass covers.
pub struct Scope<'a> {
    /// Only these deckies (empty: the whole fleet).
    pub targets: &'a [String],
    /// Baits whose restore waits (backoff).
    pub backed_off: &'a BTreeSet<(String, String)>,
    /// The managed containers the last pass left.
    pub known: &'a mut super::drift::Known,
}

/// One pass over `loaded`, within `scope`.
pub async fn run(
    settings: &Settings,
    loaded: &Loaded,
    scope: Scope<'_>,
    say: Say,
    interrupt: &Interrupt,
) -> PassEnd {
    if let Some(problem) = super::state_file::keep(loaded) {
        say.alarm(&loaded.desired.fleet, None, &problem);
    }
    let mut end = PassEnd {
        inputs: Some(loaded.inputs.clone()),
        sources: Some(sources(loaded, settings)),
        ..PassEnd::default()
    };
    let options = Options {
        docker_host: settings.docker_host.as_deref(),
        targets: scope.targets,
        lock_as: (!settings.plan_only).then_some(settings.command.as_str()),
        force: false,
    };
    let mut pass = Pass::open(loaded.desired.clone(), &loaded.hosts, &options).await;
    let say = Say {
        look: say.look.spanning(pass.several),
        ..say
    };
    end.retry = !pass.failures.is_empty();
    opened(&pass, say);
    let held = pass.hold_back_destroys(settings.max_destroy);
    if let Some(held) = &held {
        hold_back(&pass.fleet, held, settings.max_destroy, say);
    }
    end.held = hold_back_restores(&mut pass, scope.backed_off);
    super::drift::tell(&pass.fleet, &scope.known.observe(&pass.planned), say);
    let plan = pass.plan();
    end.engaged = planned(&plan, say);
    if settings.plan_only {
        show_plan(&plan, say);
    } else {
        (end.removed, end.wrote) = reconcile(&pass, held.is_some(), say, interrupt).await;
    }
    end.baits = baits(&pass).await;
    let fleet = pass.fleet.clone();
    if let Err(e) = pass.release().await {
        say.alarm(
            &fleet,
            None,
            &format!("could not release the fleet lock: {e}"),
        );
    }
    end
}

/// Says which engines could not be reconciled, and which locks were taken over.
fn opened(pass: &Pass, say: Say) {
    for f in &pass.failures {
        let line = failure_line(f, say.look);
        say.problem(&pass.fleet, Some(&f.host), &line, &f.failure.to_string());
    }
    for (host, held) in &pass.taken_over {
        say.warning(&steps::taken_over(host, held, pass.several));
    }
}

/// Draws the plan made (its `plan` event and notices; the log names the
/// deckies a live session holds); returns those deckies with their base.
fn planned(plan: &Plan, say: Say) -> BTreeMap<String, crate::engine::Running> {
    if say.json {
        say.view(&plan.fleet).plan(plan);
    }
    for h in &plan.held {
        let sessions = crate::engagement::live_session_from(&h.sessions);
        say.line(&crate::render::safe::escape(&format!(
            "decky {} held: {sessions}; its replaces, restarts and restores wait until it ends",
            h.decky
        )));
    }
    plan.held
        .iter()
        .map(|h| (h.decky.clone(), h.base.clone()))
        .collect()
}

/// Leaves out of the plans every file step on a bait of `held`; returns
/// those it left out.
fn hold_back_restores(pass: &mut Pass, held: &BTreeSet<(String, String)>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in &mut pass.planned {
        p.plan.changes.retain(|c| match &c.object {
            crate::plan::Object::File {
                container, path, ..
            } if held.contains(&(container.clone(), path.clone())) => {
                out.push((container.clone(), path.clone()));
                false
            }
            _ => true,
        });
    }
    out
}

/// Every bait file of a running container on an engine read from the host,
/// as it is after the pass (a replace gave it a new id).
async fn baits(pass: &Pass) -> Vec<super::baits::Bait> {
    let mut out = Vec::new();
    for p in &pass.planned {
        let engine = &p.site.engine;
        if crate::observe::host::unavailable(engine).is_some() {
            continue;
        }
        let mut by_container: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
        for f in &p.site.desired.files {
            by_container
                .entry(&f.container)
                .or_default()
                .push((&f.decky, &f.path));
        }
        for (container, paths) in by_container {
            let Ok(Some((id, pid))) = engine.running(container).await else {
                continue;
            };
            out.extend(paths.into_iter().map(|(decky, path)| super::baits::Bait {
                decky: decky.to_string(),
                container: container.to_string(),
                id: id.clone(),
                pid,
                path: path.to_string(),
            }));
        }
    }
    out
}

/// Whose container events to follow: the fleet's engines.
fn sources(loaded: &Loaded, settings: &Settings) -> Sources {
    let engines = loaded.hosts.engines().into_iter().map(|h| Endpoint {
        url: h.url(settings.docker_host.as_deref()).map(str::to_string),
        host: h.name.clone(),
        tls: h.tls.clone(),
    });
    Sources {
        fleet: loaded.desired.fleet.clone(),
        engines: engines.collect(),
        several: loaded.hosts.several(),
    }
}

/// A locked fleet is expected now and then (an apply from a terminal): it is
/// retried without alarm. Anything else is flagged.
fn failure_line(f: &HostFailure, look: Look) -> String {
    match &f.failure {
        Failure::Locked(held) => format!(
            "{}{}; trying again shortly",
            steps::on_host(&f.host, look.several),
            held.message(),
        ),
        _ => format!(
            "{} {}",
            look.style.red("!"),
            steps::failure(f, look.several)
        ),
    }
}

/// Says which destroys were held back, and why.
fn hold_back(fleet: &str, held: &Plan, max: usize, say: Say) {
    let deckies: BTreeSet<&str> = held
        .changes
        .iter()
        .filter_map(|c| c.object.decky())
        .collect();
    let n = deckies.len();
    let names = deckies.into_iter().collect::<Vec<_>>().join(", ");
    let message = format!("this pass would destroy {n} deckies ({names}), more than --max-destroy {max}: none of them is destroyed; the rest of the plan is applied\n  help: if the file is right, run `deckhand apply` to destroy them; else restore the file");
    say.alarm(fleet, None, &message);
    if !say.json {
        say.view(fleet).plan(held);
    }
}

/// `--plan-only`: what the pass would apply (JSON has had its `plan` event).
fn show_plan(plan: &Plan, say: Say) {
    if say.json {
        return;
    }
    if plan.is_empty() {
        say.line("no changes");
        return;
    }
    let n = steps::changes(plan.changes.len());
    say.line(&format!("{n} to apply (--plan-only: not applied):"));
    say.view(&plan.fleet).plan(plan);
}

/// Applies every engine's plan that changes no container of DECNET's; returns
/// the ids of the containers it removed (their events are deckhand's own)
/// and the files it wrote or deleted. `held`: destroys were held back, so
/// nothing is ever "no changes".
async fn reconcile(
    pass: &Pass,
    held: bool,
    say: Say,
    interrupt: &Interrupt,
) -> (
    BTreeSet<String>,
    BTreeMap<(String, String), (String, String)>,
) {
    let changes: usize = pass.planned.iter().map(|p| p.plan.changes.len()).sum();
    match (changes, held) {
        (0, false) => say.line("no changes"),
        (0, true) => say.line("nothing else to apply"),
        (n, _) => say.line(&format!("applying {}", steps::changes(n))),
    }
    for p in pass
        .planned
        .iter()
        .filter(|p| !p.decnet_touched().is_empty())
    {
        let names = p.decnet_touched().join(", ");
        let message = format!("the plan changes containers that DECNET made and deckhand does not manage yet: {names}; nothing changed there, still watching\n  help: run `deckhand apply --adopt` once to take them under management");
        say.alarm(&pass.fleet, Some(&p.site.host.name), &message);
    }
    let runnable = |p: &Planned| p.plan.has_work() && p.decnet_touched().is_empty();
    let removed = pass
        .planned
        .iter()
        .filter(|p| runnable(p))
        .flat_map(Planned::removed_ids)
        .collect();
    let view = say.view(&pass.fleet);
    let report = pass.apply(false, runnable, view.sink(), interrupt).await;
    for (host, r) in &report.hosts {
        for e in &r.errors {
            let line = format!(
                "{} {}{}",
                say.look.style.red("!"),
                steps::on_host(host, say.look.several),
                safe::escape_lines(e)
            );
            say.problem(&pass.fleet, Some(host), &line, e);
        }
        say.line(&steps::watch_summary(host, r, say.look));
    }
    say.event(events_json::summary(&pass.fleet, &report, &pass.failures));
    (removed, files_done(&report))
}

/// The (container, path) of every file step the run got done, with its
/// (host, decky).
fn files_done(report: &crate::fleet::FleetReport) -> BTreeMap<(String, String), (String, String)> {
    let outcomes = report.hosts.iter().flat_map(|(_, r)| &r.outcomes);
    outcomes
        .filter(|o| o.status.is_done())
        .filter_map(|o| match &o.change.object {
            crate::plan::Object::File {
                container,
                path,
                decky,
                ..
            } => Some((
                (container.clone(), path.clone()),
                (o.change.host.clone(), decky.clone()),
            )),
            _ => None,
        })
        .collect()
}
