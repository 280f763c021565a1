//! `deckhand lint`: the realism lint, offline. Exits 1 with findings (2
//! with `--detailed-exitcode`, so that 1 stays an invalid file).

use std::process::ExitCode;

use serde_json::json;

use crate::cli::LintArgs;
use crate::lint::{self, Finding};
use crate::safe::escape;

pub fn run(args: &LintArgs) -> anyhow::Result<ExitCode> {
    let loaded = super::load(&args.config.file)?;
    let fleet = &loaded.desired.fleet;
    let findings = lint::lint(&loaded.desired);
    if args.format == crate::cli::ReportFormat::Json {
        let v = json!({"fleet": fleet, "findings": findings});
        say!("{}", crate::safe::json::to_string_pretty(&v)?);
    } else {
        for f in &findings {
            say!("{}", text(f));
        }
        match findings.len() {
            0 => say!("No giveaways found in fleet '{fleet}'."),
            n => say!("{n} finding(s) in fleet '{fleet}': each gives a decoy away."),
        }
    }
    Ok(match (findings.is_empty(), args.detailed_exitcode) {
        (true, _) => ExitCode::SUCCESS,
        (false, false) => ExitCode::from(1),
        (false, true) => ExitCode::from(2),
    })
}

/// `decky D, file F: kind: message` and the fix below it.
fn text(f: &Finding) -> String {
    let file = f
        .file
        .as_deref()
        .map(|p| format!(", file {p}"))
        .unwrap_or_default();
    let line = format!(
        "decky {}{file}: {}: {}",
        f.decky,
        f.kind.as_str(),
        f.message
    );
    format!("{}\n  fix: {}", escape(&line), escape(&f.fix))
}
