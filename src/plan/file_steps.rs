//! The file steps of a plan: each declared file of the deckies in scope, then
//! the files deckhand dropped earlier that the file no longer declares.

use std::collections::BTreeSet;

use crate::desired::{Ensure, FileSpec};
use crate::live::LiveFile;

use super::files::{Seen, Step};
use super::planner::Planner;
use super::{files, Action, Change, ContentChange, Detail, Drift, EvidenceOf, FileChange, Object};

impl Planner<'_> {
    pub fn files(&mut self, in_scope: &dyn Fn(Option<&str>) -> bool) -> Vec<Change> {
        let declared: Vec<&FileSpec> = self
            .desired
            .files
            .iter()
            .filter(|f| in_scope(Some(&f.decky)))
            .collect();
        let mut out: Vec<Change> = declared
            .iter()
            .filter_map(|f| self.declared_file(f))
            .collect();
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
        let change = |action, reasons, detail| Change {
            host: self.host.to_string(),
            action,
            object: Object::File {
                decky: f.decky.clone(),
                container: f.container.clone(),
                path: f.path.clone(),
            },
            reasons,
            detail: Detail::File(detail),
        };
        if let Some(why) = self.unwritable(f) {
            let mut blocked = FileChange::new(None, f.sensitive, ContentChange::Unchanged);
            blocked.blocked = Some(why.clone());
            return Some(change(Action::Update, vec![why], blocked));
        }
        // A container created or replaced: its files are written again, unread.
        if let Some(word) = self.fresh.get(&f.container) {
            let Ensure::Present(content) = &f.ensure else {
                return None;
            };
            let reasons = vec![format!("container {} is {word}", f.container)];
            return Some(change(
                Action::Create,
                reasons,
                files::creation(f.sensitive, content),
            ));
        }
        let key = (f.container.clone(), f.path.clone());
        let live = self
            .live
            .files
            .get(&key)
            .cloned()
            .unwrap_or(LiveFile::Missing);
        let seen = Seen {
            live: &live,
            written: self.live.record.as_ref().and_then(|r| r.written.get(&key)),
            container_id: self.container_id(&f.container),
        };
        match files::compare(f, &seen)? {
            Step::Change(action, reasons, detail) => Some(change(action, reasons, detail)),
            Step::Drift { what, evidence } => {
                let evidence = evidence.then(|| EvidenceOf {
                    path: f.path.clone(),
                    container_id: seen.container_id.to_string(),
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

    fn container_id(&self, name: &str) -> &str {
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
