//! Observation: reads one fleet's live state from the engine.
//!
//! One container listing, one network listing, and one archive read per
//! directory (or lone file) holding managed files, bounded in flight.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::desired::{ContainerSpec, DesiredState, Role};
use crate::engine::{ContainerInfo, Engine, EngineError};
use crate::live::{LiveContainer, LiveFile, LiveFileState, LiveState};
use crate::{labels, record};

/// Archive reads in flight at once (DESIGN: the engine saturates around 8).
const READS_IN_FLIGHT: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error("{}", foreign_message(.0))]
    Foreign(Vec<String>),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

fn foreign_message(names: &[String]) -> String {
    format!(
        "container name(s) that this fleet manages are taken by containers that are not this fleet's: {}\n  help: nothing was changed; rename or remove those containers, or rename the deckies or services",
        names.join(", ")
    )
}

/// Reads the live state of `desired.fleet`.
pub async fn observe(engine: &Engine, desired: &DesiredState) -> Result<LiveState, ObserveError> {
    let (all, networks) = tokio::try_join!(engine.list_containers(None), engine.list_networks())?;
    let fleet = desired.fleet.as_str();
    let ours = |c: &ContainerInfo| c.labels.get(labels::FLEET).map(String::as_str) == Some(fleet);

    let foreign: Vec<String> = all
        .iter()
        .filter(|c| !ours(c) && desired.container(&c.name).is_some())
        .map(|c| match c.labels.get(labels::FLEET) {
            Some(other) => format!("{} (fleet '{other}')", c.name),
            None => c.name.clone(),
        })
        .collect();
    if !foreign.is_empty() {
        return Err(ObserveError::Foreign(foreign));
    }

    let mine: Vec<ContainerInfo> = all.into_iter().filter(|c| ours(c)).collect();
    let record = record::newest(&mine);
    let containers: BTreeMap<String, LiveContainer> = mine
        .iter()
        .filter(|c| !c.labels.contains_key(labels::HOLDER))
        .map(|c| (c.name.clone(), live_container(c)))
        .collect();

    let mut wanted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &desired.files {
        if containers.contains_key(&f.container) {
            wanted
                .entry(f.container.clone())
                .or_default()
                .insert(f.path.clone());
        }
    }
    for (container, path) in record.iter().flat_map(|r| r.files.iter()) {
        if containers.contains_key(container) {
            wanted
                .entry(container.clone())
                .or_default()
                .insert(path.clone());
        }
    }
    let files = read_files(engine, wanted).await;

    Ok(LiveState {
        containers,
        networks: networks.into_iter().map(|n| n.name).collect(),
        files,
        record,
    })
}

fn live_container(c: &ContainerInfo) -> LiveContainer {
    let spec: Option<ContainerSpec> = c
        .labels
        .get(labels::SPEC)
        .and_then(|s| serde_json::from_str(s).ok());
    let unwritable = c
        .mounts
        .iter()
        .filter_map(|m| {
            let why = if m.kind == "tmpfs" {
                "a tmpfs mount, invisible to the archive API"
            } else if !m.read_write {
                "a read-only mount"
            } else if m.kind == "bind" {
                "a bind mount from the host"
            } else {
                return None;
            };
            Some((m.destination.clone(), why.to_string()))
        })
        .collect();
    LiveContainer {
        id: c.id.clone(),
        name: c.name.clone(),
        role: c.labels.get(labels::ROLE).and_then(|r| Role::parse(r)),
        decky: c.labels.get(labels::DECKY).cloned(),
        service: c.labels.get(labels::SERVICE).cloned(),
        state: c.state.clone(),
        spec,
        digest: c.labels.get(labels::SPEC_DIGEST).cloned(),
        unwritable,
    }
}

/// One archive GET: a directory holding several wanted files, or one file.
struct Read {
    container: String,
    path: String,
    wanted: BTreeSet<String>,
}

fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

fn plan_reads(wanted: BTreeMap<String, BTreeSet<String>>) -> Vec<Read> {
    let mut reads = Vec::new();
    for (container, paths) in wanted {
        let mut by_dir: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for p in &paths {
            by_dir.entry(parent(p)).or_default().insert(p.clone());
        }
        for (dir, files) in by_dir {
            // Reading `/` would tar the whole filesystem: read those files one by one.
            if files.len() > 1 && dir != "/" {
                reads.push(Read {
                    container: container.clone(),
                    path: dir.to_string(),
                    wanted: files,
                });
            } else {
                for f in files {
                    reads.push(Read {
                        container: container.clone(),
                        path: f.clone(),
                        wanted: BTreeSet::from([f]),
                    });
                }
            }
        }
    }
    reads
}

async fn read_files(
    engine: &Engine,
    wanted: BTreeMap<String, BTreeSet<String>>,
) -> BTreeMap<(String, String), LiveFile> {
    let limit = Arc::new(Semaphore::new(READS_IN_FLIGHT));
    let mut tasks = JoinSet::new();
    for read in plan_reads(wanted) {
        let engine = engine.clone();
        let limit = limit.clone();
        tasks.spawn(async move {
            let _permit = limit
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let result = engine.download(&read.container, &read.path).await;
            (read, result)
        });
    }
    let mut files = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        let (read, result) = joined.expect("a read task does not panic");
        let found = match result {
            Ok(Some(tar)) => parse_tar(&tar, parent(&read.path), &read.wanted)
                .map_err(|e| format!("unreadable archive: {e}")),
            Ok(None) => Ok(BTreeMap::new()),
            Err(e) => Err(e.to_string()),
        };
        for path in read.wanted {
            let state = match &found {
                Ok(map) => map
                    .get(&path)
                    .cloned()
                    .map(LiveFile::Present)
                    .unwrap_or(LiveFile::Missing),
                Err(message) => LiveFile::Unreadable(message.clone()),
            };
            files.insert((read.container.clone(), path), state);
        }
    }
    files
}

/// Picks the `wanted` entries out of a tar whose entry names are relative to `base`.
fn parse_tar(
    tar: &[u8],
    base: &str,
    wanted: &BTreeSet<String>,
) -> std::io::Result<BTreeMap<String, LiveFileState>> {
    let mut archive = tar::Archive::new(tar);
    let mut out = BTreeMap::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let rel = entry
            .path()?
            .to_string_lossy()
            .trim_end_matches('/')
            .to_string();
        let full = if base == "/" {
            format!("/{rel}")
        } else {
            format!("{base}/{rel}")
        };
        if !wanted.contains(&full) {
            continue;
        }
        let header = entry.header();
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => "file",
            tar::EntryType::Directory => "directory",
            tar::EntryType::Symlink => "symlink",
            tar::EntryType::Link => "hard link",
            _ => "special file",
        }
        .to_string();
        let (mode, uid, gid, mtime) = (
            header.mode()? & 0o7777,
            header.uid()?,
            header.gid()?,
            header.mtime()? as i64,
        );
        let mut bytes = Vec::new();
        if kind == "file" {
            std::io::Read::read_to_end(&mut entry, &mut bytes)?;
        }
        out.insert(
            full,
            LiveFileState {
                kind,
                bytes,
                mode,
                uid,
                gid,
                mtime,
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_group_files_by_directory_but_never_read_the_root() {
        let wanted = BTreeMap::from([(
            "web-01".to_string(),
            BTreeSet::from([
                "/home/a/x".to_string(),
                "/home/a/y".to_string(),
                "/etc/z".to_string(),
                "/top1".to_string(),
                "/top2".to_string(),
            ]),
        )]);
        let reads: Vec<(String, usize)> = plan_reads(wanted)
            .into_iter()
            .map(|r| (r.path, r.wanted.len()))
            .collect();
        assert_eq!(
            reads,
            vec![
                ("/top1".to_string(), 1),
                ("/top2".to_string(), 1),
                ("/etc/z".to_string(), 1),
                ("/home/a".to_string(), 2),
            ]
        );
    }
}
