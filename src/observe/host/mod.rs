//! Reading bait files from the host (SPEC §10): through each running
//! container's root as the host sees it, instead of one engine archive call
//! (a helper process in the daemon) per container.
//!
//! Used when the engine is reached through a local socket, deckhand is root,
//! and `DECKHAND_READ` is not `engine`; per container, when it is running and
//! its first process is proven to be its own, in its own root filesystem
//! ([`root`]). Anything else (a stopped container, a pid that is not the
//! container's, a chrooted first process, a kernel without `openat2`) leaves
//! that container to the engine path, and `--verbose` says why.

pub mod first_seen;
mod read;
mod root;
pub mod sessions;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use tokio::task::JoinSet;

use crate::engine::Engine;
use crate::live::{LiveContainer, LiveFile};

pub use root::{IdMap, Root};

/// The directory `dir` (absolute) inside `root`, opened `O_PATH` the way a
/// read reaches it: beneath the root, through no symlink.
pub fn open_dir(root: &Root, dir: &str) -> Result<std::os::fd::OwnedFd, String> {
    let parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    read::walk(root, &parts).map_err(|found| match found {
        crate::live::LiveFile::Missing => format!("{dir} is missing"),
        crate::live::LiveFile::Blocked { by, kind } => format!("a {kind} stands at {by}"),
        other => format!("{dir}: {other:?}"),
    })
}

/// Containers of one decky read at once: each costs one inspect (for its
/// pid) on the engine.
const CONTAINERS_IN_FLIGHT: usize = 4;

/// Why host reads are not used at all, if they are not.
pub fn unavailable(engine: &Engine) -> Option<String> {
    if std::env::var("DECKHAND_READ").is_ok_and(|v| v == "engine") {
        return Some("DECKHAND_READ=engine".into());
    }
    if !engine.endpoint().starts_with("unix://") {
        return Some(format!("the engine at {} is not local", engine.endpoint()));
    }
    if !rustix::process::geteuid().is_root() {
        return Some("deckhand is not root".into());
    }
    None
}

/// Files read per (container, path).
pub type Files = BTreeMap<(String, String), LiveFile>;

/// Reads what it can of `wanted` from the host, keeping `keep` bytes of
/// each file's head, until `deadline`; returns what it read, and the
/// containers (with their paths) left for the engine.
pub async fn read_files(
    engine: &Engine,
    containers: &BTreeMap<String, LiveContainer>,
    wanted: BTreeMap<String, BTreeSet<String>>,
    keep: usize,
    deadline: Instant,
) -> (Files, BTreeMap<String, BTreeSet<String>>) {
    let mut left = BTreeMap::new();
    let mut tasks = JoinSet::new();
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(CONTAINERS_IN_FLIGHT));
    for (name, paths) in wanted {
        let Some(c) = containers.get(&name).filter(|c| c.is_running()) else {
            crate::verbose!("read {name}: through the engine (not running)");
            left.insert(name, paths);
            continue;
        };
        let (engine, id, limit) = (engine.clone(), c.id.clone(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let result = read_container(&engine, &id, &paths, keep, deadline).await;
            (name, paths, result)
        });
    }
    let mut files = Files::new();
    while let Some(joined) = tasks.join_next().await {
        let (name, paths, result) = joined.expect("a read task does not panic");
        match result {
            Ok(read) => {
                crate::verbose!(
                    "read {name}: from the host ({})",
                    crate::render::steps::plural(read.len(), "file")
                );
                files.extend(read.into_iter().map(|(p, f)| ((name.clone(), p), f)));
            }
            Err(why) => {
                crate::verbose!("read {name}: through the engine ({why})");
                left.insert(name, paths);
            }
        }
    }
    (files, left)
}

/// Every path of one container, read through its root until `deadline`.
async fn read_container(
    engine: &Engine,
    id: &str,
    paths: &BTreeSet<String>,
    keep: usize,
    deadline: Instant,
) -> Result<Vec<(String, LiveFile)>, String> {
    let pid = engine
        .container_pid(id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("not running")?;
    let (id, paths) = (id.to_string(), paths.clone());
    tokio::task::spawn_blocking(move || {
        let root = Root::open(&id, pid)?;
        let mut read = Vec::new();
        for p in paths {
            // Past its budget the decky is reported; this thread stops too.
            if Instant::now() >= deadline {
                return Err("the decky's read budget ran out".to_string());
            }
            let file = read::read(&root, &p, keep, deadline);
            read.push((p, file));
        }
        Ok(read)
    })
    .await
    .map_err(|e| e.to_string())?
}
