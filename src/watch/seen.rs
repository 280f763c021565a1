//! What watch does with what its bait watch saw: a touch is told (rate-
//! limited per file) and a change starts a pass (or, for a bait in backoff,
//! owes one); a lost directory or an overflowed queue starts a pass at once,
//! after which the watches are rebuilt.

use std::collections::BTreeSet;
use std::time::Instant;

use crate::render::events_json;
use crate::render::safe::escape;

use super::backoff::{Key, Restored};
use super::baits::Report;
use super::pass::PassEnd;
use super::touch::{Seen, Touch};
use super::{window, Watcher};

impl Watcher {
    /// Everything seen, in order.
    pub(super) fn seen(&mut self, seen: Vec<Seen>) {
        let now = Instant::now();
        for s in seen {
            match s {
                Seen::Touch(t) => self.touch(&t, now),
                Seen::Lost { container, dir } => self.lost_dir(container, dir, now),
                Seen::Overflow => {
                    let looked = self.baits.look();
                    self.seen(looked);
                }
            }
        }
    }

    /// A bait directory moved or deleted: looked at by a pass at once the
    /// first time, and with backoff when it goes on (a rename loop).
    fn lost_dir(&mut self, container: String, dir: String, now: Instant) {
        let key: Key = (container, dir);
        if !self.lost.changed(&key, true, now) {
            return;
        }
        self.lost.restored(&key, now);
        let why = format!("bait directory {}:{} moved or deleted", key.0, key.1);
        self.trigger_bait(&key.0, why)
    }

    fn touch(&mut self, t: &Touch, now: Instant) {
        let key: Key = (t.container.clone(), t.path.clone());
        if t.changes() && self.backoff.changed(&key, t.completes(), now) {
            let why = format!("bait {}:{} changed", t.container, t.path);
            self.trigger_bait(&t.container, why);
        }
        let Some(untold) = self.baits.tell(t, now) else {
            return;
        };
        let more = match untold {
            0 => String::new(),
            n => format!(" ({n} more since the last line)"),
        };
        let word = match t.access {
            "open" => "opened",
            "read" => "read",
            "write" => "written",
            "delete" => "deleted",
            _ => "attributes changed",
        };
        let line = format!("bait {word}: {}:{}{more}", t.container, t.path);
        self.say().line(&escape(&line));
        let event = events_json::bait_access(&self.fleet, &t.container, &t.path, t.access, untold);
        self.say().event(event);
    }

    /// Says when inotify could not be had (loudly: every bait watch of the
    /// host is at stake), and when it is back.
    pub(super) fn watched(&mut self, report: Report) {
        for (container, why) in &report.unwatched {
            crate::verbose!("bait watch on {container}: not watched ({why}); read on the interval");
        }
        let said = self.inotify_lost.take();
        let Some(why) = report.inotify else {
            if said.is_some() {
                self.say().line("bait watch: inotify back");
            }
            return;
        };
        if said.as_deref() != Some(why.as_str()) {
            let n = report.polled;
            let message = format!(
                "bait watch: inotify cannot be had ({why}); {n} bait files are looked at every 2 s instead"
            );
            let help = "the host's inotify limits are shared with every container's root (fs.inotify.max_user_instances, max_user_watches): raise them or find what holds them; watch tries again on every pass";
            let line = format!(
                "{} {}\n  help: {help}",
                self.settings.style.red("!"),
                escape(&message)
            );
            self.say().advice(&self.fleet, &line, &message, help);
        }
        self.inotify_lost = Some(why);
    }

    /// What the baits saw while the pass ran, less its own doing; the
    /// pass's restores counted by the backoff first.
    pub(super) fn bait_window(&mut self, end: &PassEnd) {
        let now = Instant::now();
        for (key, (host, decky)) in &end.wrote {
            if let Some(r) = self.backoff.restored(key, now) {
                self.rewritten(key, host, decky, &r);
            }
        }
        for key in &end.held {
            self.backoff.hold(key);
        }
        let wrote: BTreeSet<Key> = end.wrote.keys().cloned().collect();
        let opens = crate::own_opens::take();
        let mut theirs = window::theirs(self.baits.take_queued(), &opens, &wrote);
        if theirs.contains(&Seen::Overflow) {
            // Events were lost: what the baits look like now tells, less the
            // pass's own writes.
            theirs.retain(|s| *s != Seen::Overflow);
            let own = |s: &Seen| matches!(s, Seen::Touch(t) if wrote.contains(&(t.container.clone(), t.path.clone())));
            theirs.extend(self.baits.look().into_iter().filter(|s| !own(s)));
        }
        self.seen(theirs);
    }

    /// A bait restored after backoff: how often it was rewritten meanwhile
    /// (a `drift` event), and the wait before the next restore.
    fn rewritten(&self, (container, path): &Key, host: &str, decky: &str, r: &Restored) {
        let what = format!(
            "rewritten {} times since the last restore; restored, next restore no sooner than in {}s",
            r.rewrites,
            r.next.as_secs()
        );
        self.say()
            .line(&escape(&format!("bait {container}:{path} {what}")));
        let drift = crate::plan::Drift {
            host: host.to_string(),
            decky: decky.to_string(),
            container: container.clone(),
            path: path.clone(),
            what: vec![what],
            evidence: None,
            sensitive: false,
        };
        let event = crate::apply::Event::Drift(drift);
        if let Some(e) = events_json::of(&event, &self.fleet) {
            self.say().event(e);
        }
    }

    /// Says that the config's files are looked at every 2 s: inotify could not be had.
    pub(super) fn config_polled(&self, why: &str) {
        let message = format!(
            "config watch: inotify cannot be had ({why}); the config's files are looked at every 2 s instead"
        );
        let help = "the host's inotify limits are shared with every container's root (fs.inotify.max_user_instances): raise them or find what holds them";
        let line = format!("{} {message}\n  help: {help}", self.settings.style.red("!"));
        self.say().advice(&self.fleet, &line, &message, help);
    }
}
