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

/// One generation of the record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileRecord {
    pub generation: u64,
    /// (container, path) of every file deckhand dropped and has not deleted.
    pub files: BTreeSet<(String, String)>,
    /// Containers made by DECNET and taken over by `apply --adopt`: name to id.
    pub adopted: BTreeMap<String, String>,
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
            Some(FileRecord {
                generation,
                files: files.into_iter().collect(),
                adopted,
            })
        })
        .max_by_key(|r| r.generation)
}

/// Writes `files` and `adopted` as the next generation after `previous`,
/// then removes older generations.
pub async fn write(
    engine: &Engine,
    fleet: &str,
    previous: Option<&FileRecord>,
    files: &BTreeSet<(String, String)>,
    adopted: &BTreeMap<String, String>,
) -> Result<FileRecord, EngineError> {
    let generation = previous.map(|r| r.generation + 1).unwrap_or(1);
    let list: Vec<&(String, String)> = files.iter().collect();
    let mut extra = BTreeMap::from([
        (GENERATION.to_string(), generation.to_string()),
        (
            FILES.to_string(),
            serde_json::to_string(&list).expect("paths serialise"),
        ),
    ]);
    if !adopted.is_empty() {
        extra.insert(
            ADOPTED.to_string(),
            serde_json::to_string(adopted).expect("names serialise"),
        );
    }
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
    Ok(FileRecord {
        generation,
        files: files.clone(),
        adopted: adopted.clone(),
    })
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
