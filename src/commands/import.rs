use std::process::ExitCode;

use anyhow::{bail, Context as _};

use crate::cli::ImportArgs;
use crate::engine::Engine;
use crate::import::{to_toml, Found};

use super::Context;
use crate::render::steps::count;

/// `deckhand import docker-compose.yml`: import reads what runs, not a file.
pub fn not_a_compose_reader(file: &std::path::Path) -> String {
    format!("deckhand import reads the containers DECNET deployed from the engine; it does not read {f}\n  help: deploy it first (`docker-compose -f {f} up -d`), then run `deckhand import --fleet NAME --out deckhand.toml`", f = file.display())
}

pub async fn run(ctx: &Context, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    if let Some(file) = &args.compose_file {
        bail!("{}", not_a_compose_reader(file));
    }
    let fleet = args.fleet.as_deref().unwrap_or_default();
    if let Err(m) = crate::config::values::fleet_name(fleet) {
        bail!("{m}");
    }
    if let Some(out) = args.out.as_ref().filter(|o| o.exists()) {
        bail!("{} exists; nothing was written\n  help: name a new file with --out, or move that one away", out.display());
    }
    let engine = Engine::connect(ctx.docker_host.as_deref(), None).await?;
    let Found {
        deckies: found,
        warnings,
    } = crate::import::find(&engine).await?;
    for w in &warnings {
        eprintln!("warning: {}", crate::render::safe::escape(w));
    }
    if found.is_empty() && warnings.is_empty() {
        bail!("no container on {} carries DECNET's labels (decnet.fleet.decky, decnet.fleet.service_name); nothing was written", engine.endpoint());
    }
    let mut text = to_toml(fleet, &found);
    let joined = crate::import::networks::joined(&found);
    let networks: Vec<_> = engine
        .list_networks()
        .await?
        .into_iter()
        .filter(|n| joined.contains(&n.name))
        .collect();
    text.push_str(&crate::import::networks::to_toml(&networks));
    // What is written must load: check it the way every command reads it.
    let check = tempfile::Builder::new().suffix(".toml").tempfile()?;
    std::fs::write(check.path(), &text)?;
    crate::config::load(check.path()).context(
        "the imported configuration does not validate (a deckhand bug; please report it)",
    )?;
    match &args.out {
        Some(path) => {
            std::fs::write(path, &text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "Wrote {} to {}. Next: deckhand plan -f {p}, then deckhand apply --adopt -f {p}",
                count(found.len(), "decky", "deckies"),
                path.display(),
                p = path.display()
            );
        }
        None => say!("{}", text.trim_end()),
    }
    Ok(ExitCode::SUCCESS)
}
