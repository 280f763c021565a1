//! One reconcile pass of watch: load, then on every engine of the fleet at
//! once: lock, observe, plan, apply, unlock.
//!
//! Everything a pass meets is reported on its log lines and turned into what
//! the loop needs next; nothing here ends the watch. An engine that cannot be
//! reached or locked is reported and retried; the others are reconciled.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::future::join_all;

use crate::adopt;
use crate::apply::{self, Event, RecordUpdate};
use crate::config::Loaded;
use crate::engine::TlsFiles;
use crate::fleet::{self, HostFailure, Observed, Site};
use crate::interrupt::Interrupt;
use crate::lock::LockError;
use crate::plan::{Action, Plan};

use super::{log, Settings};

/// What the loop learns from a pass.
#[derive(Debug, Default)]
pub struct PassEnd {
    /// The files of a valid config (to watch), or `None` when it did not load.
    pub inputs: Option<Vec<PathBuf>>,
    /// The fleet of a valid config and its engines (to follow their container events).
    pub sources: Option<Sources>,
    /// Ids of the containers this pass removed (deleted or replaced): their
    /// `die` and `destroy` events are deckhand's own.
    pub removed: BTreeSet<String>,
    /// Some engine could not be reconciled (unreachable, fleet locked): try again soon.
    pub retry: bool,
}

/// Whose container events to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    pub fleet: String,
    pub engines: Vec<Endpoint>,
    /// Whether the fleet spans several engines (log lines then name the host).
    pub several: bool,
}

/// How to reach one engine of the fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub url: Option<String>,
    pub tls: Option<TlsFiles>,
}

pub async fn run(settings: &Settings, interrupt: &Interrupt) -> PassEnd {
    let style = settings.style;
    let loaded: Loaded = match crate::config::load(&settings.config) {
        Ok(loaded) => loaded,
        Err(e) => {
            log(
                style,
                &format!(
                    "{} invalid configuration; nothing changed, still watching:\n{e}",
                    style.red("!")
                ),
            );
            return PassEnd::default();
        }
    };
    let several = loaded.hosts.several();
    let parts = loaded.hosts.split(&loaded.desired);
    let mut end = PassEnd {
        inputs: Some(loaded.inputs.clone()),
        sources: Some(Sources {
            fleet: loaded.desired.fleet.clone(),
            engines: parts
                .iter()
                .map(|p| Endpoint {
                    host: p.host.name.clone(),
                    url: p
                        .host
                        .url(settings.docker_host.as_deref())
                        .map(str::to_string),
                    tls: p.host.tls.clone(),
                })
                .collect(),
            several,
        }),
        ..PassEnd::default()
    };
    let report =
        |failures: &[HostFailure], end: &mut PassEnd| {
            for f in failures {
                let message =
                    match f.error.downcast_ref::<LockError>() {
                        Some(LockError::Held { holder, since, .. }) => format!(
                    "{}fleet '{}' is locked by {holder} since {since}; trying again shortly",
                    if several { format!("host {}: ", f.host) } else { String::new() },
                    loaded.desired.fleet
                ),
                        _ => format!("{} {}", style.red("!"), f.message(several)),
                    };
                log(style, &message);
                end.retry = true;
            }
        };
    let (sites, failures) = fleet::connect(parts, settings.docker_host.as_deref()).await;
    report(&failures, &mut end);

    if settings.plan_only {
        let (observed, failures) = fleet::observe_all(&sites, &[]).await;
        report(&failures, &mut end);
        let plan = Plan::merge(
            &loaded.desired.fleet,
            observed.into_iter().map(|(_, o)| o.plan).collect(),
        );
        if plan.is_empty() {
            log(style, "no changes");
        } else {
            log(
                style,
                &format!(
                    "{} to apply (--plan-only: not applied):",
                    count(plan.changes.len())
                ),
            );
            let _ = crate::render::text::render(&plan, &mut std::io::stdout().lock(), style);
        }
        return end;
    }

    let (locked, failures) = fleet::lock(sites, &settings.command).await;
    report(&failures, &mut end);
    let (sites, locks): (Vec<Site>, Vec<_>) = locked.into_iter().unzip();
    let (observed, failures) = fleet::observe_all(&sites, &[]).await;
    report(&failures, &mut end);
    let changes: usize = observed.iter().map(|(_, o)| o.plan.changes.len()).sum();
    if changes == 0 {
        log(style, "no changes");
    } else {
        log(style, &format!("applying {}", count(changes)));
    }
    let runs = observed
        .iter()
        .filter(|(_, o)| !o.plan.is_empty())
        .map(|(site, o)| reconcile(site, o, several, style, interrupt));
    for removed in join_all(runs).await {
        end.removed.extend(removed);
    }
    for (site, lock) in sites.iter().zip(locks) {
        if let Err(e) = lock.release(&site.engine).await {
            log(
                style,
                &format!("{} could not release the fleet lock: {e}", style.red("!")),
            );
        }
    }
    end
}

/// Applies one engine's plan; returns the ids of the containers it removed.
async fn reconcile(
    site: &Site,
    o: &Observed,
    several: bool,
    style: crate::render::style::Style,
    interrupt: &Interrupt,
) -> BTreeSet<String> {
    let on = if several {
        format!("host {}: ", site.host.name)
    } else {
        String::new()
    };
    let touched = adopt::touched(&o.plan, &o.live);
    if !touched.is_empty() {
        log(
            style,
            &format!(
                "{} {on}the plan changes containers that DECNET made and deckhand does not manage yet: {}; nothing changed there, still watching\n  help: run `deckhand apply --adopt` once to take them under management",
                style.red("!"),
                touched.join(", ")
            ),
        );
        return BTreeSet::new();
    }
    let removed = o
        .plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Delete | Action::Replace))
        .filter_map(|c| o.live.containers.get(c.container()?))
        .map(|c| c.id.clone())
        .collect();
    let host = several.then(|| site.host.name.clone());
    let progress: apply::Progress =
        Arc::new(move |e: Event| log(style, &format!("  {}", e.line(style, host.as_deref()))));
    let report = apply::apply(
        &site.engine,
        &o.plan,
        RecordUpdate::new(&site.desired, &o.live, &[]),
        progress,
        interrupt,
    )
    .await;
    for e in &report.errors {
        log(style, &format!("{} {on}{e}", style.red("!")));
    }
    let failed = report.failed();
    if failed == 0 {
        log(
            style,
            &format!("{on}applied {}", count(report.outcomes.len())),
        );
    } else {
        log(
            style,
            &style.red(&format!(
                "{on}{failed} of {} failed; the next pass tries again",
                count(report.outcomes.len() + report.errors.len())
            )),
        );
    }
    removed
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 change".to_string()
    } else {
        format!("{n} changes")
    }
}
