//! `deckhand watch`: reconcile at start, then after every save of the config or
//! a `source`, whenever a container of the fleet dies or is removed, and on an
//! interval (events never show edits inside a container; the interval pass
//! reads the files back). Triggers are debounced into passes; each pass holds
//! the fleet lock only while it runs. Nothing but SIGINT/SIGTERM ends it.

mod debounce;
mod files;
mod pass;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tokio::task::JoinHandle;

use crate::engine::{ContainerEvent, Engine};
use crate::interrupt::Interrupt;
use crate::labels;
use crate::render::style::Style;

use debounce::Debounce;
use files::FileWatch;
use pass::{Endpoint, Sources};

/// How long the ids of containers a pass removed are remembered (their events
/// are deckhand's own; the engine sends them within moments).
const OWN_EVENTS_MEMORY: Duration = Duration::from_secs(60);
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
    /// For the lock's label: who holds it.
    pub command: String,
}

/// A line of the watch log, with a UTC timestamp.
pub fn log(style: Style, message: &str) {
    let now = time::OffsetDateTime::now_utc();
    let stamp = format!("{:02}:{:02}:{:02}Z", now.hour(), now.minute(), now.second());
    let stamp = style.dim(&stamp);
    for (i, line) in message.lines().enumerate() {
        if i == 0 {
            say_line(&format!("{stamp} {line}"));
        } else {
            say_line(&format!("{}  {line}", " ".repeat(9)));
        }
    }
}

fn say_line(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// What an engine-events task tells the loop; `host` is named when the
/// fleet spans several engines.
enum EngineSignal {
    Event(ContainerEvent),
    Lost { host: Option<String>, why: String },
    Back { host: Option<String> },
}

/// `host edge: ` when a host is named, else nothing.
fn on(host: &Option<String>) -> String {
    host.as_ref()
        .map(|h| format!("host {h}: "))
        .unwrap_or_default()
}

/// Runs until `interrupt` is raised; a pass in flight finishes its steps first.
pub async fn run(settings: Settings, interrupt: Interrupt) -> notify::Result<()> {
    let style = settings.style;
    let mut files = FileWatch::new()?;
    files.watch(&settings.config, &[])?;
    let (signals_tx, mut signals) = unbounded_channel();
    // The container events followed: of which engines, and their tasks.
    let mut followed: Option<Sources> = None;
    let mut followers: Vec<JoinHandle<()>> = Vec::new();
    let mut debounce = Debounce::new(settings.debounce);
    let mut reasons: BTreeSet<String> = BTreeSet::from(["start".to_string()]);
    // The start pass is due at once: its burst began one debounce ago.
    debounce.trigger(
        Instant::now()
            .checked_sub(settings.debounce)
            .unwrap_or_else(Instant::now),
    );
    let mut own: BTreeMap<String, Instant> = BTreeMap::new();
    let mut retry: Option<(Instant, Duration)> = None;
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + settings.interval,
        settings.interval,
    );
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pass_number = 0u64;
    log(
        style,
        &format!(
            "watching {} (files read back every {}s, debounce {}ms){}; Ctrl-C to stop",
            settings.config.display(),
            settings.interval.as_secs(),
            settings.debounce.as_millis(),
            if settings.plan_only {
                ", plan only"
            } else {
                ""
            }
        ),
    );

    loop {
        let wake = [debounce.deadline(), retry.map(|(at, _)| at)]
            .into_iter()
            .flatten()
            .min();
        tokio::select! {
            _ = interrupt.raised() => break,
            Some(path) = files.changed() => {
                reasons.insert(format!("{} saved", short(&path)));
                debounce.trigger(Instant::now());
            }
            Some(signal) = signals.recv() => match signal {
                EngineSignal::Event(e) => {
                    let ours = own.contains_key(&e.id);
                    if !ours && !e.name.starts_with("deckhand.") {
                        let what = if e.action == "destroy" { "removed" } else { "stopped" };
                        reasons.insert(format!("container {} {what}", e.name));
                        debounce.trigger(Instant::now());
                    }
                }
                EngineSignal::Lost { host, why } => log(style, &format!("{} {}lost the engine's events: {why}; reconnecting", style.red("!"), on(&host))),
                EngineSignal::Back { host } => {
                    log(style, &format!("{}engine events back", on(&host)));
                    reasons.insert(format!("{}engine back", on(&host)));
                    debounce.trigger(Instant::now());
                }
            },
            _ = ticker.tick() => {
                reasons.insert("interval".to_string());
                debounce.trigger(Instant::now());
            }
            _ = sleep_until(wake), if wake.is_some() => {}
        }
        let now = Instant::now();
        let retry_due = retry.is_some_and(|(at, _)| at <= now);
        if retry_due {
            reasons.insert("retry".to_string());
        }
        if !(debounce.fire(now) || retry_due) {
            continue;
        }
        if interrupt.is_raised() {
            break;
        }

        pass_number += 1;
        let why: Vec<String> = std::mem::take(&mut reasons).into_iter().collect();
        log(
            style,
            &style.bold(&format!("pass {pass_number} ({})", why.join(", "))),
        );
        let started = Instant::now();
        let started_unix = time::OffsetDateTime::now_utc().unix_timestamp();
        let end = pass::run(&settings, &interrupt).await;
        log(
            style,
            &format!(
                "pass {pass_number} done in {:.2}s",
                started.elapsed().as_secs_f64()
            ),
        );

        let now = Instant::now();
        own.retain(|_, removed_at| now.duration_since(*removed_at) < OWN_EVENTS_MEMORY);
        own.extend(end.removed.into_iter().map(|id| (id, now)));
        retry = end.retry.then(|| {
            let wait = retry.map_or(RETRY_FIRST, |(_, w)| (w * 2).min(RETRY_MAX));
            (Instant::now() + wait, wait)
        });
        if let Some(inputs) = &end.inputs {
            if let Err(e) = files.watch(&settings.config, inputs) {
                log(
                    style,
                    &format!("{} cannot watch the config's files: {e}", style.red("!")),
                );
            }
        }
        if let Some(sources) = end.sources {
            if followed.as_ref() != Some(&sources) {
                for task in followers.drain(..) {
                    task.abort();
                }
                // From the pass's start: what happened since is replayed, and
                // events of the containers it changed are recognised as its own.
                for engine in &sources.engines {
                    followers.push(tokio::spawn(follow_events(
                        engine.clone(),
                        sources.fleet.clone(),
                        sources.several.then(|| engine.host.clone()),
                        started_unix,
                        signals_tx.clone(),
                    )));
                }
                followed = Some(sources);
            }
        }
    }
    for task in followers {
        task.abort();
    }
    log(style, "stopped");
    Ok(())
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at.into()).await;
    }
}

fn short(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Forwards the fleet's container events; when the engine goes away, says so,
/// reconnects with backoff, and says when it is back (the loop then observes
/// everything again: the engine does not replay what happened meanwhile).
async fn follow_events(
    engine: Endpoint,
    fleet: String,
    host: Option<String>,
    since: i64,
    tx: UnboundedSender<EngineSignal>,
) {
    let label = format!("{}={fleet}", labels::FLEET);
    let mut since = Some(since);
    let mut lost = false;
    let mut wait = RETRY_FIRST;
    loop {
        match Engine::connect(engine.url.as_deref(), engine.tls.as_ref()).await {
            Ok(engine) => {
                if lost && tx.send(EngineSignal::Back { host: host.clone() }).is_err() {
                    return;
                }
                wait = RETRY_FIRST;
                // After a reconnect the loop observes everything again: no replay needed.
                let mut stream = Box::pin(engine.container_events(&label, since.take()));
                let why = loop {
                    match stream.next().await {
                        Some(Ok(event)) => {
                            if tx.send(EngineSignal::Event(event)).is_err() {
                                return;
                            }
                        }
                        Some(Err(e)) => break e.to_string(),
                        None => break "the event stream ended".to_string(),
                    }
                };
                lost = true;
                let host = host.clone();
                if tx.send(EngineSignal::Lost { host, why }).is_err() {
                    return;
                }
            }
            Err(e) if !lost => {
                lost = true;
                let why = first_line(&e.to_string());
                let host = host.clone();
                if tx.send(EngineSignal::Lost { host, why }).is_err() {
                    return;
                }
            }
            Err(_) => {}
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(RETRY_MAX);
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}
