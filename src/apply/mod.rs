//! The executor: runs exactly the steps of a [`Plan`], never diffing again,
//! and reports each step to a [`Sink`] as plain data (views draw it).
//!
//! Networks first; then each decky (and each singleton) as its own unit,
//! several at once (see [`unit`]). A failed step skips what depends on it
//! and nothing else.

mod container;
mod evidence;
mod host_dirs;
mod images;
mod network_replace;
mod record_update;
mod removal;
mod remove_host;
mod remove_tree;
mod report;
mod tarball;
mod unit;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::desired::{EvidenceSettings, HostDirs};
use crate::engine::Engine;
use crate::interrupt::Interrupt;
use crate::labels;
use crate::plan::{Action, Change, Detail, Object, Plan};
use crate::record;

use evidence::Keeper;

pub use container::new_container;
pub use evidence::Kept;
pub use record_update::RecordUpdate;
pub use report::{Event, Outcome, Report, Sink, Skip, Status, StepError};

/// Deckies worked on at once.
const UNITS_IN_FLIGHT: usize = 8;
/// Container starts at once: many parallel starts slow the engine badly.
const STARTS_IN_FLIGHT: usize = 2;

/// Runs `plan` (one engine's) against `engine`. Once `interrupt` is raised,
/// the steps in flight finish (a replace is one step: its new container is
/// still created) and the others are reported as not started.
pub async fn apply(
    engine: &Engine,
    plan: &Plan,
    record: RecordUpdate,
    evidence: &EvidenceSettings,
    host_dirs: HostDirs,
    sink: Sink,
    interrupt: &Interrupt,
) -> Report {
    let host = plan.hosts.first().cloned().unwrap_or_default();
    let keeper = Arc::new(Keeper {
        engine: engine.clone(),
        settings: evidence.clone(),
        host: host.clone(),
        written: written_files(&record),
    });
    let unmade = images::prepare(engine, plan, &host, &sink, interrupt).await;
    // A failed pull is said by its progress line and by each step needing
    // it (failed, with why): not counted again as an error of its own.
    let builds = unmade.values().filter(|u| u.built);
    let mut report = Report {
        errors: builds.map(|u| u.why.clone()).collect(),
        ..Report::default()
    };
    let unbuilt: BTreeMap<String, String> = unmade
        .into_iter()
        .map(|(image, u)| (image, u.why))
        .collect();
    report.outcomes = networks(engine, plan, Action::Create, &sink, interrupt).await;
    let network_failed = report.outcomes.iter().any(|o| !o.status.is_done());
    let shared = Shared {
        unbuilt: Arc::new(unbuilt),
        keeper: keeper.clone(),
        dropped: Arc::new(dropped_files(&record)),
        network_failed,
        host_dirs,
    };
    report
        .outcomes
        .extend(units(engine, plan, shared, &sink, interrupt).await);
    report.errors.extend(drift(&keeper, plan, &sink).await);
    // Networks go last, once no container of the fleet is on them.
    report
        .outcomes
        .extend(networks(engine, plan, Action::Delete, &sink, interrupt).await);

    let next = record.next(&report);
    let previous = record.previous.as_ref();
    let unchanged = previous.is_some_and(|p| {
        (&p.files, &p.adopted, &p.written) == (&next.files, &next.adopted, &next.written)
    });
    if !unchanged {
        if let Err(e) = record::write(engine, &plan.fleet, previous, &next).await {
            report
                .errors
                .push(format!("the file record could not be written: {e}"));
        }
    }
    report
}

/// Creates (or removes) the plan's networks, one after the other.
async fn networks(
    engine: &Engine,
    plan: &Plan,
    action: Action,
    sink: &Sink,
    interrupt: &Interrupt,
) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for change in plan
        .changes
        .iter()
        .filter(|c| is_network(c) && (c.action == action || runs_with(c.action, action)))
    {
        // A step skipped was never started: it is not announced as started.
        if !interrupt.is_raised() {
            sink(&Event::Started(change.clone()));
        }
        let started = Instant::now();
        let engine_error = |e: crate::engine::EngineError| StepError::Engine(e.to_string());
        let status = match &change.detail {
            _ if interrupt.is_raised() => Status::Skipped(Skip::Interrupted),
            Detail::Network(spec) if action == Action::Delete => engine
                .remove_network(&spec.name)
                .await
                .map_err(engine_error)
                .into(),
            Detail::Network(spec) => {
                let labels = [(labels::FLEET.to_string(), plan.fleet.clone())].into();
                let created = engine.create_network(spec, labels).await;
                created.map_err(engine_error).into()
            }
            Detail::NetworkReplace { spec, reconnect } => {
                let labels = [(labels::FLEET.to_string(), plan.fleet.clone())].into();
                network_replace::replace(engine, spec, reconnect, labels)
                    .await
                    .into()
            }
            _ => Status::Failed(StepError::Malformed(
                "a network change without a network spec",
            )),
        };
        let outcome = Outcome::new(change, status, started);
        sink(&Event::Ended(outcome.clone()));
        outcomes.push(outcome);
    }
    outcomes
}

/// Replacing a network runs with the creations, before any container step.
fn runs_with(step: Action, pass: Action) -> bool {
    step == Action::Replace && pass == Action::Create
}

fn is_network(change: &Change) -> bool {
    matches!(change.object, Object::Network { .. })
}

/// What every unit of one apply shares.
#[derive(Clone)]
struct Shared {
    /// Images that could not be built, with why.
    unbuilt: Arc<BTreeMap<String, String>>,
    keeper: Arc<Keeper>,
    /// Files deckhand dropped, per container.
    dropped: Arc<BTreeMap<String, BTreeSet<String>>>,
    network_failed: bool,
    host_dirs: HostDirs,
}

/// The files the record says deckhand dropped, per container, and the
/// declared seeds: neither is a foreign change of a container's layer.
fn dropped_files(record: &RecordUpdate) -> BTreeMap<String, BTreeSet<String>> {
    let mut dropped: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let recorded = record.previous.iter().flat_map(|r| r.files.iter());
    for (container, path) in recorded.chain(&record.seeds) {
        dropped
            .entry(container.clone())
            .or_default()
            .insert(path.clone());
    }
    dropped
}

/// The sha256 deckhand last wrote to each (container, path), per the record.
fn written_files(record: &RecordUpdate) -> BTreeMap<(String, String), String> {
    let written = record.previous.iter().flat_map(|r| r.written.iter());
    written
        .map(|(k, w)| (k.clone(), w.sha256.clone()))
        .collect()
}

/// Files someone else changed, left as found: reported, and evidence kept
/// once per content. Returns what could not be kept.
async fn drift(keeper: &Keeper, plan: &Plan, sink: &Sink) -> Vec<String> {
    let mut errors = Vec::new();
    for d in &plan.drift {
        if let Some(of) = &d.evidence {
            match keeper.file(&d.container, &d.decky, of, true).await {
                Ok(Some(kept)) => sink(&Event::Evidence {
                    host: keeper.host.clone(),
                    container: d.container.clone(),
                    kept,
                }),
                Ok(None) => {}
                Err(why) => errors.push(format!("drift of {}:{}: {why}", d.container, d.path)),
            }
        }
        sink(&Event::Drift(d.clone()));
    }
    errors
}

/// Every decky and singleton of the plan as its own unit, several at once.
async fn units(
    engine: &Engine,
    plan: &Plan,
    shared: Shared,
    sink: &Sink,
    interrupt: &Interrupt,
) -> Vec<Outcome> {
    let mut units: BTreeMap<String, Vec<Change>> = BTreeMap::new();
    for change in plan.changes.iter().filter(|c| !is_network(c)) {
        let key = match &change.object {
            Object::Singleton { service } => format!("singleton:{service}"),
            other => format!("decky:{}", other.decky().unwrap_or_default()),
        };
        units.entry(key).or_default().push(change.clone());
    }
    let units_limit = Arc::new(Semaphore::new(UNITS_IN_FLIGHT));
    let starts = Arc::new(Semaphore::new(STARTS_IN_FLIGHT));
    let mut tasks = JoinSet::new();
    for (_, changes) in units {
        let (engine, fleet, sink) = (engine.clone(), plan.fleet.clone(), sink.clone());
        let (shared, units_limit, starts) = (shared.clone(), units_limit.clone(), starts.clone());
        let interrupt = interrupt.clone();
        tasks.spawn(async move {
            let _permit = units_limit.acquire_owned().await.expect("never closed");
            let unit = unit::Unit {
                engine: &engine,
                fleet: &fleet,
                starts: &starts,
                sink: &sink,
                interrupt: &interrupt,
                unbuilt: &shared.unbuilt,
                network_failed: shared.network_failed,
                outcomes: Vec::new(),
                failed: Default::default(),
                keeper: &shared.keeper,
                dropped: &shared.dropped,
                host_dirs: shared.host_dirs,
            };
            unit.run(changes).await
        });
    }
    let mut outcomes = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        outcomes.extend(joined.expect("a unit task does not panic"));
    }
    outcomes
}
