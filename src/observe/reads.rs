//! Which archive reads to make for the files wanted, and making them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::engine::{Engine, EngineError};
use crate::live::LiveFile;

use super::tar::{parse_tar, Entries, Keep};

/// Archive reads of one decky in flight at once (DESIGN: the engine
/// saturates around 8; several deckies are read at once).
const READS_IN_FLIGHT: usize = 4;
/// Chunks of an archive between the engine and its parser: what one read
/// holds in memory beside the head it keeps.
const CHUNKS_IN_FLIGHT: usize = 4;

/// One archive GET: a directory holding several wanted files, or one file.
struct Read {
    container: String,
    path: String,
    wanted: BTreeSet<String>,
}

/// Largest archive of a directory read for several files at once; past it
/// (an intruder's download in a home directory, say) the files are read one by one.
const GROUP_READ_CAP: usize = 16 * 1024 * 1024;
/// Largest archive of one path read: declared content (at most 64 MiB) and
/// its headers. A file longer than that is over, and read no further.
const FILE_READ_CAP: u64 = crate::config::MAX_SOURCE_BYTES + 1024 * 1024;

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

/// Reads every wanted file back, keeping `keep` bytes of each head; a group
/// over the cap is read file by file.
pub async fn read_files(
    engine: &Engine,
    wanted: BTreeMap<String, BTreeSet<String>>,
    keep: usize,
) -> BTreeMap<(String, String), LiveFile> {
    let mut files = BTreeMap::new();
    let mut retry = Vec::new();
    for (read, result) in run_reads(engine, plan_reads(wanted), keep).await {
        match result {
            Err(e) if e.is_too_large() && read.wanted.len() > 1 => {
                retry.extend(one_by_one(&read.container, read.wanted));
            }
            result => record_read(&mut files, read, result),
        }
    }
    for (read, result) in run_reads(engine, retry, keep).await {
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

/// What one archive read found: `None` when its path does not exist.
type Found = Result<Option<Entries>, EngineError>;

/// Runs `reads`, a bounded number at once.
async fn run_reads(engine: &Engine, reads: Vec<Read>, keep: usize) -> Vec<(Read, Found)> {
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
            let result = read_archive(&engine, &read, keep).await;
            (read, result)
        });
    }
    let mut done = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        done.push(joined.expect("a read task does not panic"));
    }
    done
}

/// One archive read, parsed as it streams from the engine: memory is a few
/// chunks and the heads kept, whatever the archive holds or claims.
async fn read_archive(engine: &Engine, read: &Read, keep: usize) -> Found {
    let (to, from) = tokio::sync::mpsc::channel(CHUNKS_IN_FLIGHT);
    let one = read.wanted.len() == 1;
    let cap = if one {
        FILE_READ_CAP
    } else {
        GROUP_READ_CAP as u64
    };
    let keep = Keep {
        head: keep,
        first_only: one,
    };
    let (base, wanted) = (parent(&read.path).to_string(), read.wanted.clone());
    let parse = tokio::task::spawn_blocking(move || {
        parse_tar(ChunkReader::new(from), &base, &wanted, keep)
    });
    let found = engine
        .download_into(&read.container, &read.path, cap, to)
        .await;
    let parsed = parse.await.expect("a parse does not panic");
    let unreadable = |e: std::io::Error| EngineError::Api {
        what: format!("read {} in {}", read.path, read.container),
        message: format!("unreadable archive: {e}"),
    };
    match (found, parsed) {
        (Ok(false), _) => Ok(None),
        (Ok(true), parsed) => parsed.map(Some).map_err(unreadable),
        // The one file was read to past the cap before the engine was cut off.
        (Err(e), Ok(entries)) if e.is_too_large() && one && is_over(&entries) => Ok(Some(entries)),
        (Err(e), _) => Err(e),
    }
}

/// Whether the one entry read is a file over the cap (read no further).
fn is_over(entries: &Entries) -> bool {
    let mut found = entries.found.values();
    found.next().is_some_and(|s| s.content.sha256.is_none())
}

/// The chunks of an archive as one `Read`, for the tar parser (blocking).
struct ChunkReader {
    from: tokio::sync::mpsc::Receiver<bytes::Bytes>,
    chunk: bytes::Bytes,
}

impl ChunkReader {
    fn new(from: tokio::sync::mpsc::Receiver<bytes::Bytes>) -> ChunkReader {
        ChunkReader {
            from,
            chunk: bytes::Bytes::new(),
        }
    }
}

impl std::io::Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.from.blocking_recv() {
                Some(chunk) => self.chunk = chunk,
                // The sender is done: the archive ends here.
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

/// Files what one read found, each present, missing or unreadable.
fn record_read(files: &mut BTreeMap<(String, String), LiveFile>, read: Read, result: Found) {
    let entries = match result {
        Ok(Some(entries)) => Ok(entries),
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
fn not_a_directory<T>(result: &Result<T, EngineError>) -> bool {
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
            let keep = Keep {
                head: 0,
                first_only: true,
            };
            let entries = parse_tar(&tar[..], parent(dir), &wanted, keep).ok()?;
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
