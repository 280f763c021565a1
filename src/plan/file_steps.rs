//! The file steps of a plan: each declared file of the deckies in scope, then
//! the files deckhand dropped earlier that the file no longer declares.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::desired::{Ensure, FileSpec};
use crate::live::{LiveFile, LiveState};

use super::files::{DiffLimits, Seen, Step};
use super::planner::Planner;
use super::{files, Action, Change, ContentChange, Detail, Drift, EvidenceOf, FileChange, Object};

impl<'a> Planner<'a> {
    pub fn files(&mut self, in_scope: &dyn Fn(Option<&str>) -> bool) -> Vec<Change> {
        let declared: Vec<&FileSpec> = self
            .desired
            .files
            .iter()
            .filter(|f| in_scope(Some(&f.decky)))
            .collect();
        let mut out: Vec<Change> = Vec::new();
        for f in &declared {
            if !self.is_over_budget(&f.decky) {
                out.extend(self.declared_file(f));
            }
        }
        let declared: BTreeSet<(&str, &str)> = declared
            .iter()
            .map(|f| (f.container.as_str(), f.path.as_str()))
            .collect();
        out.extend(self.dropped_earlier(&declared, in_scope));
        out
    }

    /// The step one declared file needs, if any. A file that cannot be
    /// managed is a step that fails (that decky's only); a drift left as
    /// found is noted on the plan.
    fn declared_file(&mut self, f: &FileSpec) -> Option<Change> {
        if let Some(why) = self.unwritable(f) {
            let mut blocked = FileChange::new(None, f.sensitive, ContentChange::Unchanged);
            blocked.blocked = Some(why.clone());
            return Some(self.file_change(f, Action::Update, vec![why], blocked));
        }
        // A container created or replaced: its files are written again, unread.
        if let Some(word) = self.fresh.get(&f.container) {
            let Ensure::Present(content) = &f.ensure else {
                return None;
            };
            let reasons = vec![format!("container {} is {word}", f.container)];
            let detail = files::creation(f.sensitive, content, self.diff_limits(&f.decky));
            return Some(self.file_change(f, Action::Create, reasons, detail));
        }
        let (step, container_id) = self.compared(f);
        match step? {
            Step::Change(action, reasons, detail) => {
                Some(self.file_change(f, action, reasons, detail))
            }
            Step::Drift { what, evidence } => {
                let evidence = evidence.then(|| EvidenceOf {
                    path: f.path.clone(),
                    container_id,
                });
                self.drift.push(Drift {
                    host: self.host.to_string(),
                    decky: f.decky.clone(),
                    container: f.container.clone(),
                    path: f.path.clone(),
                    what,
                    evidence,
                    sensitive: f.sensitive,
                });
                None
            }
        }
    }

    /// `f` compared with what was read back (its time spent from the
    /// decky's budget), and the id of the container it is in.
    fn compared(&mut self, f: &FileSpec) -> (Option<Step>, String) {
        let key = (f.container.clone(), f.path.clone());
        let state: &'a LiveState = self.live;
        let missing = LiveFile::Missing;
        let seen = Seen {
            live: state.files.get(&key).unwrap_or(&missing),
            written: state.record.as_ref().and_then(|r| r.written.get(&key)),
            container_id: self.container_id(&f.container),
        };
        let (limits, started) = (self.diff_limits(&f.decky), Instant::now());
        let step = files::compare(f, &seen, limits);
        self.spend(&f.decky, started.elapsed());
        (step, seen.container_id.to_string())
    }

    /// The step of file `f`; a canary is named by its id, never its token
    /// (SPEC §11).
    fn file_change(
        &self,
        f: &FileSpec,
        action: Action,
        mut reasons: Vec<String>,
        mut detail: FileChange,
    ) -> Change {
        reasons.extend(f.canary.as_ref().map(|id| format!("canary {id}")));
        if let Some(id) = &f.canary {
            detail.content = canary_content(f, id, detail.content);
        }
        Change {
            host: self.host.to_string(),
            action,
            object: Object::File {
                decky: f.decky.clone(),
                container: f.container.clone(),
                path: f.path.clone(),
            },
            reasons,
            detail: Detail::File(detail),
        }
    }

    /// What the next diff of `decky`'s files may cost: the diff deadline,
    /// or what is left of the decky's budget after its reads and diffs.
    fn diff_limits(&self, decky: &str) -> DiffLimits {
        let budget = self.desired.budget;
        let spent = self.live.read_time.get(decky).copied().unwrap_or_default()
            + self.diff_time.get(decky).copied().unwrap_or_default();
        let left = budget.per_decky.saturating_sub(spent);
        DiffLimits {
            max: budget.diff_max,
            deadline: Instant::now() + left.min(budget.diff_deadline),
        }
    }

    /// Counts `took` against `decky`'s budget; past it, the decky is over.
    fn spend(&mut self, decky: &str, took: Duration) {
        let spent = self.diff_time.entry(decky.to_string()).or_default();
        *spent += took;
        let read = self.live.read_time.get(decky).copied().unwrap_or_default();
        let limit = self.desired.budget.per_decky;
        if read + *spent >= limit && !self.is_over_budget(decky) {
            self.over_budget.push(crate::live::OverBudget {
                decky: decky.to_string(),
                what: "diffs".to_string(),
                limit,
            });
        }
    }

    fn is_over_budget(&self, decky: &str) -> bool {
        self.over_budget.iter().any(|o| o.decky == decky)
    }

    fn container_id(&self, name: &str) -> &'a str {
        self.live
            .containers
            .get(name)
            .map(|c| c.id.as_str())
            .unwrap_or_default()
    }

    /// Why `f` cannot be written: it lies in a tmpfs, read-only or bind mount.
    fn unwritable(&self, f: &FileSpec) -> Option<String> {
        let live = self.live.containers.get(&f.container)?;
        let inside =
            |d: &str| f.path == d || f.path.starts_with(&format!("{}/", d.trim_end_matches('/')));
        let (dest, why) = live.unwritable.iter().find(|(d, _)| inside(d))?;
        Some(format!(
            "{dest} in {} is {why}; choose a path outside it",
            f.container
        ))
    }

    /// Dropped earlier, no longer declared, and in a container that lives on:
    /// deleted.
    fn dropped_earlier(
        &self,
        declared: &BTreeSet<(&str, &str)>,
        in_scope: &dyn Fn(Option<&str>) -> bool,
    ) -> Vec<Change> {
        let recorded = self.live.record.iter().flat_map(|r| r.files.iter());
        let mut out = Vec::new();
        for (container, path) in recorded {
            let Some(live_container) = self.live.containers.get(container) else {
                continue;
            };
            if declared.contains(&(container.as_str(), path.as_str()))
                || self.is_over_budget(live_container.decky.as_deref().unwrap_or(container))
                || self.fresh.contains_key(container)
                || self.desired.container(container).is_none()
                || !in_scope(live_container.decky.as_deref())
            {
                continue;
            }
            let key = (container.clone(), path.clone());
            let Some(live @ LiveFile::Present(state)) = self.live.files.get(&key) else {
                continue;
            };
            let seen = Seen {
                live,
                written: self.live.record.as_ref().and_then(|r| r.written.get(&key)),
                container_id: self.container_id(container),
            };
            let (reasons, detail) = files::dropped(state, &seen, path);
            out.push(Change {
                host: self.host.to_string(),
                action: Action::Delete,
                object: Object::File {
                    decky: live_container.decky.clone().unwrap_or_default(),
                    container: container.clone(),
                    path: path.clone(),
                },
                reasons,
                detail: Detail::File(detail),
            });
        }
        out
    }
}

/// A canary file's content change without digests: `canary <id>, N bytes`,
/// N the size of the declared content.
fn canary_content(f: &FileSpec, id: &str, content: ContentChange) -> ContentChange {
    if content == ContentChange::Unchanged {
        return content;
    }
    let size = match &f.ensure {
        Ensure::Present(want) => want.bytes.len(),
        Ensure::Absent => 0,
    };
    ContentChange::Canary {
        id: id.to_string(),
        size,
    }
}
