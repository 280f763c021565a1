//! One decky (or singleton) worked through in order: removals (services
//! before their base), the base, its services, then its files (one tar upload
//! and the removals of each container, from the host where deckhand can).
//! A failed step skips what depends on it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use tokio::sync::Semaphore;

use crate::desired::HostDirs;
use crate::engine::Engine;
use crate::interrupt::Interrupt;
use crate::plan::{Action, Change, Detail, FileChange, LanChange, Object};

use super::evidence::Keeper;
use super::removal::Remover;
use super::report::{Event, Outcome, Sink, Skip, Status, StepError};
use super::{container, images, tarball};

pub struct Unit<'a> {
    pub engine: &'a Engine,
    pub fleet: &'a str,
    pub starts: &'a Semaphore,
    pub sink: &'a Sink,
    pub interrupt: &'a Interrupt,
    /// Images that could not be built: the steps that need them fail, and a
    /// replace keeps its old container.
    pub unbuilt: &'a BTreeMap<String, String>,
    /// A network of the plan could not be created: creations are skipped.
    pub network_failed: bool,
    pub outcomes: Vec<Outcome>,
    /// Containers whose step did not get done: what depends on them is skipped.
    pub failed: BTreeSet<String>,
    /// Keeps evidence before anything someone else made is destroyed.
    pub keeper: &'a Keeper,
    /// Files deckhand dropped, per container (from the record): not evidence.
    pub dropped: &'a BTreeMap<String, BTreeSet<String>>,
    /// How missing bind-mount directories are made (`[fleet] artifacts`).
    pub host_dirs: HostDirs,
}

fn container_of(change: &Change) -> &str {
    change.container().unwrap_or_default()
}

fn is_base(change: &Change) -> bool {
    matches!(change.object, Object::Decky { .. })
}

fn engine_error(e: impl std::fmt::Display) -> StepError {
    StepError::Engine(e.to_string())
}

impl Unit<'_> {
    fn record(&mut self, change: &Change, status: Status, started: Instant) {
        if !status.is_done() {
            self.failed.insert(container_of(change).to_string());
        }
        let outcome = Outcome::new(change, status, started);
        (self.sink)(&Event::Ended(outcome.clone()));
        self.outcomes.push(outcome);
    }

    fn started(&self, change: &Change) -> Instant {
        (self.sink)(&Event::Started(change.clone()));
        Instant::now()
    }

    pub async fn run(mut self, changes: Vec<Change>) -> Vec<Outcome> {
        let (files, containers): (Vec<&Change>, Vec<&Change>) = changes
            .iter()
            .partition(|c| matches!(c.object, Object::File { .. }));
        self.removals(&containers).await;
        self.bring_ups(&containers).await;
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

    /// Removals and the removal half of replacements: services, then the base.
    /// A replace is reported once, when its new container is up.
    async fn removals(&mut self, containers: &[&Change]) {
        for base_last in [false, true] {
            for change in containers.iter().filter(|c| {
                matches!(c.action, Action::Delete | Action::Replace) && is_base(c) == base_last
            }) {
                // A step skipped was never started: it is not announced as started.
                if self.interrupt.is_raised() {
                    let skipped = Status::Skipped(Skip::Interrupted);
                    self.record(change, skipped, Instant::now());
                    continue;
                }
                let started = self.started(change);
                let status = if let Some(why) = images::unbuilt(change, self.unbuilt) {
                    Status::Failed(StepError::Unbuilt(why.clone()))
                } else {
                    self.remove(change).await.into()
                };
                if change.action == Action::Delete || !status.is_done() {
                    self.record(change, status, started);
                }
            }
        }
    }

    /// Removes a container, once its writable layer's foreign changes are kept.
    async fn remove(&self, change: &Change) -> Result<(), StepError> {
        let name = container_of(change);
        let decky = change.object.decky().unwrap_or_default();
        let none = BTreeSet::new();
        let dropped = self.dropped.get(name).unwrap_or(&none);
        let kept = self.keeper.layer(name, decky, dropped).await;
        if let Some(kept) = kept.map_err(StepError::Evidence)? {
            self.evidence(name, kept);
        }
        self.engine
            .remove_container(name)
            .await
            .map_err(engine_error)
    }

    fn evidence(&self, container: &str, kept: super::evidence::Kept) {
        (self.sink)(&Event::Evidence {
            host: self.keeper.host.to_string(),
            container: container.to_string(),
            kept,
        });
    }

    /// The base, then services and singletons: created (or the new half of a
    /// replace) and started.
    async fn bring_ups(&mut self, containers: &[&Change]) {
        for bases in [true, false] {
            for change in containers.iter().filter(|c| {
                let brought = matches!(c.action, Action::Create | Action::Replace | Action::Start);
                (brought || matches!(c.detail, Detail::Lans(_))) && is_base(c) == bases
            }) {
                if self.failed.contains(container_of(change)) {
                    continue; // its removal failed and was reported
                }
                // A blocked step never starts (a replace started with its removal).
                if let Some(status) = self.blocker(change, bases) {
                    self.record(change, status, Instant::now());
                    continue;
                }
                let started = match change.action {
                    Action::Replace => Instant::now(),
                    _ => self.started(change),
                };
                let status = self.bring_up(change).await.into();
                self.record(change, status, started);
            }
        }
    }

    /// Why `change` cannot be brought up now, if anything stops it.
    fn blocker(&self, change: &Change, is_base: bool) -> Option<Status> {
        // A replace's removal already ran: its creation is the same step.
        if self.interrupt.is_raised() && change.action != Action::Replace {
            return Some(Status::Skipped(Skip::Interrupted));
        }
        if let Some(why) = images::unbuilt(change, self.unbuilt) {
            return Some(Status::Failed(StepError::Unbuilt(why.clone())));
        }
        if self.network_failed && change.action != Action::Start {
            return Some(Status::Skipped(Skip::NetworkFailed));
        }
        let base = change
            .object
            .decky()
            .filter(|b| !is_base && self.failed.contains(*b));
        base.map(|b| Status::Skipped(Skip::BaseFailed(b.to_string())))
    }

    async fn bring_up(&self, change: &Change) -> Result<(), StepError> {
        let name = container_of(change);
        if let Detail::Lans(lans) = &change.detail {
            return self.join_lans(lans).await;
        }
        if change.action != Action::Start {
            let Detail::Container {
                spec: Some(spec), ..
            } = &change.detail
            else {
                return Err(StepError::Malformed("a create without a container spec"));
            };
            let local = self.engine.endpoint().starts_with("unix://");
            super::host_dirs::prepare(local, spec, self.host_dirs).map_err(|e| {
                StepError::Engine(format!(
                    "cannot create the bind mount directories of {name}: {e}"
                ))
            })?;
            let new = container::new_container(self.fleet, spec);
            self.engine
                .create_container(&new)
                .await
                .map_err(engine_error)?;
        }
        let _start = self
            .starts
            .acquire()
            .await
            .expect("the semaphore is never closed");
        self.engine
            .start_container(name)
            .await
            .map_err(engine_error)
    }

    /// Leaves, then joins, a base's LANs: live, without a restart.
    async fn join_lans(&self, lans: &LanChange) -> Result<(), StepError> {
        for net in &lans.detach {
            self.engine
                .disconnect_network(&lans.container, net)
                .await
                .map_err(engine_error)?;
        }
        for (net, ip) in &lans.attach {
            let ip = Some(ip.as_str()).filter(|ip| !ip.is_empty());
            self.engine
                .connect_network(&lans.container, net, ip)
                .await
                .map_err(engine_error)?;
        }
        Ok(())
    }

    async fn files(&mut self, container: &str, changes: &[&Change]) {
        let skipped = if self.failed.contains(container) {
            Some(Skip::ContainerFailed(container.to_string()))
        } else if self.interrupt.is_raised() {
            Some(Skip::Interrupted)
        } else {
            None
        };
        if let Some(why) = skipped {
            for change in changes {
                self.record(change, Status::Skipped(why.clone()), Instant::now());
            }
            return;
        }
        for change in changes {
            self.started(change);
        }
        let changes = self.fail_blocked(changes);
        let changes = self.keep_evidence(container, changes).await;
        let removes = changes.iter().any(|c| {
            c.action == Action::Delete || file_change(c).is_some_and(|f| f.clear.is_some())
        });
        let remover = match removes {
            true => Remover::of(self.engine, container).await,
            false => Remover::Exec, // not used
        };
        let changes = self.clear(container, &remover, changes).await;
        let (writes, deletes): (Vec<&Change>, Vec<&Change>) = changes
            .into_iter()
            .partition(|c| c.action != Action::Delete);
        if !writes.is_empty() {
            let started = Instant::now();
            let status: Status = self.write_files(container, &writes).await.into();
            for change in writes {
                self.record(change, status.clone(), started);
            }
        }
        if !deletes.is_empty() {
            let started = Instant::now();
            let paths = deletes
                .iter()
                .map(|c| c.object.path().unwrap_or_default().to_string())
                .collect();
            let results = remover.delete(self.engine, container, paths).await;
            for (change, result) in deletes.into_iter().zip(results) {
                self.record(change, result.into(), started);
            }
        }
    }

    /// Steps the plan found cannot be done fail here, touching nothing; the rest go on.
    fn fail_blocked<'c>(&mut self, changes: &[&'c Change]) -> Vec<&'c Change> {
        let mut rest = Vec::new();
        for &change in changes {
            match file_change(change).and_then(|f| f.blocked.clone()) {
                Some(why) => self.record_file(change, Status::Failed(StepError::Blocked(why))),
                None => rest.push(change),
            }
        }
        rest
    }

    /// A copy of what each step would destroy, first; a step whose copy
    /// cannot be kept fails and changes nothing.
    async fn keep_evidence<'c>(
        &mut self,
        container: &str,
        changes: Vec<&'c Change>,
    ) -> Vec<&'c Change> {
        let mut rest = Vec::new();
        for change in changes {
            let Some(of) = file_change(change).and_then(|f| f.evidence.as_ref()) else {
                rest.push(change);
                continue;
            };
            let decky = change.object.decky().unwrap_or_default();
            match self.keeper.file(container, decky, of, false).await {
                Ok(kept) => {
                    if let Some(kept) = kept {
                        self.evidence(container, kept);
                    }
                    rest.push(change);
                }
                Err(why) => self.record_file(change, Status::Failed(StepError::Evidence(why))),
            }
        }
        rest
    }

    /// Removes what stands in the way of the files; the steps whose way
    /// could not be cleared fail.
    async fn clear<'c>(
        &mut self,
        container: &str,
        remover: &Remover,
        changes: Vec<&'c Change>,
    ) -> Vec<&'c Change> {
        let clears: BTreeSet<String> = changes
            .iter()
            .filter_map(|c| file_change(c)?.clear.clone())
            .collect();
        if clears.is_empty() {
            return changes;
        }
        let failed = remover
            .clear(self.engine, container, clears.into_iter().collect())
            .await;
        let mut rest = Vec::new();
        for change in changes {
            let path = file_change(change).and_then(|f| f.clear.clone());
            match path.and_then(|p| Some((failed.get(&p)?.clone(), p))) {
                Some((why, path)) => {
                    self.record_file(change, Status::Failed(StepError::Clear { path, why }))
                }
                None => rest.push(change),
            }
        }
        rest
    }

    /// Records a file step's end, with its time counted from now.
    fn record_file(&mut self, change: &Change, status: Status) {
        self.record(change, status, Instant::now());
    }

    /// One tar upload of every file `writes` drops into `container`.
    async fn write_files(&self, container: &str, writes: &[&Change]) -> Result<(), StepError> {
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
        let tar = tarball::build(&files, now).map_err(|e| StepError::Archive(e.to_string()))?;
        self.engine
            .upload(container, tar)
            .await
            .map_err(engine_error)
    }
}

/// The file step of a change, if it is one.
fn file_change(change: &Change) -> Option<&FileChange> {
    match &change.detail {
        Detail::File(f) => Some(f),
        _ => None,
    }
}
