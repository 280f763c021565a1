use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{bail, Context as _};

use crate::cli::ImportArgs;
use crate::engine::{ContainerInfo, Engine};
use crate::import::{to_toml, FoundDecky};
use crate::labels;

use super::Context;

pub async fn run(ctx: &Context, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    if let Err(m) = crate::config::values::fleet_name(&args.fleet) {
        bail!("{m}");
    }
    if let Some(out) = args.out.as_ref().filter(|o| o.exists()) {
        bail!("{} exists; nothing was written\n  help: name a new file with --out, or move that one away", out.display());
    }
    let engine = Engine::connect(ctx.docker_host.as_deref(), None).await?;
    let all = engine.list_containers(None).await?;
    let decnet = |c: &&ContainerInfo| {
        !c.labels.contains_key(labels::FLEET)
            && c.labels.contains_key(labels::DECNET_DECKY)
            && c.labels.contains_key(labels::DECNET_SERVICE_NAME)
    };
    let mut services: BTreeMap<&str, Vec<&ContainerInfo>> = BTreeMap::new();
    for c in all.iter().filter(decnet) {
        services
            .entry(&c.labels[labels::DECNET_DECKY])
            .or_default()
            .push(c);
    }
    if services.is_empty() {
        bail!("no container on {} carries DECNET's labels (decnet.fleet.decky, decnet.fleet.service_name); nothing was written", engine.endpoint());
    }
    let mut images = BTreeMap::new();
    let mut found = Vec::new();
    for (decky, svcs) in services {
        let Some(base) = engine.container_details(decky).await? else {
            eprintln!("warning: decky {decky}: its services are live but its base container {decky} is not; left out");
            continue;
        };
        let mut with_defaults = Vec::new();
        for c in svcs {
            let Some(d) = engine.container_details(&c.id).await? else {
                continue;
            };
            with_defaults.push((c.labels[labels::DECNET_SERVICE_NAME].clone(), d));
        }
        for image in std::iter::once(&base.image).chain(with_defaults.iter().map(|(_, d)| &d.image))
        {
            if !images.contains_key(image) {
                images.insert(image.clone(), engine.image_defaults(image).await?);
            }
        }
        with_defaults.sort_by(|a, b| a.0.cmp(&b.0));
        found.push(FoundDecky {
            name: decky.to_string(),
            base: (base.clone(), images[&base.image].clone()),
            services: with_defaults
                .into_iter()
                .map(|(s, d)| {
                    let defaults = images[&d.image].clone();
                    (s, d, defaults)
                })
                .collect(),
        });
    }
    let text = to_toml(&args.fleet, &found);
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
            eprintln!("Wrote {} deckies to {}. Next: deckhand plan -f {p}, then deckhand apply --adopt -f {p}", found.len(), path.display(), p = path.display());
        }
        None => say!("{}", text.trim_end()),
    }
    Ok(ExitCode::SUCCESS)
}
