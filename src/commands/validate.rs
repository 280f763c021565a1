use std::process::ExitCode;

use crate::cli::ConfigArgs;
use crate::desired::Ensure;

pub fn run(args: &ConfigArgs) -> anyhow::Result<ExitCode> {
    let loaded = super::load(&args.file)?;
    let d = &loaded.desired;
    let present = d
        .files
        .iter()
        .filter(|f| matches!(f.ensure, Ensure::Present(_)))
        .count();
    say!(
        "{} is valid: fleet '{}', {} deckies, {} containers, {} files ({} absent).",
        args.file.display(),
        d.fleet,
        d.deckies.len(),
        d.containers.len(),
        present,
        d.files.len() - present
    );
    Ok(ExitCode::SUCCESS)
}
