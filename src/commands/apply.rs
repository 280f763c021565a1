use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::bail;

use crate::apply::{Event, Sink};
use crate::cli::ApplyArgs;
use crate::config::Loaded;
use crate::fleet::{FleetReport, Pass};
use crate::interrupt::Interrupt;
use crate::plan::Plan;
use crate::render::{self, steps};
use crate::saved::{self, SavedPlan};

use super::Context;

/// How apply gets the go-ahead.
pub enum Approval {
    /// Ask for `yes` on the terminal.
    Ask,
    /// `--auto-approve`.
    Given,
    /// A saved plan: run it if it is exactly what was saved.
    Saved(Box<SavedPlan>),
}

/// What one apply (or destroy) was asked to do, lowered from its flags.
pub struct Request {
    pub config: std::path::PathBuf,
    pub targets: Vec<String>,
    pub approval: Approval,
    /// `--adopt`: take DECNET's containers under management.
    pub adopt: bool,
    /// `destroy` (or a saved `plan --destroy`): plan the deckies in scope away.
    pub destroy: bool,
    /// `destroy --networks`: remove the networks the file declares too.
    pub networks: bool,
}

pub async fn run(ctx: &Context, args: &ApplyArgs) -> anyhow::Result<ExitCode> {
    let request = match &args.plan_file {
        Some(file) => {
            let saved = SavedPlan::read(file)?;
            Request {
                config: saved.config.clone(),
                targets: saved.targets.clone(),
                destroy: saved.destroy,
                networks: saved.networks,
                adopt: false,
                approval: Approval::Saved(Box::new(saved)),
            }
        }
        None => Request {
            config: args.change.config.file.clone(),
            targets: args.change.target.clone(),
            approval: approval(ctx, args.change.auto_approve)?,
            adopt: args.adopt,
            destroy: false,
            networks: false,
        },
    };
    execute(ctx, &request).await
}

/// `--auto-approve`, else a terminal to ask on, else a refusal.
pub fn approval(ctx: &Context, auto_approve: bool) -> anyhow::Result<Approval> {
    match (auto_approve, ctx.interactive) {
        (true, _) => Ok(Approval::Given),
        (false, true) => Ok(Approval::Ask),
        (false, false) => bail!("apply asks for confirmation on a terminal, and standard input is not one\n  help: pass --auto-approve to apply without asking (review with `deckhand plan` first), or apply a plan saved with `deckhand plan --out FILE`"),
    }
}

/// Loads, checks a saved plan's config, then runs the locked pass and always
/// releases its locks.
pub async fn execute(ctx: &Context, request: &Request) -> anyhow::Result<ExitCode> {
    let loaded = super::load(&request.config)?;
    if let Approval::Saved(saved) = &request.approval {
        check_config(&loaded, saved, &request.config)?;
    }
    let aim = super::Aim {
        targets: &request.targets,
        destroy: request.destroy,
        networks: request.networks,
    };
    let mut pass = super::open_pass(ctx, &loaded, &aim, true).await;
    let result = locked(ctx, request, &mut pass).await;
    let released = pass.release().await;
    let code = result?;
    released?;
    Ok(code)
}

fn check_config(
    loaded: &Loaded,
    saved: &SavedPlan,
    config: &std::path::Path,
) -> anyhow::Result<()> {
    let digest = saved::desired_digest(&loaded.inputs).ok();
    if digest.as_deref() != Some(saved.desired_digest.as_str()) {
        bail!("plan is stale: the configuration ({}) changed since the plan was made; nothing was changed\n  help: make a new plan with `deckhand plan --out FILE`", config.display());
    }
    Ok(())
}

async fn locked(ctx: &Context, request: &Request, pass: &mut Pass) -> anyhow::Result<ExitCode> {
    if let Some(f) = pass.sole_failure() {
        return Err(f.into());
    }
    let plan = pass.plan();
    if let Approval::Saved(saved) = &request.approval {
        check_live(pass, &plan, saved)?;
    }
    render::text::render(&plan, &mut std::io::stdout().lock(), ctx.style)?;
    for f in &pass.failures {
        eprintln!("error: {}", steps::failure(f, pass.several));
    }
    let touched = pass.decnet_touched();
    if !request.adopt && !touched.is_empty() {
        bail!("the plan changes containers that DECNET made and deckhand does not manage yet: {}; nothing was changed\n  help: review the plan, then run `deckhand apply --adopt` to take DECNET's containers under management", touched.join(", "));
    }
    if plan.is_empty() && (!request.adopt || pass.decnet_in_scope() == 0) {
        return Ok(exit_code(pass.failures.is_empty()));
    }
    if matches!(request.approval, Approval::Ask) && !confirm()? {
        say!("Apply cancelled; nothing was changed.");
        return Ok(ExitCode::from(1));
    }
    say!();
    let interrupt = Interrupt::on_signals()?;
    let report = pass
        .apply(
            request.adopt,
            |_| true,
            text_sink(ctx, pass.several),
            &interrupt,
        )
        .await;
    if request.destroy && request.targets.is_empty() && report.failed() == 0 {
        remove_records(pass).await;
    }
    Ok(finish(ctx, pass, &report))
}

/// A saved plan runs only when every engine it covers looks as it did then.
fn check_live(pass: &Pass, plan: &Plan, saved: &SavedPlan) -> anyhow::Result<()> {
    let fleet = &pass.fleet;
    if !pass.failures.is_empty() {
        for f in &pass.failures {
            eprintln!("error: {}", steps::failure(f, pass.several));
        }
        bail!("plan is stale: not every host of fleet '{fleet}' could be observed again; nothing was changed");
    }
    if saved::hosts_fingerprint(&pass.lives()) != saved.live_fingerprint
        || render::json::to_value(plan) != saved.plan
    {
        bail!("plan is stale: the live state of fleet '{fleet}' changed since the plan was made; nothing was changed\n  help: make a new plan with `deckhand plan --out FILE`");
    }
    Ok(())
}

/// Draws each step as it ends, indented under the plan.
pub fn text_sink(ctx: &Context, several: bool) -> Sink {
    let style = ctx.style;
    Arc::new(move |e: &Event| {
        if let Some(line) = steps::event_line(e, style, several) {
            say!("  {line}");
        }
    })
}

/// The fleet is gone: its record goes too (the lock goes on release).
async fn remove_records(pass: &Pass) {
    for p in &pass.planned {
        let host = steps::on_host(&p.site.host.name, pass.several);
        match crate::record::remove_all(&p.site.engine, &pass.fleet).await {
            Ok(0) => {}
            Ok(_) => say!("{host}removed the file record of fleet '{}'", pass.fleet),
            Err(e) => eprintln!("error: {host}cannot remove the file record: {e}"),
        }
    }
}

/// Draws the end of the run; exit 1 when anything was not done.
fn finish(ctx: &Context, pass: &Pass, report: &FleetReport) -> ExitCode {
    for line in steps::summary(report, &pass.failures, pass.several, ctx.style) {
        say!("{line}");
    }
    exit_code(report.failed() == 0 && pass.failures.is_empty())
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
