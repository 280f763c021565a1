use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::{Format, PlanArgs};
use crate::fleet;
use crate::plan::Plan;
use crate::render;
use crate::saved::{self, SavedPlan};

use super::Context;

pub async fn run(ctx: &Context, args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let loaded = super::load(&args.config.file)?;
    let several = loaded.hosts.several();
    let parts = loaded.hosts.split(&loaded.desired);
    let (sites, mut failures) = fleet::connect(parts, ctx.docker_host.as_deref()).await;
    let (observed, failed) = fleet::observe_all(&sites, &args.target).await;
    failures.extend(failed);
    // One engine and it failed: its error is the whole answer, as before hosts existed.
    if observed.is_empty() && !several {
        if let Some(f) = failures.pop() {
            return Err(f.error);
        }
    }
    let mut plan = Plan::merge(
        &loaded.desired.fleet,
        observed.iter().map(|(_, o)| o.plan.clone()).collect(),
    );
    plan.unplanned = failures.iter().map(|f| f.host.clone()).collect();
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Text => render::text::render(&plan, &mut out, ctx.style)?,
        Format::Json => render::json::render(&plan, &mut out)?,
        Format::Markdown => {
            render::markdown::render(&plan, &mut out, render::markdown::GITHUB_COMMENT_LIMIT)?
        }
    }
    for f in &failures {
        eprintln!("error: {}", f.message(several));
    }
    if !failures.is_empty() {
        eprintln!(
            "The plan above leaves out {} host(s) that could not be planned; nothing was changed.",
            failures.len()
        );
        return Ok(ExitCode::from(1));
    }
    if let Some(path) = &args.out {
        let lives: Vec<(&str, &crate::live::LiveState)> = observed
            .iter()
            .map(|(s, o)| (s.host.name.as_str(), &o.live))
            .collect();
        let saved = SavedPlan {
            format_version: saved::FORMAT_VERSION,
            fleet: plan.fleet.clone(),
            config: std::path::absolute(&args.config.file)?,
            targets: args.target.clone(),
            desired_digest: saved::desired_digest(&loaded.inputs)
                .context("cannot digest the configuration")?,
            live_fingerprint: saved::hosts_fingerprint(&lives),
            plan: render::json::to_value(&plan),
        };
        std::fs::write(path, serde_json::to_string_pretty(&saved)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!(
            "Saved this plan to {p}. Apply exactly it with: deckhand apply {p}",
            p = path.display()
        );
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
