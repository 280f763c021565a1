use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::bail;

use crate::apply::{self, Outcome, RecordUpdate};
use crate::cli::ApplyArgs;
use crate::desired::DesiredState;
use crate::interrupt::Interrupt;
use crate::lock::FleetLock;
use crate::observe::observe;
use crate::plan::plan;
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
    let engine = ctx.connect().await?;
    let desired = &loaded.desired;
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let lock = FleetLock::acquire(&engine, &desired.fleet, &command).await?;
    let result = locked(ctx, &targets, &approval, &engine, desired).await;
    let released = lock.release(&engine).await;
    let code = result?;
    released?;
    Ok(code)
}

async fn locked(
    ctx: &Context,
    targets: &[String],
    approval: &Approval,
    engine: &crate::engine::Engine,
    desired: &DesiredState,
) -> anyhow::Result<ExitCode> {
    let live = observe(engine, desired, targets).await?;
    let plan = plan(desired, &live, targets)?;
    if let Approval::Saved(saved) = approval {
        // The config is unchanged (checked before locking) and the live state
        // is as it was observed then, so this plan is the saved one; compare anyway.
        if saved::live_fingerprint(&live) != saved.live_fingerprint
            || render::json::to_value(&plan) != saved.plan
        {
            bail!("plan is stale: the live state of fleet '{}' changed since the plan was made; nothing was changed\n  help: make a new plan with `deckhand plan --out FILE`", desired.fleet);
        }
    }
    let style = ctx.style;
    render::text::render(&plan, &mut std::io::stdout().lock(), style)?;
    if plan.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    if matches!(approval, Approval::Ask) && !confirm()? {
        say!("Apply cancelled; nothing was changed.");
        return Ok(ExitCode::from(1));
    }
    say!();
    let progress: apply::Progress = Arc::new(move |o: &Outcome| say!("  {}", o.line(style)));
    let interrupt = Interrupt::on_signals()?;
    let report = apply::apply(
        engine,
        &plan,
        RecordUpdate::new(desired, &live, targets),
        progress,
        &interrupt,
    )
    .await;

    let failed = report.failed();
    let ok = report.outcomes.len() - (failed - report.errors.len());
    say!();
    for e in &report.errors {
        say!("{} {e}", style.red("error:"));
    }
    if failed == 0 {
        say!(
            "{}",
            style.bold(&format!("Apply complete: {ok} steps done."))
        );
        Ok(ExitCode::SUCCESS)
    } else {
        say!(
            "{}",
            style.red(&format!(
                "Apply finished with {failed} failure(s), {ok} steps done:"
            ))
        );
        for o in report.outcomes.iter().filter(|o| o.result.is_err()) {
            say!(
                "  {}: {}",
                text::describe(&o.change),
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
        Ok(ExitCode::from(1))
    }
}

fn confirm() -> anyhow::Result<bool> {
    print!("\nDo you want to perform these actions? Only 'yes' will be accepted: ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}
