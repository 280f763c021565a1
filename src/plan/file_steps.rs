//! The file steps of a plan: each declared file of the deckies in scope, then
//! the files deckhand dropped earlier that the file no longer declares.

use std::collections::BTreeSet;

use crate::desired::{Ensure, FileSpec};
use crate::live::LiveFile;

use super::planner::Planner;
use super::{files, Action, Change, Detail, Object};

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

    /// The step one declared file needs, if any; a file that cannot be
    /// managed is refused, with why.
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
            self.refusals.push(why);
            return None;
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
        match files::compare(f, &live) {
            Ok(step) => step.map(|(action, reasons, detail)| change(action, reasons, detail)),
            Err(why) => {
                let why = format!("file {} of decky {}: {why}", f.path, f.decky);
                self.refusals.push(why);
                None
            }
        }
    }

    /// Why `f` cannot be written: it lies in a tmpfs, read-only or bind mount.
    fn unwritable(&self, f: &FileSpec) -> Option<String> {
        let live = self.live.containers.get(&f.container)?;
        let inside =
            |d: &str| f.path == d || f.path.starts_with(&format!("{}/", d.trim_end_matches('/')));
        let (dest, why) = live.unwritable.iter().find(|(d, _)| inside(d))?;
        Some(format!(
            "file {} of decky {}: {dest} in {} is {why}; choose a path outside it",
            f.path, f.decky, f.container
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
            let Some(LiveFile::Present(state)) = self.live.files.get(&key) else {
                continue;
            };
            out.push(Change {
                host: self.host.to_string(),
                action: Action::Delete,
                object: Object::File {
                    decky: live_container.decky.clone().unwrap_or_default(),
                    container: container.clone(),
                    path: path.clone(),
                },
                reasons: vec!["dropped by deckhand, no longer in the file".to_string()],
                // The record keeps no flags: assume sensitive and show no bytes.
                detail: Detail::File(files::deletion(true, state)),
            });
        }
        out
    }
}
