//! The record of files deckhand dropped, kept with the engine (SPEC §2).
//!
//! Each generation is one never-started holder container named
//! `deckhand.record.<fleet>.<generation>` whose labels carry the list of
//! (container, path) pairs. A new generation is created before the old ones
//! are removed, so a kill at any moment leaves a complete record readable;
//! readers take the newest. Paths only: never content.

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::{ContainerInfo, Engine, EngineError};
use crate::{holder, labels};

const GENERATION: &str = "deckhand.record.generation";
const FILES: &str = "deckhand.record.files";
const ADOPTED: &str = "deckhand.record.adopted";
const WRITTEN: &str = "deckhand.record.written";

/// (container, path) of a file.
pub type FileKey = (String, String);

/// One generation of the record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileRecord {
    pub generation: u64,
    /// (container, path) of every file deckhand dropped and has not deleted.
    pub files: BTreeSet<(String, String)>,
    /// Containers made by DECNET and taken over by `apply --adopt`: name to id.
    pub adopted: BTreeMap<String, String>,
    /// The sha256 of what deckhand last wrote to each file (never the content):
    /// live content that is neither this nor the declared content is someone
    /// else's, and is kept as evidence before it is overwritten.
    pub written: BTreeMap<FileKey, Written>,
}

/// What deckhand last wrote to a file: its content's sha256 and its mode and
/// owner (a change of those by the operator is not drift).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub sha256: String,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
}

/// The digest the record keeps of written content: sha256, hex.
pub fn content_digest(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn holder_name(fleet: &str, generation: u64) -> String {
    format!("deckhand.record.{fleet}.{generation}")
}

/// The newest complete record among `containers` (this fleet's), if any.
pub fn newest(containers: &[ContainerInfo]) -> Option<FileRecord> {
    containers
        .iter()
        .filter(|c| c.labels.get(labels::HOLDER).map(String::as_str) == Some("record"))
        .filter_map(|c| {
            let generation = c.labels.get(GENERATION)?.parse().ok()?;
            let files: Vec<(String, String)> = serde_json::from_str(c.labels.get(FILES)?).ok()?;
            let adopted = match c.labels.get(ADOPTED) {
                Some(a) => serde_json::from_str(a).ok()?,
                None => BTreeMap::new(),
            };
            // Records before digests were kept have none: nothing was written, as far as they know.
            let written: Vec<(String, String, String, u32, u64, u64)> = match c.labels.get(WRITTEN)
            {
                Some(w) => serde_json::from_str(w).ok()?,
                None => Vec::new(),
            };
            let written = written.into_iter().map(|(c, p, sha256, mode, uid, gid)| {
                (
                    (c, p),
                    Written {
                        sha256,
                        mode,
                        uid,
                        gid,
                    },
                )
            });
            Some(FileRecord {
                generation,
                files: files.into_iter().collect(),
                adopted,
                written: written.collect(),
            })
        })
        .max_by_key(|r| r.generation)
}

/// Writes `next` (its files, adoptions and digests) as the generation after
/// `previous`, then removes older generations.
pub async fn write(
    engine: &Engine,
    fleet: &str,
    previous: Option<&FileRecord>,
    next: &FileRecord,
) -> Result<FileRecord, EngineError> {
    let generation = previous.map(|r| r.generation + 1).unwrap_or(1);
    let extra = labels_of(generation, next);
    let name = holder_name(fleet, generation);
    match holder::create(engine, &name, fleet, "record", extra.clone()).await {
        Ok(()) => {}
        // A leftover from a run killed after creating this generation but
        // before removing the one before: replace it with this content.
        Err(e) if e.is_conflict() => {
            engine.remove_container(&name).await?;
            holder::create(engine, &name, fleet, "record", extra).await?;
        }
        Err(e) => return Err(e),
    }
    remove_older(engine, fleet, generation).await?;
    Ok(FileRecord {
        generation,
        ..next.clone()
    })
}

/// The labels that carry a generation of the record.
fn labels_of(generation: u64, record: &FileRecord) -> BTreeMap<String, String> {
    let files: Vec<&FileKey> = record.files.iter().collect();
    let mut labels = BTreeMap::from([
        (GENERATION.to_string(), generation.to_string()),
        (
            FILES.to_string(),
            serde_json::to_string(&files).expect("paths serialise"),
        ),
    ]);
    if !record.adopted.is_empty() {
        let adopted = serde_json::to_string(&record.adopted).expect("names serialise");
        labels.insert(ADOPTED.to_string(), adopted);
    }
    if !record.written.is_empty() {
        let written: Vec<(&str, &str, &str, u32, u64, u64)> = record
            .written
            .iter()
            .map(|((c, p), w)| {
                (
                    c.as_str(),
                    p.as_str(),
                    w.sha256.as_str(),
                    w.mode,
                    w.uid,
                    w.gid,
                )
            })
            .collect();
        labels.insert(
            WRITTEN.to_string(),
            serde_json::to_string(&written).expect("digests serialise"),
        );
    }
    labels
}

/// Removes the generations of `fleet`'s record before `generation`.
async fn remove_older(engine: &Engine, fleet: &str, generation: u64) -> Result<(), EngineError> {
    for old in engine
        .list_containers(Some(&labels::fleet_filter(fleet)))
        .await?
    {
        let old_generation: Option<u64> = old.labels.get(GENERATION).and_then(|g| g.parse().ok());
        if old.labels.get(labels::HOLDER).map(String::as_str) == Some("record")
            && old_generation.is_some_and(|g| g < generation)
        {
            engine.remove_container(&old.name).await?;
        }
    }
    Ok(())
}

/// Removes every generation of `fleet`'s record (`deckhand destroy` of the
/// whole fleet); returns how many there were.
pub async fn remove_all(engine: &Engine, fleet: &str) -> Result<usize, EngineError> {
    let mut removed = 0;
    for c in engine
        .list_containers(Some(&labels::fleet_filter(fleet)))
        .await?
    {
        if c.labels.get(labels::HOLDER).map(String::as_str) == Some("record") {
            engine.remove_container(&c.name).await?;
            removed += 1;
        }
    }
    Ok(removed)
}
