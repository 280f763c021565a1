use std::process::ExitCode;

use crate::cli::ConfigArgs;
use crate::{fleet, lock};

use super::Context;

pub async fn run(ctx: &Context, args: &ConfigArgs) -> anyhow::Result<ExitCode> {
    let loaded = super::load(&args.file)?;
    let several = loaded.hosts.several();
    let parts = loaded.hosts.split(&loaded.desired);
    let (sites, failures) = fleet::connect(parts, ctx.docker_host.as_deref()).await;
    if !several {
        if let Some(f) = failures.into_iter().next() {
            return Err(f.error);
        }
        let site = &sites[0];
        let fleet = &site.desired.fleet;
        match lock::force_unlock(&site.engine, fleet).await? {
            Some(holder) => say!("Removed the lock of fleet '{fleet}' held by {holder}."),
            None => say!("Fleet '{fleet}' is not locked."),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut ok = failures.is_empty();
    for f in &failures {
        eprintln!("error: {}", f.message(true));
    }
    for site in &sites {
        let (fleet, host) = (&site.desired.fleet, &site.host.name);
        match lock::force_unlock(&site.engine, fleet).await {
            Ok(Some(holder)) => {
                say!("host {host}: removed the lock of fleet '{fleet}' held by {holder}.")
            }
            Ok(None) => say!("host {host}: fleet '{fleet}' is not locked."),
            Err(e) => {
                eprintln!("error: host {host}: {e}");
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
