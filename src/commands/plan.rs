use std::process::ExitCode;

use crate::cli::{Format, PlanArgs};
use crate::observe::observe;
use crate::plan::plan;
use crate::render;

use super::Context;

pub async fn run(ctx: &Context, args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let loaded = super::load(&args.config.file)?;
    let engine = ctx.connect().await?;
    let live = observe(&engine, &loaded.desired).await?;
    let plan = plan(&loaded.desired, &live, &args.target)?;
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Text => render::text::render(&plan, &mut out, ctx.style)?,
        Format::Json => render::json::render(&plan, &mut out)?,
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
