//! The file record's arithmetic (pure): what the record holds after an apply,
//! from what it held, what is declared in scope, and what the steps did.

use std::collections::{BTreeMap, BTreeSet};

use crate::desired::{DesiredState, Ensure, OnDrift};
use crate::live::LiveState;
use crate::plan::{in_targets, Action, Detail, Object};

use super::Report;
use crate::record::{content_digest, FileKey, FileRecord, Written};

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
    /// Declared seeds (`on_drift = "seed"`), (container, path): never
    /// recorded (once written they are someone else's, and removing one from
    /// the file leaves it in place) and never evidence.
    pub seeds: BTreeSet<FileKey>,
}

impl RecordUpdate {
    /// The record bookkeeping for an apply of `desired` over `live`, limited to `targets` (empty: all).
    pub fn new(desired: &DesiredState, live: &LiveState, targets: &[String]) -> RecordUpdate {
        let in_scope = |decky: &str| in_targets(targets, Some(decky));
        let key = |f: &crate::desired::FileSpec| (f.container.clone(), f.path.clone());
        let is_seed = |f: &&crate::desired::FileSpec| f.on_drift == OnDrift::Seed;
        let declared = desired
            .files
            .iter()
            .filter(|f| in_scope(&f.decky) && matches!(f.ensure, Ensure::Present(_)))
            .filter(|f| !is_seed(f))
            .map(key)
            .collect();
        let seeds = desired.files.iter().filter(is_seed).map(key).collect();
        let scope = (!targets.is_empty()).then(|| {
            let desired_names = desired.containers.iter().map(|c| (&c.decky, &c.name));
            let live_names = live.containers.values().map(|c| (&c.decky, &c.name));
            desired_names
                .chain(live_names)
                .filter(|(decky, _)| decky.as_deref().is_some_and(in_scope))
                .map(|(_, name)| name.clone())
                .collect()
        });
        RecordUpdate {
            previous: live.record.clone(),
            declared,
            scope,
            adopt: BTreeMap::new(),
            seeds,
        }
    }

    /// The record after this apply (its generation is given when written).
    pub fn next(&self, report: &Report) -> FileRecord {
        let files = self.next_files(report);
        FileRecord {
            generation: 0,
            written: self.next_written(report, &files),
            adopted: self.next_adopted(report),
            files,
        }
    }

    /// What deckhand last wrote, by digest: what the record held for files
    /// still recorded, then every file this apply wrote.
    fn next_written(
        &self,
        report: &Report,
        files: &BTreeSet<FileKey>,
    ) -> BTreeMap<FileKey, Written> {
        let previous = self.previous.as_ref().map(|r| r.written.clone());
        let mut written = previous.unwrap_or_default();
        written.retain(|key, _| files.contains(key));
        for o in report.outcomes.iter().filter(|o| o.status.is_done()) {
            if let (
                Object::File {
                    container, path, ..
                },
                Detail::File(f),
            ) = (&o.change.object, &o.change.detail)
            {
                if self.seeds.contains(&(container.clone(), path.clone())) {
                    continue;
                }
                if let Some(w) = &f.write {
                    let state = Written {
                        sha256: content_digest(&w.bytes),
                        mode: w.mode,
                        uid: w.uid,
                        gid: w.gid,
                    };
                    written.insert((container.clone(), path.clone()), state);
                }
            }
        }
        written
    }

    /// Adopted containers after this apply: those recorded, less those removed
    /// or replaced (a replacement is deckhand's own), plus those adopted now.
    fn next_adopted(&self, report: &Report) -> BTreeMap<String, String> {
        let mut adopted = self
            .previous
            .as_ref()
            .map(|r| r.adopted.clone())
            .unwrap_or_default();
        adopted.extend(self.adopt.clone());
        for o in report.outcomes.iter().filter(|o| o.status.is_done()) {
            if let Detail::Container { name, .. } = &o.change.detail {
                if matches!(o.change.action, Action::Delete | Action::Replace) {
                    adopted.remove(name);
                }
            }
        }
        adopted
    }

    /// The record after this apply: what was recorded, less what was deleted,
    /// plus what is declared in scope.
    fn next_files(&self, report: &Report) -> BTreeSet<(String, String)> {
        let steps = StepsSeen::of(report);
        let in_scope = |c: &str| self.scope.as_ref().is_none_or(|s| s.contains(c));
        let mut files = self
            .previous
            .as_ref()
            .map(|r| r.files.clone())
            .unwrap_or_default();
        files.retain(|entry| {
            let (container, _) = entry;
            let undeclared_in_scope = in_scope(container)
                && !self.declared.contains(entry)
                && !steps.failed_files.contains(entry);
            !(steps.deleted_files.contains(entry)
                || steps.deleted_containers.contains(container)
                || undeclared_in_scope)
        });
        files.extend(self.declared.iter().cloned());
        files
    }
}

/// What the steps of an apply did to files and containers.
#[derive(Default)]
struct StepsSeen {
    deleted_files: BTreeSet<(String, String)>,
    failed_files: BTreeSet<(String, String)>,
    deleted_containers: BTreeSet<String>,
}

impl StepsSeen {
    fn of(report: &Report) -> StepsSeen {
        let mut seen = StepsSeen::default();
        for o in &report.outcomes {
            let (done, delete) = (o.status.is_done(), o.change.action == Action::Delete);
            match (&o.change.object, &o.change.detail) {
                (
                    Object::File {
                        container, path, ..
                    },
                    _,
                ) if !done => {
                    seen.failed_files.insert((container.clone(), path.clone()));
                }
                (
                    Object::File {
                        container, path, ..
                    },
                    _,
                ) if delete => {
                    seen.deleted_files.insert((container.clone(), path.clone()));
                }
                (_, Detail::Container { name, .. }) if done && delete => {
                    seen.deleted_containers.insert(name.clone());
                }
                _ => {}
            }
        }
        seen
    }
}
