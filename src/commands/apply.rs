use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::bail;

use futures_util::future::join_all;

use crate::adopt;
use crate::apply::{self, Event, RecordUpdate};
use crate::cli::ApplyArgs;
use crate::fleet::{self, HostFailure, Site};
use crate::interrupt::Interrupt;
use crate::live::{LiveState, Origin};
use crate::lock::FleetLock;
use crate::plan::{in_targets, Plan};
use crate::render::style::Style;
use crate::render::{self, text};
use crate::saved::{self, SavedPlan};

use super::Context;

/// How apply gets the go-ahead.
enum Approval {
    /// Ask for `yes` on the terminal.
    Ask,
    /// `--auto-approve`.
    Given,
    /// A saved plan: run it if it is exactly what was saved.
    Saved(Box<SavedPlan>),
}

pub async fn run(ctx: &Context, args: &ApplyArgs) -> anyhow::Result<ExitCode> {
    let (config, targets, approval) = match &args.plan_file {
        Some(file) => {
            let saved = SavedPlan::read(file)?;
            (saved.config.clone(), saved.targets.clone(), Approval::Saved(Box::new(saved)))
        }
        None if args.auto_approve => (args.config.file.clone(), args.target.clone(), Approval::Given),
        None if std::io::stdin().is_terminal() => (args.config.file.clone(), args.target.clone(), Approval::Ask),
        None => bail!("apply asks for confirmation on a terminal, and standard input is not one\n  help: pass --auto-approve to apply without asking (review with `deckhand plan` first), or apply a plan saved with `deckhand plan --out FILE`"),
    };
    let loaded = super::load(&config)?;
    if let Approval::Saved(saved) = &approval {
        if saved::desired_digest(&loaded.inputs).ok().as_deref()
            != Some(saved.desired_digest.as_str())
        {
            bail!("plan is stale: the configuration ({}) changed since the plan was made; nothing was changed\n  help: make a new plan with `deckhand plan --out FILE`", config.display());
        }
    }
    let several = loaded.hosts.several();
    let parts = loaded.hosts.split(&loaded.desired);
    let (sites, mut failures) = fleet::connect(parts, ctx.docker_host.as_deref()).await;
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let (locked_sites, lock_failures) = fleet::lock(sites, &command).await;
    failures.extend(lock_failures);
    let (sites, locks): (Vec<Site>, Vec<FleetLock>) = locked_sites.into_iter().unzip();
    let run = Run {
        ctx,
        targets: &targets,
        approval: &approval,
        adopt: args.adopt,
    };
    let result = locked(&run, &sites, &loaded.desired.fleet, several, failures).await;
    let mut released = Ok(());
    for (site, lock) in sites.iter().zip(locks) {
        if let Err(e) = lock.release(&site.engine).await {
            released = Err(e);
        }
    }
    let code = result?;
    released?;
    Ok(code)
}

/// What this apply was asked to do.
struct Run<'a> {
    ctx: &'a Context,
    targets: &'a [String],
    approval: &'a Approval,
    /// `--adopt`: take DECNET's containers under management.
    adopt: bool,
}

async fn locked(
    run: &Run<'_>,
    sites: &[Site],
    fleet_name: &str,
    several: bool,
    mut failures: Vec<HostFailure>,
) -> anyhow::Result<ExitCode> {
    let Run {
        ctx,
        targets,
        approval,
        adopt,
    } = *run;
    let (observed, failed) = fleet::observe_all(sites, targets).await;
    failures.extend(failed);
    // One engine and it failed: its error is the whole answer, as before hosts existed.
    if !several {
        if let Some(f) = failures.pop() {
            return Err(f.error);
        }
    }
    let mut plan = Plan::merge(
        fleet_name,
        observed.iter().map(|(_, o)| o.plan.clone()).collect(),
    );
    plan.unplanned = failures.iter().map(|f| f.host.clone()).collect();
    if let Approval::Saved(saved) = approval {
        if !failures.is_empty() {
            for f in &failures {
                eprintln!("error: {}", f.message(several));
            }
            bail!("plan is stale: not every host of fleet '{fleet_name}' could be observed again; nothing was changed");
        }
        // The config is unchanged (checked before locking) and the live state
        // is as it was observed then, so this plan is the saved one; compare anyway.
        let lives: Vec<(&str, &LiveState)> = observed
            .iter()
            .map(|(s, o)| (s.host.name.as_str(), &o.live))
            .collect();
        if saved::hosts_fingerprint(&lives) != saved.live_fingerprint
            || render::json::to_value(&plan) != saved.plan
        {
            bail!("plan is stale: the live state of fleet '{fleet_name}' changed since the plan was made; nothing was changed\n  help: make a new plan with `deckhand plan --out FILE`");
        }
    }
    let style = ctx.style;
    render::text::render(&plan, &mut std::io::stdout().lock(), style)?;
    for f in &failures {
        eprintln!("error: {}", f.message(several));
    }
    // DECNET's containers in scope, per engine: taken over with --adopt; never changed without it.
    let decnet: Vec<BTreeMap<String, String>> = observed
        .iter()
        .map(|(_, o)| {
            o.live
                .containers
                .values()
                .filter(|c| c.origin == Origin::Decnet && in_targets(targets, c.decky.as_deref()))
                .map(|c| (c.name.clone(), c.id.clone()))
                .collect()
        })
        .collect();
    let adopting: usize = decnet.iter().map(BTreeMap::len).sum();
    if !adopt {
        let touched: Vec<&str> = observed
            .iter()
            .flat_map(|(_, o)| adopt::touched(&o.plan, &o.live))
            .collect();
        if !touched.is_empty() {
            bail!("the plan changes containers that DECNET made and deckhand does not manage yet: {}; nothing was changed\n  help: review the plan, then run `deckhand apply --adopt` to take DECNET's containers under management", touched.join(", "));
        }
    }
    if plan.is_empty() && (!adopt || adopting == 0) {
        return Ok(exit_code(failures.is_empty()));
    }
    if matches!(approval, Approval::Ask) && !confirm()? {
        say!("Apply cancelled; nothing was changed.");
        return Ok(ExitCode::from(1));
    }
    say!();
    let interrupt = Interrupt::on_signals()?;
    // The sites that were observed, each with its own plan, all at once.
    let runs = observed.iter().zip(&decnet).map(|((site, o), decnet)| {
        let host = several.then(|| site.host.name.clone());
        let progress: apply::Progress =
            Arc::new(move |e: Event| say!("  {}", e.line(style, host.as_deref())));
        let interrupt = &interrupt;
        async move {
            let mut record = RecordUpdate::new(&site.desired, &o.live, targets);
            if adopt {
                record.adopt = decnet.clone();
            }
            let report = apply::apply(&site.engine, &o.plan, record, progress, interrupt).await;
            (site.host.name.clone(), report)
        }
    });
    let reports = join_all(runs).await;

    let adopted = if adopt { adopting } else { 0 };
    Ok(summarize(
        &reports, &failures, adopted, several, style, &interrupt,
    ))
}

/// The end of an apply: errors, what was adopted, the totals, every failed
/// step again, and the exit code.
fn summarize(
    reports: &[(String, apply::Report)],
    failures: &[HostFailure],
    adopted: usize,
    several: bool,
    style: Style,
    interrupt: &Interrupt,
) -> ExitCode {
    let failed: usize = reports.iter().map(|(_, r)| r.failed()).sum();
    let ok: usize = reports
        .iter()
        .map(|(_, r)| r.outcomes.len() - (r.failed() - r.errors.len()))
        .sum();
    say!();
    for (host, r) in reports {
        for e in &r.errors {
            let e = if several {
                format!("host {host}: {e}")
            } else {
                e.clone()
            };
            say!("{} {e}", style.red("error:"));
        }
    }
    if adopted > 0 && failed == 0 {
        say!("Adopted {adopted} container(s) made by DECNET: deckhand manages them from now on.");
    }
    if failed == 0 && failures.is_empty() {
        say!(
            "{}",
            style.bold(&format!("Apply complete: {ok} steps done."))
        );
        return ExitCode::SUCCESS;
    }
    if failed == 0 {
        say!(
            "{}",
            style.red(&format!(
                "Apply finished: {ok} steps done; {} host(s) were not planned (above).",
                failures.len()
            ))
        );
        return ExitCode::from(1);
    }
    say!(
        "{}",
        style.red(&format!(
            "Apply finished with {failed} failure(s), {ok} steps done:"
        ))
    );
    for o in reports
        .iter()
        .flat_map(|(_, r)| &r.outcomes)
        .filter(|o| o.result.is_err())
    {
        say!(
            "  {}: {}",
            text::describe_on(&o.change, several),
            o.result
                .as_ref()
                .err()
                .map(String::as_str)
                .unwrap_or_default()
        );
    }
    if interrupt.is_raised() {
        say!("Interrupted: run apply again to finish; it converges.");
    } else {
        say!("Fix the cause and run apply again: it converges.");
    }
    ExitCode::from(1)
}

fn exit_code(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn confirm() -> anyhow::Result<bool> {
    print!("\nDo you want to perform these actions? Only 'yes' will be accepted: ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}
