use std::process::ExitCode;

use crate::cli::LintArgs;

pub fn run(_args: &LintArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("lint: not built yet")
}
