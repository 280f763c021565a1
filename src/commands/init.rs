//! `deckhand init`: a starter deckhand.toml that validates and plans, and a
//! .gitignore that keeps `.deckhand/` (evidence: an intruder's bytes) out of git.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context as _};

use crate::cli::InitArgs;

/// One starter: the TOML (`{fleet}` filled in) and the files it names.
struct Example {
    name: &'static str,
    about: &'static str,
    toml: &'static str,
    files: &'static [(&'static str, &'static [u8])],
}

const EXAMPLES: &[Example] = &[
    Example {
        name: "minimal",
        about: "one decky with a web server and a bait page",
        toml: include_str!("starter/minimal.toml"),
        files: &[],
    },
    Example {
        name: "quickstart",
        about: "the README's fleet: three deckies on two LANs, personas, bait files (its images come from scripts/images.sh)",
        toml: include_str!("../../examples/quickstart/deckhand.toml"),
        files: &[
            (
                "files/bash_history",
                include_bytes!("../../examples/quickstart/files/bash_history"),
            ),
            (
                "files/backup-agent.bin",
                include_bytes!("../../examples/quickstart/files/backup-agent.bin"),
            ),
        ],
    },
];

/// Where a starter's seed for templated bait is made (0600, under the ignored `.deckhand/`).
const SEED: &str = ".deckhand/seed";
const SEED_LINE: &str = "seed_file = \".deckhand/seed\"";

/// What `.gitignore` must hold.
pub const IGNORED: &str = ".deckhand/";

pub fn run(args: &InitArgs) -> anyhow::Result<ExitCode> {
    let example = find(&args.example)?;
    let dir = Path::new(".");
    let config = dir.join("deckhand.toml");
    if config.exists() {
        let (path, help) = ("deckhand.toml".into(), super::refusal::INIT_EXISTS);
        return Err(super::refusal::Refusal::Exists { path, help }.into());
    }
    let fleet = fleet_name(dir);
    for (path, bytes) in example.files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let text = example.toml.replace("{fleet}", &fleet);
    std::fs::write(&config, text).context("cannot write deckhand.toml")?;
    if example.toml.contains(SEED_LINE) {
        let seed = dir.join(SEED);
        crate::craft::seed::create_if_missing(&seed)
            .with_context(|| format!("cannot create the seed {}", seed.display()))?;
    }
    let fleet = super::load(&config)?.desired.fleet;
    let ignore = ignore(&dir.join(".gitignore"))?;
    say!("Wrote deckhand.toml (example '{}', fleet '{fleet}'){ignore}.\nNext: deckhand validate, then deckhand plan.", example.name);
    Ok(ExitCode::SUCCESS)
}

fn find(name: &str) -> anyhow::Result<&'static Example> {
    match EXAMPLES.iter().find(|e| e.name == name) {
        Some(e) => Ok(e),
        None => {
            let known: Vec<String> = EXAMPLES
                .iter()
                .map(|e| format!("{} ({})", e.name, e.about))
                .collect();
            bail!(
                "no example '{name}'\n  help: the examples are: {}",
                known.join("; ")
            )
        }
    }
}

/// The fleet is named after the directory (`corp-decoys`), else `starter`.
fn fleet_name(dir: &Path) -> String {
    let name = std::path::absolute(dir)
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().to_lowercase()))
        .unwrap_or_default();
    let name: String = name
        .chars()
        .map(|c| match c.is_ascii_alphanumeric() || "_.-".contains(c) {
            true => c,
            false => '-',
        })
        .take(20)
        .collect();
    match crate::config::values::fleet_name(&name) {
        Ok(()) => name,
        Err(_) => "starter".to_string(),
    }
}

/// Adds `.deckhand/` to `.gitignore` unless a line holds it; says what it did.
fn ignore(path: &Path) -> anyhow::Result<String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let held = |l: &str| matches!(l.trim(), ".deckhand/" | ".deckhand" | "/.deckhand/");
    if text.lines().any(held) {
        return Ok(String::new());
    }
    let mut text = text;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text += "# deckhand's evidence (an intruder's files, sensitive bytes too): never commit it\n";
    text += IGNORED;
    text.push('\n');
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(" and .gitignore (holds .deckhand/, where evidence is kept)".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_starter_loads_as_a_valid_file() {
        for example in EXAMPLES {
            let dir = tempfile::tempdir().unwrap();
            for (path, bytes) in example.files {
                let path = dir.path().join(path);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, bytes).unwrap();
            }
            let config = dir.path().join("deckhand.toml");
            std::fs::write(&config, example.toml.replace("{fleet}", "t")).unwrap();
            if example.toml.contains(SEED_LINE) {
                crate::craft::seed::create_if_missing(&dir.path().join(SEED)).unwrap();
            }
            if let Err(e) = crate::config::load(&config) {
                panic!("example {} does not load: {e}", example.name);
            }
        }
    }

    #[test]
    fn a_gitignore_gets_the_line_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".gitignore");
        std::fs::write(&path, "target").unwrap();
        assert!(!ignore(&path).unwrap().is_empty());
        assert_eq!(ignore(&path).unwrap(), "");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("target\n# deckhand's evidence"), "{text}");
        assert_eq!(text.lines().filter(|l| *l == ".deckhand/").count(), 1);
    }
}
