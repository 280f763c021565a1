use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::{ExportComposeArgs, ExportDecnetStateArgs};
use crate::desired::Ensure;

pub fn compose(args: &ExportComposeArgs) -> anyhow::Result<ExitCode> {
    let loaded = super::load(&args.config.file)?;
    let Some(part) = loaded
        .hosts
        .split(loaded.desired.clone())
        .into_iter()
        .find(|p| p.host.name == args.host)
    else {
        let known = loaded.hosts.specs.keys().cloned().collect();
        let host = args.host.clone();
        return Err(super::refusal::Refusal::NoHost { host, known }.into());
    };
    let text = crate::safe::json::to_string_pretty(&crate::export::compose(&part.desired))? + "\n";
    match &args.out {
        Some(path) => std::fs::write(path, &text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            use std::io::Write as _;
            let _ = std::io::stdout().write_all(text.as_bytes());
        }
    }
    let files = part
        .desired
        .files
        .iter()
        .filter(|f| matches!(f.ensure, Ensure::Present(_)))
        .count();
    if files > 0 {
        eprintln!("note: {files} bait file(s) are not part of a compose file: after `docker-compose up -d`, run `deckhand apply` to drop them.");
    }
    Ok(ExitCode::SUCCESS)
}

/// `export decnet-state`: DECNET's state file, for its sniffer, collector and dashboard.
pub fn decnet_state(args: &ExportDecnetStateArgs) -> anyhow::Result<ExitCode> {
    let loaded = super::load(&args.config.file)?;
    let state = crate::decnet_state::state(&loaded.desired).map_err(anyhow::Error::msg)?;
    let out = args
        .out
        .as_ref()
        .or(loaded.desired.beside.decnet_state.as_ref());
    match out {
        Some(path) => crate::decnet_state::write(path, &state)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => println!("{}", serde_json::to_string_pretty(&state)?),
    }
    Ok(ExitCode::SUCCESS)
}
