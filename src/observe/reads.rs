//! Which archive reads to make for the files wanted, and making them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::engine::{Engine, EngineError};
use crate::live::LiveFile;

use super::tar::{parse_tar, Entries};

/// Archive reads in flight at once (DESIGN: the engine saturates around 8).
const READS_IN_FLIGHT: usize = 8;

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
pub(super) const FILE_READ_CAP: usize = 1024 * 1024 * 1024;

/// The directory of an absolute path (`/` for a top-level one).
pub(super) fn parent(path: &str) -> &str {
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

/// The reads for `wanted` (per container, the paths), grouped by directory.
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

/// One read per file.
fn one_by_one(container: &str, files: BTreeSet<String>) -> impl Iterator<Item = Read> + '_ {
    files.into_iter().map(move |f| Read {
        container: container.to_string(),
        path: f.clone(),
        wanted: BTreeSet::from([f]),
    })
}

/// Reads every wanted file back; a group over the cap is read file by file.
pub async fn read_files(
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
    // A lone file whose parent is not a directory: name what is in the way.
    let unreadable = files.iter().filter_map(|((c, p), f)| match f {
        LiveFile::Unreadable(m) if m.contains("not a directory") => Some((c.clone(), p.clone())),
        _ => None,
    });
    for (container, path) in unreadable.collect::<Vec<_>>() {
        if let Some((by, kind)) = blocker(engine, &container, &path).await {
            files.insert((container, path), LiveFile::Blocked { by, kind });
        }
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

/// Files what one read found, each present, missing or unreadable.
fn record_read(
    files: &mut BTreeMap<(String, String), LiveFile>,
    read: Read,
    result: Result<Option<Vec<u8>>, EngineError>,
) {
    let entries = match result {
        Ok(Some(tar)) => parse_tar(&tar, parent(&read.path), &read.wanted)
            .map_err(|e| format!("unreadable archive: {e}")),
        Ok(None) => Ok(Entries::default()),
        Err(e) => Err(e.to_string()),
    };
    for path in read.wanted {
        let state = match &entries {
            Ok(entries) => match (entries.found.get(&path), entries.blocking(&path)) {
                (Some(state), _) => LiveFile::Present(state.clone()),
                (None, Some((by, kind))) => LiveFile::Blocked {
                    by: by.clone(),
                    kind: kind.clone(),
                },
                (None, None) => LiveFile::Missing,
            },
            Err(message) => LiveFile::Unreadable(message.clone()),
        };
        files.insert((read.container.clone(), path), state);
    }
}

/// Whether a read failed because a parent of the path is not a directory.
fn not_a_directory(result: &Result<Option<Vec<u8>>, EngineError>) -> bool {
    matches!(result, Err(e) if e.to_string().contains("not a directory"))
}

/// The parent of `path` in `container` that is not a directory, and its kind:
/// looked for upwards, one read each, until a directory is met.
async fn blocker(engine: &Engine, container: &str, path: &str) -> Option<(String, String)> {
    let mut dir = parent(path);
    while dir != "/" {
        let result = engine.download(container, dir, GROUP_READ_CAP).await;
        if !not_a_directory(&result) {
            let tar = result.ok()??;
            let wanted = BTreeSet::from([dir.to_string()]);
            let entries = parse_tar(&tar, parent(dir), &wanted).ok()?;
            let kind = &entries.found.get(dir)?.kind;
            return (kind != "directory").then(|| (dir.to_string(), kind.clone()));
        }
        dir = parent(dir);
    }
    None
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
