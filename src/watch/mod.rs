//! `deckhand watch`: reconcile at start, then after every save of the config or
//! a `source`, whenever a container of the fleet dies or is removed, and on an
//! interval (events never show edits inside a container; the interval pass
//! reads the files back). Triggers are debounced into passes; each pass holds
//! the fleet lock only while it runs. Nothing but SIGINT/SIGTERM ends it.
//!
//! An intruder cannot blind it or switch it off (SPEC §8): bait changes start
//! a pass of their deckies only, a bait rewritten over and over is restored
//! with backoff ([`backoff`]), what inotify queued during a pass is judged
//! against deckhand's own opens ([`window`]), inotify lost is replaced by
//! looking every 2 s ([`poll`]), and an invalid file keeps the last valid
//! state enforced ([`last_valid`]).

mod backoff;
mod baits;
mod debounce;
mod drift;
mod events;
mod files;
mod last_valid;
mod pass;
mod poll;
mod rotation;
mod say;
mod seen;
mod state_file;
mod touch;
mod window;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tokio::task::JoinHandle;

use crate::interrupt::Interrupt;
use crate::render::style::Style;

use crate::render::events_json;
use backoff::Backoff;
use baits::BaitWatch;
use debounce::{Debounce, PerDecky};
use events::{follow_events, on, EngineSignal};
use files::FileWatch;
use last_valid::LastValid;
use pass::Sources;
use say::Say;

/// How long the ids of containers a pass removed are remembered (their events
/// are deckhand's own; the engine sends them within moments).
const OWN_EVENTS_MEMORY: Duration = Duration::from_secs(60);
/// How often the sessions holding a decky's changes are looked at.
const SESSION_LOOK: Duration = Duration::from_millis(200);
/// Waits between tries while the engine is away or the fleet is locked.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(30);

pub struct Settings {
    /// The config file or directory (`-f`).
    pub config: PathBuf,
    pub docker_host: Option<String>,
    /// How often files are read back for drift.
    pub interval: Duration,
    pub debounce: Duration,
    pub plan_only: bool,
    pub style: Style,
    /// `--json`: NDJSON events instead of log lines.
    pub json: bool,
    /// `--max-destroy`: a pass that would destroy more deckies destroys none.
    pub max_destroy: usize,
    /// For the lock's label: who holds it.
    pub command: String,
}

pub use crate::render::log::{log, stamp};

/// Runs until `interrupt` is raised; a pass in flight finishes its steps first.
pub async fn run(settings: Settings, interrupt: Interrupt) -> notify::Result<()> {
    let mut files = FileWatch::new()?;
    files.watch(&settings.config, &[])?;
    let (signals_tx, mut signals) = unbounded_channel();
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + settings.interval,
        settings.interval,
    );
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut w = Watcher::new(settings, signals_tx);
    w.announce();
    if let Some(why) = &files.polled {
        w.config_polled(why);
    }
    loop {
        let wake = w.wake();
        tokio::select! {
            _ = interrupt.raised() => break,
            Some(path) = files.changed() => w.trigger(format!("{} saved", short(&path))),
            Some(signal) = signals.recv() => w.engine_signal(signal),
            seen = w.baits.next() => w.seen(seen),
            _ = ticker.tick() => w.trigger("interval".to_string()),
            _ = sleep_until(wake), if wake.is_some() => {}
        }
        if !w.due(Instant::now()) {
            continue;
        }
        if interrupt.is_raised() {
            break;
        }
        let end = w.pass(&interrupt).await;
        w.after(end, &mut files);
    }
    w.say().line("stopped");
    for task in w.followers {
        task.abort();
    }
    Ok(())
}

/// What the watch loop keeps between passes.
struct Watcher {
    settings: Settings,
    /// Saves, container events, the interval: passes of the whole fleet.
    debounce: Debounce,
    /// Bait changes, per decky: a decky whose bait events never stop holds
    /// back only its own pass.
    bait_debounce: PerDecky,
    /// Why the next pass of the whole fleet runs.
    reasons: BTreeSet<String>,
    /// Why each decky's next pass runs (its baits changed).
    bait_reasons: BTreeMap<String, BTreeSet<String>>,
    /// What the pass about to run covers: the deckies whose baits changed,
    /// or (`None`) the whole fleet, and why. A decky flooded by an intruder
    /// then does not slow the passes that heal the others.
    next: (Option<BTreeSet<String>>, BTreeSet<String>),
    /// The decky of each container with a watched bait.
    bait_deckies: BTreeMap<String, String>,
    /// Containers deckhand removed lately: their events are its own.
    own: BTreeMap<String, Instant>,
    /// When to try again after an engine was unreachable or locked, and the wait.
    retry: Option<(Instant, Duration)>,
    pass_number: u64,
    /// The managed containers the last pass left: to notice a recreate by someone else.
    known: drift::Known,
    signals: UnboundedSender<EngineSignal>,
    /// Whose container events are followed, and the tasks following them.
    followed: Option<Sources>,
    followers: Vec<JoinHandle<()>>,
    /// When the current pass started (unix seconds): events are replayed from there.
    pass_started: i64,
    /// The fleet of the last valid config, for events.
    fleet: String,
    /// Bait files watched from the host.
    baits: BaitWatch,
    /// Why inotify could not be had, once said (until it is back).
    inotify_lost: Option<String>,
    /// Restores of baits rewritten over and over, spaced out.
    backoff: Backoff,
    /// Bait directories moved or deleted over and over, looked at spaced out.
    lost: Backoff,
    /// The desired state passes work from, kept while the file is invalid.
    last_valid: LastValid,
    /// Deckies whose changes a live session holds, with their base, and
    /// when to look at their sessions next.
    engaged: BTreeMap<String, crate::engine::Running>,
    engaged_look: Option<Instant>,
    /// The next `[rotation]` epoch's pass.
    rotation: rotation::Schedule,
}

impl Watcher {
    fn new(settings: Settings, signals: UnboundedSender<EngineSignal>) -> Watcher {
        let mut debounce = Debounce::new(settings.debounce);
        // The start pass is due at once: its burst began one debounce ago.
        let now = Instant::now();
        debounce.trigger(now.checked_sub(settings.debounce).unwrap_or(now));
        let last_valid = LastValid::starting(&settings.config);
        Watcher {
            debounce,
            bait_debounce: PerDecky::new(settings.debounce),
            reasons: BTreeSet::from(["start".to_string()]),
            bait_reasons: BTreeMap::new(),
            next: (None, BTreeSet::new()),
            bait_deckies: BTreeMap::new(),
            own: BTreeMap::new(),
            retry: None,
            pass_number: 0,
            known: drift::Known::default(),
            signals,
            followed: None,
            followers: Vec::new(),
            pass_started: 0,
            fleet: last_valid.fleet().unwrap_or_default().to_string(),
            last_valid,
            settings,
            baits: BaitWatch::new(),
            inotify_lost: None,
            backoff: Backoff::default(),
            lost: Backoff::default(),
            engaged: BTreeMap::new(),
            engaged_look: None,
            rotation: Default::default(),
        }
    }

    fn say(&self) -> Say {
        Say {
            look: crate::render::view::Look {
                style: self.settings.style,
                several: false,
            },
            json: self.settings.json,
        }
    }

    /// The fleet of the last valid config, for events.
    fn fleet(&self) -> &str {
        &self.fleet
    }

    fn announce(&self) {
        let s = &self.settings;
        let plan_only = if s.plan_only { ", plan only" } else { "" };
        self.say().line(&format!(
            "watching {} (files read back every {}s, debounce {}ms){plan_only}; Ctrl-C to stop",
            s.config.display(),
            s.interval.as_secs(),
            s.debounce.as_millis(),
        ));
    }

    /// The earliest moment something is due: a debounce, a retry, or a
    /// restore or look held back.
    fn wake(&self) -> Option<Instant> {
        let retry = self.retry.map(|(at, _)| at);
        let debounces = [self.debounce.deadline(), self.bait_debounce.deadline()];
        let backoffs = [
            self.backoff.deadline(),
            self.lost.deadline(),
            self.engaged_look,
            self.rotation.deadline(),
        ];
        debounces
            .into_iter()
            .chain(backoffs)
            .chain([retry])
            .flatten()
            .min()
    }

    /// A pass of the whole fleet is due.
    fn trigger(&mut self, reason: String) {
        self.reasons.insert(reason);
        self.debounce.trigger(Instant::now());
    }

    /// A pass of the decky of `container` is due (of the whole fleet when
    /// its decky is not known).
    fn trigger_bait(&mut self, container: &str, reason: String) {
        let Some(decky) = self.bait_deckies.get(container).cloned() else {
            return self.trigger(reason);
        };
        self.trigger_decky(decky, reason, Instant::now());
    }

    /// A pass of `decky` is due once its burst began at `at`.
    fn trigger_decky(&mut self, decky: String, reason: String, at: Instant) {
        self.bait_debounce.trigger(&decky, at);
        self.bait_reasons.entry(decky).or_default().insert(reason);
    }

    /// Looks at the sessions holding deckies' changes, in a task of its own
    /// (each read on a blocking thread, within its budget): the loop goes
    /// on, and hears which sessions ended as a signal.
    fn look_at_sessions(&mut self) {
        self.engaged_look = None;
        let engaged = self.engaged.clone();
        let signals = self.signals.clone();
        tokio::spawn(async move {
            let looks = engaged.into_iter().map(|(decky, base)| async move {
                // Gone, or not read (in time): ended.
                let live = crate::engagement::live_sessions(&base).await;
                (!matches!(live, Ok(s) if !s.is_empty())).then_some(decky)
            });
            let ended = futures_util::future::join_all(looks).await;
            let _ = signals.send(EngineSignal::SessionsEnded(
                ended.into_iter().flatten().collect(),
            ));
        });
    }

    /// A decky whose sessions ended gets its pass at once (no debounce: it
    /// was waiting); the others are looked at again.
    fn sessions_ended(&mut self, ended: Vec<String>) {
        let now = Instant::now();
        let at = now.checked_sub(self.settings.debounce).unwrap_or(now);
        for decky in ended {
            if self.engaged.remove(&decky).is_some() {
                let why = format!("decky {decky}: session ended");
                self.trigger_decky(decky, why, at);
            }
        }
        self.engaged_look = (!self.engaged.is_empty()).then_some(now + SESSION_LOOK);
    }

    /// A container event, or an engine lost or back.
    fn engine_signal(&mut self, signal: EngineSignal) {
        let style = self.settings.style;
        match signal {
            EngineSignal::Event(e) => {
                if !self.own.contains_key(&e.id) && !e.name.starts_with("deckhand.") {
                    let what = if e.action == "destroy" {
                        "removed"
                    } else {
                        "stopped"
                    };
                    self.trigger(format!("container {} {what}", e.name));
                }
            }
            EngineSignal::Lost { host, why } => {
                let why = crate::render::safe::escape(&why);
                let message = format!("lost the engine's events: {why}; reconnecting");
                let line = format!("{} {}{message}", style.red("!"), on(&host));
                self.say()
                    .problem(self.fleet(), host.as_deref(), &line, &message);
            }
            EngineSignal::SessionsEnded(ended) => self.sessions_ended(ended),
            EngineSignal::Back { host } => {
                self.say().line(&format!("{}engine events back", on(&host)));
                self.trigger(format!("{}engine back", on(&host)));
            }
        }
    }

    /// Whether a pass is due now (a debounce fired, or a retry came round),
    /// and what it covers, in `next`.
    fn due(&mut self, now: Instant) -> bool {
        if self.engaged_look.is_some_and(|at| at <= now) {
            self.look_at_sessions();
        }
        let retry_due = self.retry.is_some_and(|(at, _)| at <= now);
        if retry_due {
            self.reasons.insert("retry".to_string());
        }
        for (container, path) in self.backoff.due(now) {
            self.trigger_bait(
                &container,
                format!("bait {container}:{path} changed (after backoff)"),
            );
        }
        for key in self.lost.due(now) {
            self.lost.restored(&key, now);
            let (container, dir) = key;
            let why = format!("bait directory {container}:{dir} moved or deleted (after backoff)");
            self.trigger_bait(&container, why);
        }
        if let Some(why) = self.rotation.fire(now) {
            self.reasons.insert(why);
            self.debounce
                .trigger(now.checked_sub(self.settings.debounce).unwrap_or(now));
        }
        if self.debounce.fire(now) || retry_due {
            // The whole fleet: every decky's pending bait pass is in it.
            self.bait_debounce.clear();
            let mut why = std::mem::take(&mut self.reasons);
            why.extend(
                std::mem::take(&mut self.bait_reasons)
                    .into_values()
                    .flatten(),
            );
            self.next = (None, why);
            return true;
        }
        let deckies = self.bait_debounce.fire(now);
        if deckies.is_empty() {
            return false;
        }
        let why = deckies
            .iter()
            .filter_map(|d| self.bait_reasons.remove(d))
            .flatten()
            .collect();
        self.next = (Some(deckies.into_iter().collect()), why);
        true
    }

    async fn pass(&mut self, interrupt: &Interrupt) -> pass::PassEnd {
        let style = self.settings.style;
        let say = self.say();
        self.pass_number += 1;
        let (scope, why) = std::mem::take(&mut self.next);
        let why: Vec<String> = why.into_iter().collect();
        let targets: Vec<String> = scope.into_iter().flatten().collect();
        let n = self.pass_number;
        say.line(&style.bold(&format!("pass {n} ({})", why.join(", "))));
        say.event(events_json::pass(self.fleet(), "started", n, &why));
        let started = Instant::now();
        self.pass_started = time::OffsetDateTime::now_utc().unix_timestamp();
        let held = self.backoff.held(Instant::now());
        let end = match self
            .last_valid
            .load(&self.settings.config, say, &self.fleet)
        {
            Some(loaded) => {
                self.rotation.set(&loaded.desired.rotation);
                let scope = pass::Scope {
                    targets: &targets,
                    backed_off: &held,
                    known: &mut self.known,
                };
                pass::run(&self.settings, loaded, scope, say, interrupt).await
            }
            None => pass::PassEnd::default(),
        };
        let took = started.elapsed().as_secs_f64();
        say.line(&format!("pass {n} done in {took:.2}s"));
        if let Some(sources) = &end.sources {
            self.fleet = sources.fleet.clone();
        }
        say.event(events_json::pass(&self.fleet, "ended", n, &why));
        end
    }

    /// What a pass taught: its own removals, whether to retry, which files
    /// and engines to follow now.
    fn after(&mut self, end: pass::PassEnd, files: &mut FileWatch) {
        let now = Instant::now();
        self.own
            .retain(|_, removed_at| now.duration_since(*removed_at) < OWN_EVENTS_MEMORY);
        self.own
            .extend(end.removed.iter().map(|id| (id.clone(), now)));
        self.retry = end.retry.then(|| {
            let wait = self
                .retry
                .map_or(RETRY_FIRST, |(_, w)| (w * 2).min(RETRY_MAX));
            (now + wait, wait)
        });
        if let Some(inputs) = &end.inputs {
            if let Err(e) = files.watch(&self.settings.config, inputs) {
                let style = self.settings.style;
                let message = format!("cannot watch the config's files: {e}");
                let line = format!("{} {message}", style.red("!"));
                self.say().problem(self.fleet(), None, &line, &message);
            }
        }
        self.bait_window(&end);
        if !end.engaged.is_empty() {
            self.engaged.extend(end.engaged.clone());
            self.engaged_look.get_or_insert(now + SESSION_LOOK);
        }
        let watched = self.baits.set(&end.baits);
        let deckies = end
            .baits
            .iter()
            .map(|b| (b.container.clone(), b.decky.clone()));
        self.bait_deckies = deckies.collect();
        let keep = end
            .baits
            .iter()
            .map(|b| (b.container.clone(), b.path.clone()));
        self.backoff.retain(&keep.collect());
        let dirs = end
            .baits
            .iter()
            .map(|b| (b.container.clone(), dir_of(&b.path)));
        self.lost.retain(&dirs.collect());
        self.watched(watched);
        if let Some(sources) = end.sources.filter(|s| self.followed.as_ref() != Some(s)) {
            self.follow(sources);
        }
    }

    /// Follows the container events of `sources`' engines from the last
    /// pass's start: what happened since is replayed, and events of the
    /// containers it changed are recognised as its own.
    fn follow(&mut self, sources: Sources) {
        for task in self.followers.drain(..) {
            task.abort();
        }
        for engine in &sources.engines {
            self.followers.push(tokio::spawn(follow_events(
                engine.clone(),
                sources.fleet.clone(),
                sources.several.then(|| engine.host.clone()),
                self.pass_started,
                self.signals.clone(),
            )));
        }
        self.followed = Some(sources);
    }
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at.into()).await;
    }
}

/// The directory of a bait path, as the bait watch names it.
fn dir_of(path: &str) -> String {
    match path.rsplit_once('/') {
        Some(("", _)) | None => "/".to_string(),
        Some((dir, _)) => dir.to_string(),
    }
}

fn short(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

#[cfg(test)]
mod stamp_tests {
    #[test]
    fn a_log_line_is_stamped_with_the_date_and_the_utc_time() {
        let t = time::macros::datetime!(2026-12-04 11:46:23.9 +01:00);
        assert_eq!(super::stamp(t), "2026-12-04T10:46:23Z");
    }
}
