//! One reconcile pass of watch: load, lock, observe, plan, apply, unlock.
//!
//! Everything a pass meets is reported on its log lines and turned into what
//! the loop needs next; nothing here ends the watch.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use crate::adopt;
use crate::apply::{self, Event, RecordUpdate};
use crate::config::Loaded;
use crate::desired::DesiredState;
use crate::engine::Engine;
use crate::interrupt::Interrupt;
use crate::live::LiveState;
use crate::lock::{FleetLock, LockError};
use crate::observe::observe;
use crate::plan::{plan, Action, Plan};

use super::{log, Settings};

/// What the loop learns from a pass.
#[derive(Debug, Default)]
pub struct PassEnd {
    /// The files of a valid config (to watch), or `None` when it did not load.
    pub inputs: Option<Vec<PathBuf>>,
    /// The fleet of a valid config (to follow its container events).
    pub fleet: Option<String>,
    /// Ids of the containers this pass removed (deleted or replaced): their
    /// `die` and `destroy` events are deckhand's own.
    pub removed: BTreeSet<String>,
    /// The pass could not run (engine unreachable, fleet locked): try again soon.
    pub retry: bool,
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
    let mut end = PassEnd {
        inputs: Some(loaded.inputs.clone()),
        fleet: Some(loaded.desired.fleet.clone()),
        ..PassEnd::default()
    };
    if loaded.hosts.declared() {
        log(
            style,
            &format!(
                "{} this configuration declares [hosts]; watch drives the one engine of --docker-host or DOCKER_HOST in this version, so nothing changed, still watching\n  help: use `deckhand apply` for a fleet across hosts",
                style.red("!"),
            ),
        );
        return end;
    }
    let engine = match Engine::connect(settings.docker_host.as_deref(), None).await {
        Ok(engine) => engine,
        Err(e) => {
            log(style, &format!("{} {e}", style.red("!")));
            end.retry = true;
            return end;
        }
    };
    let desired = &loaded.desired;
    if settings.plan_only {
        match observe_and_plan(&engine, desired).await {
            Ok((p, _)) if p.is_empty() => log(style, "no changes"),
            Ok((p, _)) => {
                log(
                    style,
                    &format!(
                        "{} to apply (--plan-only: not applied):",
                        count(p.changes.len())
                    ),
                );
                let _ = crate::render::text::render(&p, &mut std::io::stdout().lock(), style);
            }
            Err(e) => {
                log(style, &format!("{} {e:#}", style.red("!")));
                end.retry = true;
            }
        }
        return end;
    }

    let lock = match FleetLock::acquire(&engine, &desired.fleet, &settings.command).await {
        Ok(lock) => lock,
        Err(LockError::Held { holder, since, .. }) => {
            log(
                style,
                &format!(
                    "fleet '{}' is locked by {holder} since {since}; trying again shortly",
                    desired.fleet
                ),
            );
            end.retry = true;
            return end;
        }
        Err(e) => {
            log(style, &format!("{} {e}", style.red("!")));
            end.retry = true;
            return end;
        }
    };
    match observe_and_plan(&engine, desired).await {
        Err(e) => {
            log(style, &format!("{} {e:#}", style.red("!")));
            end.retry = true;
        }
        Ok((p, _)) if p.is_empty() => log(style, "no changes"),
        Ok((p, live)) if !adopt::touched(&p, &live).is_empty() => log(
            style,
            &format!(
                "{} the plan changes containers that DECNET made and deckhand does not manage yet: {}; nothing changed, still watching\n  help: run `deckhand apply --adopt` once to take them under management",
                style.red("!"),
                adopt::touched(&p, &live).join(", ")
            ),
        ),
        Ok((p, live)) => {
            log(style, &format!("applying {}", count(p.changes.len())));
            end.removed = p
                .changes
                .iter()
                .filter(|c| matches!(c.action, Action::Delete | Action::Replace))
                .filter_map(|c| live.containers.get(c.container()?))
                .map(|c| c.id.clone())
                .collect();
            let progress: apply::Progress =
                Arc::new(move |e: Event| log(style, &format!("  {}", e.line(style, None))));
            let report = apply::apply(
                &engine,
                &p,
                RecordUpdate::new(desired, &live, &[]),
                progress,
                interrupt,
            )
            .await;
            for e in &report.errors {
                log(style, &format!("{} {e}", style.red("!")));
            }
            let failed = report.failed();
            if failed == 0 {
                log(style, &format!("applied {}", count(report.outcomes.len())));
            } else {
                log(
                    style,
                    &style.red(&format!(
                        "{failed} of {} failed; the next pass tries again",
                        count(report.outcomes.len() + report.errors.len())
                    )),
                );
            }
        }
    }
    if let Err(e) = lock.release(&engine).await {
        log(
            style,
            &format!("{} could not release the fleet lock: {e}", style.red("!")),
        );
    }
    end
}

/// The live state and the plan of the whole fleet (a pass has no targets).
async fn observe_and_plan(
    engine: &Engine,
    desired: &DesiredState,
) -> anyhow::Result<(Plan, LiveState)> {
    let live = observe(engine, desired, &[]).await?;
    Ok((plan(desired, &live, &[])?, live))
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 change".to_string()
    } else {
        format!("{n} changes")
    }
}
