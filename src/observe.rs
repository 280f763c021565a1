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
use crate::live::{LiveContainer, LiveFile, LiveFileState, LiveState, Origin};
use crate::plan::in_targets;
use crate::{adopt, labels, record};

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
pub async fn observe(
    engine: &Engine,
    desired: &DesiredState,
    targets: &[String],
) -> Result<LiveState, ObserveError> {
    let builds = desired.containers.iter().any(|c| c.build.is_some());
    let (all, networks, images) = tokio::try_join!(
        engine.list_containers(None),
        engine.list_networks(),
        async {
            match builds {
                true => engine.built_images(crate::build::REPOSITORY).await,
                false => Ok(Default::default()),
            }
        }
    )?;
    let fleet = desired.fleet.as_str();
    let ours = |c: &ContainerInfo| c.labels.get(labels::FLEET).map(String::as_str) == Some(fleet);

    let (mine, others): (Vec<ContainerInfo>, Vec<ContainerInfo>) = all.into_iter().partition(ours);
    let record = record::newest(&mine);
    let mut containers: BTreeMap<String, LiveContainer> = mine
        .iter()
        .filter(|c| !c.labels.contains_key(labels::HOLDER))
        .map(|c| (c.name.clone(), live_container(c)))
        .collect();

    // Containers with this fleet's names but not its labels: DECNET's (to
    // compare, and to adopt) or someone else's (to refuse).
    let adopted = record.as_ref().map(|r| &r.adopted);
    let mut foreign = Vec::new();
    let mut decnet = Vec::new();
    for c in &others {
        let want = desired.container(&c.name);
        let is_adopted = adopted.and_then(|a| a.get(&c.name)) == Some(&c.id);
        if want.is_none() && !is_adopted {
            continue;
        }
        match c.labels.get(labels::FLEET) {
            Some(other) => foreign.push(format!("{} (fleet '{other}')", c.name)),
            None if is_adopted => decnet.push((c, Origin::Adopted, want)),
            None if adopt::is_decnet(c, &others) => decnet.push((c, Origin::Decnet, want)),
            None => foreign.push(c.name.clone()),
        }
    }
    if !foreign.is_empty() {
        return Err(ObserveError::Foreign(foreign));
    }
    for live in read_decnet(engine, decnet).await? {
        containers.insert(live.name.clone(), live);
    }

    // With targets, only the targeted deckies' files are read: the plan leaves the rest alone.
    let in_scope = |decky: Option<&str>| in_targets(targets, decky);
    let mut wanted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &desired.files {
        if containers.contains_key(&f.container) && in_scope(Some(&f.decky)) {
            wanted
                .entry(f.container.clone())
                .or_default()
                .insert(f.path.clone());
        }
    }
    for (container, path) in record.iter().flat_map(|r| r.files.iter()) {
        if containers
            .get(container)
            .is_some_and(|c| in_scope(c.decky.as_deref()))
        {
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
        images,
    })
}

/// DECNET's containers, each read as the spec deckhand would have written for
/// its place in the file (adopted ones no longer in the file: by name only).
async fn read_decnet(
    engine: &Engine,
    found: Vec<(&ContainerInfo, Origin, Option<&ContainerSpec>)>,
) -> Result<Vec<LiveContainer>, EngineError> {
    let details = futures_util::future::try_join_all(
        found
            .iter()
            .map(|(c, _, _)| engine.container_details(&c.id)),
    )
    .await?;
    let mut images = BTreeMap::new();
    for d in details.iter().flatten() {
        if !images.contains_key(&d.image) {
            images.insert(d.image.clone(), engine.image_defaults(&d.image).await?);
        }
    }
    let mut out = Vec::new();
    for ((c, origin, want), details) in found.into_iter().zip(details) {
        // Gone between the listing and the inspect: as if never listed.
        let Some(details) = details else { continue };
        let spec = want.map(|w| adopt::observed_spec(w, &details, &images[&details.image]));
        let (role, decky, service) = match want {
            Some(w) => (
                w.role,
                w.decky.clone().unwrap_or_default(),
                w.service.clone(),
            ),
            None => adopt::identity(c),
        };
        out.push(LiveContainer {
            id: c.id.clone(),
            name: c.name.clone(),
            role: Some(role),
            decky: (role != Role::Singleton).then_some(decky),
            service,
            state: c.state.clone(),
            digest: spec.as_ref().map(ContainerSpec::digest),
            spec,
            unwritable: unwritable(c),
            origin,
        });
    }
    Ok(out)
}

fn live_container(c: &ContainerInfo) -> LiveContainer {
    let spec: Option<ContainerSpec> = c
        .labels
        .get(labels::SPEC)
        .and_then(|s| serde_json::from_str(s).ok());
    LiveContainer {
        id: c.id.clone(),
        name: c.name.clone(),
        role: c.labels.get(labels::ROLE).and_then(|r| Role::parse(r)),
        decky: c.labels.get(labels::DECKY).cloned(),
        service: c.labels.get(labels::SERVICE).cloned(),
        state: c.state.clone(),
        spec,
        digest: c.labels.get(labels::SPEC_DIGEST).cloned(),
        unwritable: unwritable(c),
        origin: Origin::Deckhand,
    }
}

/// Mount points of `c` where a file cannot be written, with why.
fn unwritable(c: &ContainerInfo) -> Vec<(String, String)> {
    c.mounts
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
        .collect()
}

/// One archive GET: a directory holding several wanted files, or one file.
struct Read {
    container: String,
    path: String,
    wanted: BTreeSet<String>,
}

/// Largest archive of a directory read for several files at once; past it
/// (an intruder's download in a home directory, say) the files are read one by one.
const GROUP_READ_CAP: usize = 16 * 1024 * 1024;
/// Largest archive of a single file read into memory. A live file past it
/// (bait is at most 64 MiB, so this is someone's doing) makes the plan stop
/// with "cannot read" rather than exhaust memory.
const FILE_READ_CAP: usize = 1024 * 1024 * 1024;

fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// Files of one container that can share a read: those under the same
/// directory two levels down (`/home/admin`), or in the same top-level
/// directory (`/etc`). Every archive call costs a helper process in the engine,
/// so one call per home directory beats one per file.
fn group_key(path: &str) -> &str {
    let dir = parent(path);
    match dir.match_indices('/').nth(2) {
        Some((i, _)) => &dir[..i],
        None => dir,
    }
}

/// The deepest directory that holds all `paths`.
fn common_dir(paths: &BTreeSet<String>) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for (n, p) in paths.iter().enumerate() {
        let dir: Vec<&str> = parent(p).split('/').filter(|s| !s.is_empty()).collect();
        if n == 0 {
            parts = dir;
        } else {
            let same = parts.iter().zip(&dir).take_while(|(a, b)| a == b).count();
            parts.truncate(same);
        }
    }
    format!("/{}", parts.join("/"))
}

fn plan_reads(wanted: BTreeMap<String, BTreeSet<String>>) -> Vec<Read> {
    let mut reads = Vec::new();
    for (container, paths) in wanted {
        let mut groups: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for p in &paths {
            groups.entry(group_key(p)).or_default().insert(p.clone());
        }
        for (key, files) in groups {
            // Reading `/` would tar the whole filesystem: read those files one by one.
            if files.len() > 1 && key != "/" {
                reads.push(Read {
                    container: container.clone(),
                    path: common_dir(&files),
                    wanted: files,
                });
            } else {
                reads.extend(one_by_one(&container, files));
            }
        }
    }
    reads
}

fn one_by_one(container: &str, files: BTreeSet<String>) -> impl Iterator<Item = Read> + '_ {
    files.into_iter().map(move |f| Read {
        container: container.to_string(),
        path: f.clone(),
        wanted: BTreeSet::from([f]),
    })
}

async fn read_files(
    engine: &Engine,
    wanted: BTreeMap<String, BTreeSet<String>>,
) -> BTreeMap<(String, String), LiveFile> {
    let mut files = BTreeMap::new();
    let mut retry = Vec::new();
    for (read, result) in run_reads(engine, plan_reads(wanted)).await {
        match result {
            Err(e) if e.is_too_large() && read.wanted.len() > 1 => {
                retry.extend(one_by_one(&read.container, read.wanted));
            }
            result => record_read(&mut files, read, result),
        }
    }
    for (read, result) in run_reads(engine, retry).await {
        record_read(&mut files, read, result);
    }
    files
}

/// Runs `reads`, a bounded number at once.
async fn run_reads(
    engine: &Engine,
    reads: Vec<Read>,
) -> Vec<(Read, Result<Option<Vec<u8>>, EngineError>)> {
    let limit = Arc::new(Semaphore::new(READS_IN_FLIGHT));
    let mut tasks = JoinSet::new();
    for read in reads {
        let engine = engine.clone();
        let limit = limit.clone();
        tasks.spawn(async move {
            let _permit = limit
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let cap = if read.wanted.len() > 1 {
                GROUP_READ_CAP
            } else {
                FILE_READ_CAP
            };
            let result = engine.download(&read.container, &read.path, cap).await;
            (read, result)
        });
    }
    let mut done = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        done.push(joined.expect("a read task does not panic"));
    }
    done
}

fn record_read(
    files: &mut BTreeMap<(String, String), LiveFile>,
    read: Read,
    result: Result<Option<Vec<u8>>, EngineError>,
) {
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

    /// The reads planned for `paths` in one container: (path read, files it covers).
    fn reads_of(paths: &[&str]) -> Vec<(String, usize)> {
        let wanted = BTreeMap::from([(
            "web-01".to_string(),
            paths.iter().map(|p| p.to_string()).collect(),
        )]);
        plan_reads(wanted)
            .into_iter()
            .map(|r| (r.path, r.wanted.len()))
            .collect()
    }

    fn read(path: &str, files: usize) -> (String, usize) {
        (path.to_string(), files)
    }

    #[test]
    fn reads_group_files_by_directory_but_never_read_the_root() {
        assert_eq!(
            reads_of(&["/home/a/x", "/home/a/y", "/etc/z", "/top1", "/top2"]),
            vec![
                read("/top1", 1),
                read("/top2", 1),
                read("/etc/z", 1),
                read("/home/a", 2),
            ]
        );
    }

    #[test]
    fn a_home_directory_is_read_once_for_all_its_bait() {
        assert_eq!(
            reads_of(&[
                "/home/admin/.bash_history",
                "/home/admin/.ssh/id_rsa",
                "/home/admin/.aws/credentials",
                "/home/admin/notes/2025/passwords.txt",
                "/home/bob/.bash_history",
                "/etc/motd",
                "/etc/ssh/sshd_config",
                "/root/.aws/credentials",
                "/root/.aws/config",
            ]),
            vec![
                read("/etc/motd", 1),
                read("/etc/ssh/sshd_config", 1),
                read("/home/admin", 4),
                read("/home/bob/.bash_history", 1),
                read("/root/.aws", 2),
            ]
        );
    }
}
