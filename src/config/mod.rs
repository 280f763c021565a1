//! Reading the desired-state file(s) into a validated [`DesiredState`].
//!
//! `-f` names a file, or a directory whose `*.toml` files (in name order) form
//! one desired state. Every problem found is reported at once, each with its
//! file, line and column.

mod beside;
mod budget;
mod canary;
mod catalog;
mod decky;
mod disguise;
mod error;
mod files;
mod hosts;
mod inputs;
mod keys;
mod merge;
mod networks;
mod pull;
pub(crate) mod raw;
mod rotation;
mod settings;
mod source;
mod template;
mod validate;
pub mod values;

use std::path::{Path, PathBuf};

pub use error::{ConfigError, Diagnostic, Location};
pub use source::SourceFile;

use crate::desired::DesiredState;
use crate::hosts::Hosts;

/// Largest `source` file accepted, in bytes (64 MiB).
pub const MAX_SOURCE_BYTES: u64 = 64 * 1024 * 1024;

/// A loaded desired state and the files it came from (for watch and saved plans).
#[derive(Debug)]
pub struct Loaded {
    pub desired: DesiredState,
    /// The engines the fleet runs on, and which decky runs where.
    pub hosts: Hosts,
    /// The TOML files and every `source` they name, canonicalised.
    pub inputs: Vec<PathBuf>,
    /// The canaries planted in the fleet's files, with their tokens.
    pub canaries: crate::canary::Canaries,
    /// Accepted, but worth saying (`privileged`, `devices`); printed by `load`.
    pub warnings: Vec<error::Diagnostic>,
}

/// Reads and validates the config at `path` (a file or a directory), as
/// desired now.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    load_at(path, time::OffsetDateTime::now_utc().unix_timestamp())
}

/// Reads and validates the config at `path` as desired at `at` (Unix
/// seconds): `[rotation]`'s choice depends on the time.
pub fn load_at(path: &Path, at: i64) -> Result<Loaded, ConfigError> {
    let files = config_files(path)?;
    let mut sources = Vec::with_capacity(files.len());
    let mut not_utf8 = Vec::new();
    for file in files {
        let bytes = std::fs::read(&file).map_err(|error| ConfigError::Read {
            path: file.clone(),
            error,
        })?;
        match String::from_utf8(bytes) {
            Ok(text) => sources.push(SourceFile::new(file, text)),
            Err(e) => not_utf8.push(not_utf8_problem(file, &e)),
        }
    }
    if !not_utf8.is_empty() {
        // The other files' own problems are told in the same run.
        not_utf8.extend(sources.iter().flat_map(keys::check));
        return Err(ConfigError::Invalid(not_utf8));
    }
    let loaded = validate::validate(&sources, at)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    Ok(loaded)
}

/// Where a file stops being UTF-8.
fn not_utf8_problem(file: PathBuf, e: &std::string::FromUtf8Error) -> Diagnostic {
    let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
    let src = SourceFile::new(file, String::from_utf8_lossy(valid).into_owned());
    let at = valid.len();
    src.diagnostic(
        &(at..at),
        "the file is not valid UTF-8",
        Some("save it as UTF-8; binary bait belongs in content_b64 or a source file".into()),
    )
}

fn config_files(path: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let read_err = |error| ConfigError::Read {
        path: path.to_path_buf(),
        error,
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let p = entry.path();
        if p.extension().is_some_and(|e| e == "toml") && p.is_file() {
            files.push(p);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(ConfigError::EmptyDirectory(path.to_path_buf()));
    }
    Ok(files)
}

/// Loads a fleet whose `[fleet]` table ends with `extra` (for tests of its keys).
#[cfg(test)]
pub(crate) fn load_fleet_with(extra: &str) -> Result<Loaded, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deckhand.toml");
    let text = format!("[fleet]\nname = \"corp\"\nbase_image = \"img:1\"\n{extra}\n");
    std::fs::write(&path, text).unwrap();
    load(&path).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn a_directory_of_toml_files_forms_one_desired_state() {
        let dir = dir_with(&[
            (
                "00-fleet.toml",
                "[fleet]\nname = \"corp\"\nbase_image = \"img:1\"\n",
            ),
            ("10-catalog.toml", "[services.ssh]\nimage = \"ssh:1\"\n"),
            (
                "20-deckies.toml",
                "[deckies.web-01]\nservices = [\"ssh\"]\n",
            ),
            ("notes.txt", "not toml"),
        ]);
        let loaded = load(dir.path()).unwrap();
        let names: Vec<&str> = loaded
            .desired
            .containers
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, vec!["web-01", "web-01-ssh"]);
        assert_eq!(loaded.inputs.len(), 3);
    }

    #[test]
    fn a_decky_defined_in_two_files_names_both() {
        let dir = dir_with(&[
            ("a.toml", "[fleet]\nname = \"corp\"\nbase_image = \"img:1\"\n\n[deckies.web-01]\nservices = []\n"),
            ("b.toml", "[deckies.web-01]\nservices = []\n"),
        ]);
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("b.toml:1:10: decky 'web-01' is defined twice: here and at"),
            "{err}"
        );
        assert!(err.contains("a.toml:5:10"), "{err}");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let dir = dir_with(&[("deckhand.toml", "[fleet]\nname = \"corp\"\nbase_image = \"img:1\"\n\n[deckies.web-01]\nservices = [\"nope\"]\nip = \"x\"\n")]);
        let err = load(&dir.path().join("deckhand.toml")).unwrap_err();
        assert_eq!(err.diagnostics().len(), 2, "{err}");
    }
}
