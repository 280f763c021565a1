use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::{Format, PlanArgs};
use crate::config::Loaded;
use crate::fleet::Pass;
use crate::plan::Plan;
use crate::render;
use crate::saved::{self, SavedPlan};

use super::Context;

pub async fn run(ctx: &Context, args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let mut loaded = crate::rotation::plan_at::load(&args.config.file, args.at.as_deref())?;
    crate::canary::rotate(&mut loaded, &args.rotate_canaries)?;
    let aim = super::Aim {
        targets: &args.target,
        destroy: args.destroy,
        networks: args.networks,
        force: args.force,
    };
    let mut pass = super::open_pass(ctx, &loaded, &aim, false).await;
    if args.format() == Format::Json {
        if let Some(code) = super::blocked::json(&pass)? {
            return Ok(code);
        }
    }
    if let Some(f) = pass.sole_failure() {
        return Err(super::refusal::sole(f));
    }
    let mut plan = pass.take_plan();
    crate::rotation::plan_at::note(&loaded, args.at.as_deref(), &mut plan);
    let nothing_left = args.destroy && !plan.has_work() && plan.degraded.is_empty();
    match nothing_left && args.format() == Format::Text {
        true => say!("{}", super::nothing_to_destroy(&plan.fleet)),
        false => draw(&plan, args.format(), ctx)?,
    }
    for f in &pass.failures {
        eprintln!("error: {}", render::steps::failure(f, pass.several));
    }
    if !pass.failures.is_empty() {
        eprintln!(
            "The plan above leaves out {} host(s) that could not be planned; nothing was changed.",
            pass.failures.len()
        );
        return Ok(ExitCode::from(1));
    }
    if let Some(path) = &args.out {
        save(path, args, &loaded, &pass, &plan)?;
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn draw(plan: &Plan, format: Format, ctx: &Context) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Text => render::text::render(plan, &mut out, ctx.style)?,
        Format::Json => render::json::render(plan, &mut out)?,
        Format::Markdown => {
            render::markdown::render(plan, &mut out, render::markdown::GITHUB_COMMENT_LIMIT)?
        }
    }
    Ok(())
}

/// Saves the plan pinned to the config and the live state it was made from.
fn save(
    path: &std::path::Path,
    args: &PlanArgs,
    loaded: &Loaded,
    pass: &Pass,
    plan: &Plan,
) -> anyhow::Result<()> {
    let saved = SavedPlan {
        format_version: saved::FORMAT_VERSION,
        fleet: plan.fleet.clone(),
        config: std::path::absolute(&args.config.file)?,
        targets: args.target.clone(),
        destroy: args.destroy,
        networks: args.networks,
        desired_digest: saved::desired_digest(&loaded.inputs)
            .context("cannot digest the configuration")?,
        live_fingerprint: saved::hosts_fingerprint(&pass.lives()),
        live: crate::stale::hosts_facts(&pass.lives()),
        inputs: crate::stale::input_digests(&loaded.inputs),
        plan: render::json::to_value(plan),
    };
    std::fs::write(path, crate::safe::json::to_string_pretty(&saved)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!(
        "Saved this plan to {p}. Apply exactly it with: deckhand apply {p}",
        p = path.display()
    );
    Ok(())
}
