//! When deckhand first saw each live session of a decky. The kernel keeps
//! no start time of a connection in its TCP table, so "since" is the first
//! time any deckhand run read the session (same socket inode, peer and
//! port), kept between runs in `.sessions-first-seen` (JSON) of the
//! evidence directory (0700, the file 0600). A lost or unreadable file only
//! makes later sessions look newer: it never holds or releases anything.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::Path;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::sessions::Session;

/// The file's name in the evidence directory: no host is named so, and it
/// is not `*.json`, which the quota takes for a capture's sidecar.
pub const FILE: &str = ".sessions-first-seen";

/// The most of the file read, sessions kept per container, and containers kept.
const MAX_BYTES: u64 = 1 << 20;
const MAX_SESSIONS: usize = 256;
const MAX_CONTAINERS: usize = 256;

type Seen = BTreeMap<String, BTreeMap<String, String>>;

/// A session as the file names it.
fn key(s: &Session) -> String {
    format!("{} {} {}", s.peer, s.port, s.inode)
}

/// When each of `live` (container `id`'s sessions now) was first seen,
/// `now` for the new ones; remembers them in `dir` and forgets the
/// container's sessions that ended.
pub fn since(
    dir: &Path,
    id: &str,
    live: &BTreeSet<Session>,
    now: OffsetDateTime,
) -> BTreeMap<Session, String> {
    let path = dir.join(FILE);
    let mut seen = load(&path);
    // Whole seconds: one width, so that times compare as text.
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let now = now.format(&Rfc3339).unwrap_or_default();
    let before = seen.remove(id).unwrap_or_default();
    let mut kept = BTreeMap::new();
    let mut out = BTreeMap::new();
    for s in live {
        let first = before.get(&key(s)).cloned().unwrap_or_else(|| now.clone());
        if kept.len() < MAX_SESSIONS {
            kept.insert(key(s), first.clone());
        }
        out.insert(s.clone(), first);
    }
    while seen.len() >= MAX_CONTAINERS {
        seen.pop_first();
    }
    if !kept.is_empty() {
        seen.insert(id.to_string(), kept);
    }
    if let Err(e) = store(dir, &path, &seen) {
        crate::verbose!("sessions first seen: not kept in {}: {e}", path.display());
    }
    out
}

fn load(path: &Path) -> Seen {
    let Ok(file) = std::fs::File::open(path) else {
        return Seen::new();
    };
    let mut text = String::new();
    let _ = file.take(MAX_BYTES).read_to_string(&mut text);
    serde_json::from_str(&text).unwrap_or_default()
}

fn store(dir: &Path, path: &Path, seen: &Seen) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let tmp = dir.join(format!("{FILE}.{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    std::io::Write::write_all(&mut file, serde_json::to_string(seen)?.as_bytes())?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(peer: &str, inode: u64) -> Session {
        Session {
            peer: peer.parse().unwrap(),
            port: 22,
            inode,
        }
    }

    #[test]
    fn a_session_keeps_its_first_time_and_a_new_one_gets_now() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path().join("evidence");
        let t0 = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_250_000_000).unwrap();
        let t1 = t0 + time::Duration::minutes(5);
        let a = session("10.0.0.9:5000", 7);
        let first = since(&dir, "c1", &BTreeSet::from([a.clone()]), t0);
        assert_eq!(first[&a], "2023-11-14T22:13:20Z");
        // Five minutes on: a is as old as it was; b (and a's peer and port
        // on a new socket) are new.
        let b = session("10.0.0.9:5000", 8);
        let later = since(&dir, "c1", &BTreeSet::from([a.clone(), b.clone()]), t1);
        assert_eq!(later[&a], "2023-11-14T22:13:20Z");
        assert_eq!(later[&b], "2023-11-14T22:18:20Z");
        // a ended, then a socket like it came back: new.
        since(&dir, "c1", &BTreeSet::from([b.clone()]), t1);
        let again = since(&dir, "c1", &BTreeSet::from([a.clone()]), t1);
        assert_eq!(again[&a], "2023-11-14T22:18:20Z");
        let mode = |p: &Path| {
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).unwrap().permissions())
                & 0o777
        };
        assert_eq!((mode(&dir), mode(&dir.join(FILE))), (0o700, 0o600));
    }

    #[test]
    fn a_garbled_file_is_started_again() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), "{not json").unwrap();
        let t0 = OffsetDateTime::from_unix_timestamp(0).unwrap();
        let a = session("[fe80::1]:5000", 1);
        assert_eq!(
            since(dir.path(), "c", &BTreeSet::from([a.clone()]), t0)[&a],
            "1970-01-01T00:00:00Z"
        );
    }
}
