use std::process::ExitCode;

use serde_json::{json, Value};

use crate::cli::ValidateArgs;
use crate::config::{ConfigError, Loaded};
use crate::desired::Ensure;
use crate::render::steps::{count, plural};

pub fn run(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let path = &args.config.file;
    if !args.json() {
        let loaded = super::load(path)?;
        say!("{}", summary(path, &loaded));
        // Valid is not convincing: point to what would give the decoys away.
        match crate::lint::lint(&loaded.desired).len() {
            0 => {}
            n => eprintln!("note: {n} realism finding(s) give a decoy away; see `deckhand lint`"),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (report, code) = match crate::config::load(path) {
        Ok(loaded) => (valid(path, &loaded), ExitCode::SUCCESS),
        Err(e) => (invalid(path, &e), ExitCode::from(1)),
    };
    say!("{report}");
    Ok(code)
}

/// Counts of what the file declares: files present, files to be absent.
fn counts(loaded: &Loaded) -> (usize, usize) {
    let d = &loaded.desired;
    let present = d
        .files
        .iter()
        .filter(|f| matches!(f.ensure, Ensure::Present(_)))
        .count();
    (present, d.files.len() - present)
}

/// `deckhand.toml is valid: fleet 'corp', 2 deckies, 5 containers, 1 file (0 absent).`
fn summary(path: &std::path::Path, loaded: &Loaded) -> String {
    let d = &loaded.desired;
    let (present, absent) = counts(loaded);
    format!(
        "{} is valid: fleet '{}', {}, {}, {} ({absent} absent).",
        path.display(),
        d.fleet,
        count(d.deckies.len(), "decky", "deckies"),
        plural(d.containers.len(), "container"),
        plural(present, "file"),
    )
}

fn valid(path: &std::path::Path, loaded: &Loaded) -> Value {
    let d = &loaded.desired;
    let (present, absent) = counts(loaded);
    json!({
        "format_version": 1,
        "valid": true,
        "file": path.display().to_string(),
        "fleet": d.fleet,
        "deckies": d.deckies.len(),
        "containers": d.containers.len(),
        "files": present,
        "absent": absent,
        "problems": [],
    })
}

/// Every problem found, each with its place and its advice apart.
fn invalid(path: &std::path::Path, e: &ConfigError) -> Value {
    let problems: Vec<Value> = match e.diagnostics() {
        [] => vec![json!({
            "file": null, "line": null, "column": null,
            "message": chain(e), "help": null,
        })],
        found => found
            .iter()
            .map(|d| {
                let at = d.location.as_ref();
                json!({
                    "file": at.map(|l| l.file.display().to_string()),
                    "line": at.map(|l| l.line),
                    "column": at.map(|l| l.column),
                    "message": d.message,
                    "help": d.help,
                })
            })
            .collect(),
    };
    json!({
        "format_version": 1,
        "valid": false,
        "file": path.display().to_string(),
        "problems": problems,
    })
}

/// The error and its causes, as one line: `cannot read x.toml: No such file…`.
fn chain(e: &ConfigError) -> String {
    let mut chain = vec![e.to_string()];
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        chain.push(s.to_string());
        source = s.source();
    }
    chain.join(": ")
}
