use std::process::ExitCode;

use crate::cli::UnlockArgs;
use crate::fleet;
use crate::lock;
use crate::render::steps;

use super::Context;

pub async fn run(ctx: &Context, args: &UnlockArgs) -> anyhow::Result<ExitCode> {
    let loaded = super::load(&args.config.file)?;
    let several = loaded.hosts.several();
    let parts = loaded.hosts.split(loaded.desired.clone());
    let (sites, mut failures) = fleet::connect(parts, ctx.docker_host.as_deref()).await;
    if !several {
        if let Some(f) = failures.pop() {
            return Err(f.into());
        }
    }
    let mut ok = failures.is_empty();
    for f in &failures {
        eprintln!("error: {}", steps::failure(f, several));
    }
    let fleet = &loaded.desired.fleet;
    for site in &sites {
        let on = steps::on_host(&site.host.name, several);
        match lock::force_unlock(&site.engine, fleet).await {
            Ok(Some(holder)) => say!("{on}Removed the lock of fleet '{fleet}' held by {holder}."),
            Ok(None) => say!("{on}Fleet '{fleet}' is not locked."),
            Err(e) => {
                eprintln!("error: {on}{e}");
                ok = false;
            }
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
