//! Saved plans (`plan --out FILE`, `apply FILE`), pinned to what they were made from.
//!
//! A saved plan holds a digest of the desired state (every config file and
//! `source`, byte for byte) and a fingerprint of the live state it observed
//! (container ids, spec digests and states, networks, every managed file's
//! digest and metadata, the record). `apply FILE` observes again and refuses
//! when either differs, so what was reviewed is what runs. File contents are
//! never saved: a sensitive file appears only as its size and digest.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::live::LiveState;
use crate::stale::Facts;

/// The version of the saved-plan format.
pub const FORMAT_VERSION: u32 = 1;

/// A plan as written by `plan --out`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format_version: u32,
    pub fleet: String,
    /// The config path, absolute, that the plan was made from.
    pub config: PathBuf,
    pub targets: Vec<String>,
    /// Made by `plan --destroy`: the plan destroys the deckies in scope.
    #[serde(default)]
    pub destroy: bool,
    /// With `destroy`: the declared networks are removed too.
    #[serde(default)]
    pub networks: bool,
    pub desired_digest: String,
    pub live_fingerprint: String,
    /// The facts the fingerprint was made from: a stale plan names what changed.
    #[serde(default)]
    pub live: Facts,
    /// sha256 of each config input, by path: a stale plan names the file that changed.
    #[serde(default)]
    pub inputs: std::collections::BTreeMap<String, String>,
    /// The plan as `--format json` renders it: the steps that will run.
    pub plan: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    #[error("cannot read plan file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a deckhand plan file ({message})")]
    Format { path: PathBuf, message: String },
}

impl SavedPlan {
    pub fn read(path: &Path) -> Result<SavedPlan, SavedPlanError> {
        let text = std::fs::read_to_string(path).map_err(|source| SavedPlanError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let saved: SavedPlan = serde_json::from_str(&text).map_err(|e| SavedPlanError::Format {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if saved.format_version != FORMAT_VERSION {
            return Err(SavedPlanError::Format {
                path: path.to_path_buf(),
                message: format!(
                    "format_version {} is not {FORMAT_VERSION}",
                    saved.format_version
                ),
            });
        }
        Ok(saved)
    }
}

/// sha256 over every input file's path and bytes, in order.
pub fn desired_digest(inputs: &[PathBuf]) -> std::io::Result<String> {
    let mut h = Sha256::new();
    for path in inputs {
        h.update(path.to_string_lossy().as_bytes());
        h.update([0]);
        let bytes = std::fs::read(path)?;
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(hex::encode(h.finalize()))
}

/// sha256 over everything observed that a plan depends on.
pub fn live_fingerprint(live: &LiveState) -> String {
    crate::stale::digest(&crate::stale::live_facts(live))
}

/// The live fingerprint of a run over several engines: with one engine, that
/// engine's own fingerprint; else a digest of each host's, by host.
pub fn hosts_fingerprint(lives: &[(&str, &LiveState)]) -> String {
    match lives {
        [(_, live)] => live_fingerprint(live),
        _ => {
            let lines: Vec<String> = lives
                .iter()
                .map(|(host, live)| format!("{host} {}", live_fingerprint(live)))
                .collect();
            hex::encode(Sha256::digest(lines.join("\n").as_bytes()))
        }
    }
}
