//! The executor: runs exactly the steps of a [`Plan`], never diffing again.
//!
//! Networks first; then each decky (and each singleton) as its own unit,
//! several at once: removals (services before their base), the base, its
//! services, then its files (one tar upload and one `rm` per container).
//! A failed step skips what depends on it and nothing else.

mod container;
mod images;
mod report;
mod tarball;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::desired::{DesiredState, Ensure};
use crate::engine::Engine;
use crate::interrupt::{Interrupt, NOT_STARTED};
use crate::labels;
use crate::live::LiveState;
use crate::plan::{in_targets, Action, Change, Detail, Object, Plan};
use crate::record::{self, FileRecord};

pub use container::new_container;
pub use report::{Outcome, Report};

/// Deckies worked on at once.
const UNITS_IN_FLIGHT: usize = 8;
/// Container starts at once: many parallel starts slow the engine badly.
const STARTS_IN_FLIGHT: usize = 2;

/// What apply reports as it goes.
pub enum Event<'a> {
    /// A step finished.
    Step(&'a Outcome),
    /// A line of an image build.
    Build { image: &'a str, line: &'a str },
}

impl Event<'_> {
    /// The event as apply and watch print it; `host` is named when the run
    /// spans several engines.
    pub fn line(&self, style: crate::render::style::Style, host: Option<&str>) -> String {
        match self {
            Event::Step(outcome) => outcome.line(style, host.is_some()),
            Event::Build { image, line } => match host {
                Some(h) => format!("{} image {image} on {h}: {line}", style.dim("*")),
                None => format!("{} image {image}: {line}", style.dim("*")),
            },
        }
    }
}

/// Called with each event, as it happens.
pub type Progress = Arc<dyn Fn(Event<'_>) + Send + Sync>;

/// What apply needs besides the plan: the record it updates.
pub struct RecordUpdate {
    pub previous: Option<FileRecord>,
    /// Declared files (container, path) of the deckies in scope: recorded as dropped.
    pub declared: BTreeSet<(String, String)>,
    /// Containers of the deckies in scope (`None`: all): their entries that
    /// are no longer declared leave the record.
    pub scope: Option<BTreeSet<String>>,
    /// DECNET's containers taken over by this apply (`--adopt`): name to id.
    pub adopt: BTreeMap<String, String>,
}

impl RecordUpdate {
    /// The record bookkeeping for an apply of `desired` over `live`, limited to `targets` (empty: all).
    pub fn new(desired: &DesiredState, live: &LiveState, targets: &[String]) -> RecordUpdate {
        let in_scope = |decky: &str| in_targets(targets, Some(decky));
        let declared = desired
            .files
            .iter()
            .filter(|f| in_scope(&f.decky) && matches!(f.ensure, Ensure::Present(_)))
            .map(|f| (f.container.clone(), f.path.clone()))
            .collect();
        let scope = (!targets.is_empty()).then(|| {
            let mut containers: BTreeSet<String> = desired
                .containers
                .iter()
                .filter(|c| c.decky.as_deref().is_some_and(in_scope))
                .map(|c| c.name.clone())
                .collect();
            containers.extend(
                live.containers
                    .values()
                    .filter(|c| c.decky.as_deref().is_some_and(in_scope))
                    .map(|c| c.name.clone()),
            );
            containers
        });
        RecordUpdate {
            previous: live.record.clone(),
            declared,
            scope,
            adopt: BTreeMap::new(),
        }
    }
}

/// Runs `plan` against `engine`. Once `interrupt` is raised, the steps in
/// flight finish (a replace is one step: its new container is still created)
/// and the others are reported as not started.
pub async fn apply(
    engine: &Engine,
    plan: &Plan,
    record: RecordUpdate,
    progress: Progress,
    interrupt: &Interrupt,
) -> Report {
    let mut report = Report::default();
    let done = |outcome: Outcome, report: &mut Report| {
        progress(Event::Step(&outcome));
        report.outcomes.push(outcome);
    };

    let unbuilt = Arc::new(images::build_missing(engine, plan, &progress, interrupt).await);
    report.errors.extend(unbuilt.values().cloned());

    for change in plan
        .changes
        .iter()
        .filter(|c| matches!(c.object, Object::Network { .. }))
    {
        let started = Instant::now();
        let result = match &change.detail {
            _ if interrupt.is_raised() => Err(NOT_STARTED.to_string()),
            Detail::Network(spec) => engine
                .create_network(
                    spec,
                    [(labels::FLEET.to_string(), plan.fleet.clone())].into(),
                )
                .await
                .map_err(|e| e.to_string()),
            _ => Err("a network change without a network spec".to_string()),
        };
        done(Outcome::new(change, result, started), &mut report);
    }
    let network_failed = report.failed() > 0;

    let mut units: BTreeMap<String, Vec<Change>> = BTreeMap::new();
    for change in plan
        .changes
        .iter()
        .filter(|c| !matches!(c.object, Object::Network { .. }))
    {
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
        let (engine, fleet, progress) = (engine.clone(), plan.fleet.clone(), progress.clone());
        let unbuilt = unbuilt.clone();
        let (units_limit, starts) = (units_limit.clone(), starts.clone());
        let interrupt = interrupt.clone();
        tasks.spawn(async move {
            let _permit = units_limit
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            Unit {
                engine: &engine,
                fleet: &fleet,
                starts: &starts,
                progress: &progress,
                interrupt: &interrupt,
                unbuilt: &unbuilt,
                outcomes: Vec::new(),
                failed: BTreeSet::new(),
            }
            .run(changes, network_failed)
            .await
        });
    }
    while let Some(joined) = tasks.join_next().await {
        report
            .outcomes
            .extend(joined.expect("a unit task does not panic"));
    }

    let next = next_record(&record, &report);
    let adopted = next_adopted(&record, &report);
    let previous = record.previous.as_ref();
    if previous.map(|r| (&r.files, &r.adopted)) != Some((&next, &adopted)) {
        if let Err(e) = record::write(engine, &plan.fleet, previous, &next, &adopted).await {
            report
                .errors
                .push(format!("the file record could not be written: {e}"));
        }
    }
    report
}

/// Adopted containers after this apply: those recorded, less those removed or
/// replaced (a replacement is deckhand's own), plus those adopted now.
fn next_adopted(update: &RecordUpdate, report: &Report) -> BTreeMap<String, String> {
    let mut adopted = update
        .previous
        .as_ref()
        .map(|r| r.adopted.clone())
        .unwrap_or_default();
    adopted.extend(update.adopt.clone());
    for o in &report.outcomes {
        if let (Detail::Container { name, .. }, Ok(())) = (&o.change.detail, &o.result) {
            if matches!(o.change.action, Action::Delete | Action::Replace) {
                adopted.remove(name);
            }
        }
    }
    adopted
}

/// The record after this apply: what was recorded, less what was deleted, plus
/// what is declared in scope.
fn next_record(update: &RecordUpdate, report: &Report) -> BTreeSet<(String, String)> {
    let mut deleted_files = BTreeSet::new();
    let mut failed_files = BTreeSet::new();
    let mut deleted_containers = BTreeSet::new();
    for o in &report.outcomes {
        match (&o.change.object, &o.change.detail, &o.result) {
            (
                Object::File {
                    container, path, ..
                },
                _,
                Err(_),
            ) => {
                failed_files.insert((container.clone(), path.clone()));
            }
            (
                Object::File {
                    container, path, ..
                },
                _,
                Ok(()),
            ) if o.change.action == Action::Delete => {
                deleted_files.insert((container.clone(), path.clone()));
            }
            (_, Detail::Container { name, .. }, Ok(())) if o.change.action == Action::Delete => {
                deleted_containers.insert(name.clone());
            }
            _ => {}
        }
    }
    let in_scope = |c: &str| update.scope.as_ref().is_none_or(|s| s.contains(c));
    let mut files = update
        .previous
        .as_ref()
        .map(|r| r.files.clone())
        .unwrap_or_default();
    files.retain(|entry| {
        let (container, _) = entry;
        let undeclared_in_scope = in_scope(container)
            && !update.declared.contains(entry)
            && !failed_files.contains(entry);
        !(deleted_files.contains(entry)
            || deleted_containers.contains(container)
            || undeclared_in_scope)
    });
    files.extend(update.declared.iter().cloned());
    files
}

/// One decky or singleton, worked through in order.
struct Unit<'a> {
    engine: &'a Engine,
    fleet: &'a str,
    starts: &'a Semaphore,
    progress: &'a Progress,
    interrupt: &'a Interrupt,
    /// Images that could not be built: the steps that need them fail, and a
    /// replace keeps its old container.
    unbuilt: &'a BTreeMap<String, String>,
    outcomes: Vec<Outcome>,
    /// Containers whose step failed: what depends on them is skipped.
    failed: BTreeSet<String>,
}

fn container_of(change: &Change) -> &str {
    change.container().unwrap_or_default()
}

impl Unit<'_> {
    fn record(&mut self, change: &Change, result: Result<(), String>, started: Instant) {
        if result.is_err() {
            self.failed.insert(container_of(change).to_string());
        }
        let outcome = Outcome::new(change, result, started);
        (self.progress)(Event::Step(&outcome));
        self.outcomes.push(outcome);
    }

    async fn run(mut self, changes: Vec<Change>, network_failed: bool) -> Vec<Outcome> {
        let is_base = |c: &Change| matches!(c.object, Object::Decky { .. });
        let (files, containers): (Vec<&Change>, Vec<&Change>) = changes
            .iter()
            .partition(|c| matches!(c.object, Object::File { .. }));

        // 1. Removals and the removal half of replacements: services, then the base.
        for base_last in [false, true] {
            for change in containers.iter().filter(|c| {
                matches!(c.action, Action::Delete | Action::Replace) && is_base(c) == base_last
            }) {
                let started = Instant::now();
                let result = if self.interrupt.is_raised() {
                    Err(NOT_STARTED.to_string())
                } else if let Some(why) = images::unbuilt(change, self.unbuilt) {
                    Err(why.clone())
                } else {
                    self.engine
                        .remove_container(container_of(change))
                        .await
                        .map_err(|e| e.to_string())
                };
                if change.action == Action::Delete || result.is_err() {
                    self.record(change, result, started);
                }
            }
        }
        // 2. The base, then 3. services and singletons.
        for bases in [true, false] {
            for change in containers.iter().filter(|c| {
                matches!(c.action, Action::Create | Action::Replace | Action::Start)
                    && is_base(c) == bases
            }) {
                let name = container_of(change).to_string();
                if self.failed.contains(&name) {
                    continue; // its removal failed and was reported
                }
                let started = Instant::now();
                // A replace's removal already ran: its creation is the same step.
                let result = if self.interrupt.is_raised() && change.action != Action::Replace {
                    Err(NOT_STARTED.to_string())
                } else if let Some(why) = images::unbuilt(change, self.unbuilt) {
                    Err(why.clone())
                } else if network_failed && !matches!(change.action, Action::Start) {
                    Err("skipped: a network could not be created".to_string())
                } else if let Some(base) = change
                    .object
                    .decky()
                    .filter(|b| !bases && self.failed.contains(*b))
                {
                    Err(format!("skipped: its base {base} failed"))
                } else {
                    self.bring_up(change).await
                };
                self.record(change, result, started);
            }
        }
        // 4. Files, one upload and one delete per container.
        let mut by_container: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
        for change in files {
            by_container
                .entry(container_of(change))
                .or_default()
                .push(change);
        }
        for (container, file_changes) in by_container {
            self.files(container, &file_changes).await;
        }
        self.outcomes
    }

    async fn bring_up(&self, change: &Change) -> Result<(), String> {
        let name = container_of(change);
        if change.action != Action::Start {
            let Detail::Container {
                spec: Some(spec), ..
            } = &change.detail
            else {
                return Err("a create without a container spec".to_string());
            };
            self.engine
                .create_container(&container::new_container(self.fleet, spec))
                .await
                .map_err(|e| e.to_string())?;
        }
        let _start = self
            .starts
            .acquire()
            .await
            .expect("the semaphore is never closed");
        self.engine
            .start_container(name)
            .await
            .map_err(|e| e.to_string())
    }

    async fn files(&mut self, container: &str, changes: &[&Change]) {
        let (writes, deletes): (Vec<&Change>, Vec<&Change>) =
            changes.iter().partition(|c| c.action != Action::Delete);
        let skipped = if self.failed.contains(container) {
            Some(format!("skipped: container {container} failed"))
        } else if self.interrupt.is_raised() {
            Some(NOT_STARTED.to_string())
        } else {
            None
        };
        if let Some(why) = skipped {
            for change in changes {
                self.record(change, Err(why.clone()), Instant::now());
            }
            return;
        }
        if !writes.is_empty() {
            let started = Instant::now();
            let files: Vec<(&str, &crate::desired::FileContent)> = writes
                .iter()
                .filter_map(|c| match (&c.object, &c.detail) {
                    (Object::File { path, .. }, Detail::File(f)) => {
                        f.write.as_ref().map(|w| (path.as_str(), w))
                    }
                    _ => None,
                })
                .collect();
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let result = match tarball::build(&files, now) {
                Ok(tar) => self
                    .engine
                    .upload(container, tar)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(format!("cannot build the archive: {e}")),
            };
            for change in writes {
                self.record(change, result.clone(), started);
            }
        }
        if !deletes.is_empty() {
            let started = Instant::now();
            let mut cmd = vec!["rm".to_string(), "-f".to_string(), "--".to_string()];
            cmd.extend(
                deletes
                    .iter()
                    .filter_map(|c| c.object.path().map(str::to_string)),
            );
            let result = match self.engine.exec(container, "0:0", cmd).await {
                Ok(out) if out.exit_code == Some(0) => Ok(()),
                Ok(out) if matches!(out.exit_code, Some(126) | Some(127)) || out.output.contains("executable file not found") => {
                    Err(format!("container {container} has no `rm`: deleting files needs rm in the target container ({})", out.output.trim()))
                }
                Ok(out) => Err(format!("rm exited with {:?}: {}", out.exit_code, out.output.trim())),
                Err(e) if e.to_string().contains("executable file not found") => {
                    Err(format!("container {container} has no `rm`: deleting files needs rm in the target container ({e})"))
                }
                Err(e) => Err(e.to_string()),
            };
            for change in deletes {
                self.record(change, result.clone(), started);
            }
        }
    }
}
