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

/// What `.gitignore` must hold, each with the comment written above it.
pub const IGNORED: [(&str, &str); 2] = [
    (
        ".deckhand/",
        "# deckhand's evidence (an intruder's files, sensitive bytes too): never commit it",
    ),
    (
        "deckhand.seed",
        "# the fleet's secret seed (template randoms, canary tokens): never commit it",
    ),
];

pub fn run(args: &InitArgs) -> anyhow::Result<ExitCode> {
    let example = find(&args.example)?;
    let dir = Path::new(".");
    let config = dir.join("deckhand.toml");
    if config.exists() {
        bail!("deckhand.toml exists; nothing was written\n  help: run `deckhand init` in an empty directory, or edit that file");
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
    if text.contains("seed_file = \"deckhand.seed\"") {
        seed(&dir.join("deckhand.seed"))?;
    }
    std::fs::write(&config, text).context("cannot write deckhand.toml")?;
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

/// A new secret seed at `path` (0600, 32 random bytes), unless one is there.
fn seed(path: &Path) -> anyhow::Result<()> {
    use std::io::{Read as _, Write as _};
    use std::os::unix::fs::OpenOptionsExt as _;
    if path.exists() {
        return Ok(());
    }
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut r| r.read_exact(&mut bytes))
        .context("cannot read /dev/urandom for the seed")?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(&bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Adds each line of [`IGNORED`] to `.gitignore` unless a line holds it;
/// says what it did.
fn ignore(path: &Path) -> anyhow::Result<String> {
    let mut text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let held = |text: &str, entry: &str| {
        let bare = entry.trim_end_matches('/');
        text.lines()
            .map(|l| l.trim().trim_start_matches('/').trim_end_matches('/'))
            .any(|l| l == bare)
    };
    let missing: Vec<_> = IGNORED.iter().filter(|(e, _)| !held(&text, e)).collect();
    if missing.is_empty() {
        return Ok(String::new());
    }
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    for (entry, comment) in &missing {
        text += &format!("{comment}\n{entry}\n");
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    let names: Vec<&str> = missing.iter().map(|(e, _)| *e).collect();
    Ok(format!(
        " and .gitignore (holds {}: evidence and the seed stay out of git)",
        names.join(" and ")
    ))
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
            seed(&dir.path().join("deckhand.seed")).unwrap();
            std::fs::write(&config, example.toml.replace("{fleet}", "t")).unwrap();
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
        assert_eq!(text.lines().filter(|l| *l == "deckhand.seed").count(), 1);
    }
}
