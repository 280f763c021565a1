use std::process::ExitCode;

use crate::cli::ConfigArgs;
use crate::lock;

use super::Context;

pub async fn run(ctx: &Context, args: &ConfigArgs) -> anyhow::Result<ExitCode> {
    let loaded = super::load(&args.file)?;
    let engine = ctx.connect().await?;
    let fleet = &loaded.desired.fleet;
    match lock::force_unlock(&engine, fleet).await? {
        Some(holder) => say!("Removed the lock of fleet '{fleet}' held by {holder}."),
        None => say!("Fleet '{fleet}' is not locked."),
    }
    Ok(ExitCode::SUCCESS)
}
