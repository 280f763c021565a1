use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;

use crate::cli::WatchArgs;
use crate::interrupt::Interrupt;
use crate::watch::{self, Settings};

use super::Context;

pub async fn run(ctx: &Context, args: &WatchArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings {
        config: args.config.file.clone(),
        docker_host: ctx.docker_host.clone(),
        interval: Duration::from_secs(args.interval),
        debounce: Duration::from_millis(args.debounce_ms),
        plan_only: args.plan_only,
        style: ctx.style,
        json: args.json,
        max_destroy: args.max_destroy,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    let interrupt = Interrupt::on_signals()?;
    watch::run(settings, interrupt)
        .await
        .context("cannot watch the configuration's files")?;
    Ok(ExitCode::SUCCESS)
}
