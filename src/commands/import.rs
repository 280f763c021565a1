use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::ImportArgs;
use crate::engine::Engine;
use crate::import::{to_toml, Found};

use super::refusal::{self, Refusal};
use super::Context;
use crate::render::steps::count;

pub async fn run(ctx: &Context, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    if let Some(file) = &args.compose_file {
        let file = file.clone();
        return Err(Refusal::ImportFile { file }.into());
    }
    let fleet = args.fleet.as_deref().unwrap_or_default();
    if let Err(why) = crate::config::values::fleet_name(fleet) {
        return Err(Refusal::FleetName { why }.into());
    }
    if let Some(out) = args.out.as_ref().filter(|o| o.exists()) {
        let (path, help) = (out.clone(), refusal::IMPORT_EXISTS);
        return Err(Refusal::Exists { path, help }.into());
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
        let endpoint = engine.endpoint().to_string();
        return Err(Refusal::NothingToImport { endpoint }.into());
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
