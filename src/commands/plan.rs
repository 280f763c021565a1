use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::{Format, PlanArgs};
use crate::observe::observe;
use crate::plan::plan;
use crate::render;
use crate::saved::{self, SavedPlan};

use super::Context;

pub async fn run(ctx: &Context, args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let loaded = super::load(&args.config.file)?;
    let engine = ctx.connect().await?;
    let live = observe(&engine, &loaded.desired, &args.target).await?;
    let plan = plan(&loaded.desired, &live, &args.target)?;
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Text => render::text::render(&plan, &mut out, ctx.style)?,
        Format::Json => render::json::render(&plan, &mut out)?,
        Format::Markdown => {
            render::markdown::render(&plan, &mut out, render::markdown::GITHUB_COMMENT_LIMIT)?
        }
    }
    if let Some(path) = &args.out {
        let saved = SavedPlan {
            format_version: saved::FORMAT_VERSION,
            fleet: plan.fleet.clone(),
            config: std::path::absolute(&args.config.file)?,
            targets: args.target.clone(),
            desired_digest: saved::desired_digest(&loaded.inputs)
                .context("cannot digest the configuration")?,
            live_fingerprint: saved::live_fingerprint(&live),
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
