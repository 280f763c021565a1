//! Bait files watched from the host with inotify (SPEC §10): an edit,
//! deletion or `chmod` of a bait starts a pass at once, and every open or
//! read of one by a process in the decky is reported.
//!
//! Each watch is on a bait's directory, added through a descriptor opened
//! inside the container's root as reads are (`/proc/self/fd/N`), never
//! through a host path string an intruder's symlink could redirect. The
//! inotify instance is kept for the whole watch (a decky that takes every
//! instance of the host's root cannot take it back); the watches on it are
//! rebuilt after every pass. Where inotify cannot be had, the baits are
//! looked at every 2 s instead ([`super::poll`]).

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use rustix::fs::inotify::{self, CreateFlags, WatchFlags};
use rustix::io::Errno;
use tokio::io::unix::AsyncFd;
use tokio::time::Interval;

use super::poll::{self, Poll};
use super::touch::{drain, Dir, Seen, Touch};
use crate::observe::host::{open_dir, Root};

/// At most one log line per bait in this time; the rest are counted.
const ACCESS_QUIET: Duration = Duration::from_secs(10);

/// For tests: makes every inotify instance fail as an exhausted host would.
pub const INJECT_FAILURE: &str = "DECKHAND_INJECT_INOTIFY_FAILURE";

/// A bait file of a running container on the local engine.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bait {
    pub decky: String,
    pub container: String,
    /// The container's full id, and its first process: to open its root.
    pub id: String,
    pub pid: u32,
    pub path: String,
}

/// What watching a set of baits came to.
#[derive(Debug, Default)]
pub struct Report {
    /// Containers whose baits are not watched, with why (read on the interval).
    pub unwatched: Vec<(String, String)>,
    /// Why inotify could not be had, when some baits are looked at every 2 s instead.
    pub inotify: Option<String>,
    /// How many baits are looked at every 2 s (no inotify for them, or
    /// their directory missing).
    pub polled: usize,
}

/// The inotify instance, what each of its watches is on, and every bait's
/// last look (looked at every 2 s while inotify cannot be had for some).
pub struct BaitWatch {
    fd: Option<AsyncFd<OwnedFd>>,
    dirs: BTreeMap<i32, Dir>,
    looks: Poll,
    polling: Option<Interval>,
    /// Last access line per bait, and how many were not told since.
    quiet: BTreeMap<(String, String), (Instant, u64)>,
}

/// What the watches ask inotify for.
fn mask() -> WatchFlags {
    WatchFlags::MODIFY
        | WatchFlags::CLOSE_WRITE
        | WatchFlags::CLOSE_NOWRITE
        | WatchFlags::ATTRIB
        | WatchFlags::CREATE
        | WatchFlags::DELETE
        | WatchFlags::MOVED_FROM
        | WatchFlags::MOVED_TO
        | WatchFlags::OPEN
        | WatchFlags::ACCESS
        | WatchFlags::MOVE_SELF
        | WatchFlags::DELETE_SELF
        | WatchFlags::ONLYDIR
}

/// A new inotify instance (or the injected failure of one).
fn init() -> Result<OwnedFd, Errno> {
    if std::env::var(INJECT_FAILURE).is_ok_and(|v| v == "1") {
        return Err(Errno::MFILE);
    }
    inotify::init(CreateFlags::NONBLOCK | CreateFlags::CLOEXEC)
}

/// A watch on `dir` (through its descriptor), or the injected failure of one.
fn add_watch(fd: &OwnedFd, dir: &OwnedFd) -> Result<i32, Errno> {
    if std::env::var(INJECT_FAILURE).is_ok_and(|v| v == "1") {
        return Err(Errno::NOSPC);
    }
    let through = format!("/proc/self/fd/{}", dir.as_raw_fd());
    inotify::add_watch(fd, through.as_str(), mask())
}

/// The baits of one container, by directory.
fn by_dir<'a>(paths: &[&'a str]) -> BTreeMap<&'a str, BTreeSet<String>> {
    let mut out: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for p in paths {
        let (dir, name) = p.rsplit_once('/').unwrap_or(("", p));
        let dir = if dir.is_empty() { "/" } else { dir };
        out.entry(dir).or_default().insert(name.to_string());
    }
    out
}

impl BaitWatch {
    pub fn new() -> BaitWatch {
        BaitWatch {
            fd: None,
            dirs: BTreeMap::new(),
            looks: Poll::default(),
            polling: None,
            quiet: BTreeMap::new(),
        }
    }

    /// The instance, made on first use (and tried again while it cannot be had).
    fn instance(&mut self) -> Result<(), String> {
        if self.fd.is_some() {
            return Ok(());
        }
        let fd = init().map_err(|e| format!("inotify_init: {e}"))?;
        // SAFETY: the AsyncFd owns the OwnedFd, which stays open and the
        // same descriptor until the AsyncFd is dropped.
        let fd = unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
            .map_err(|e| format!("inotify: {e}"))?;
        self.fd = Some(fd);
        Ok(())
    }

    /// Watches exactly `baits` from now on.
    pub fn set(&mut self, baits: &[Bait]) -> Report {
        let mut report = Report::default();
        if let Err(why) = self.instance() {
            report.inotify = Some(why);
        }
        let mut groups: BTreeMap<(&str, &str, u32), Vec<&str>> = BTreeMap::new();
        for b in baits {
            let key = (b.container.as_str(), b.id.as_str(), b.pid);
            groups.entry(key).or_default().push(&b.path);
        }
        let mut dirs = BTreeMap::new();
        for ((container, id, pid), paths) in groups {
            let root = match Root::open(id, pid) {
                Ok(root) => root,
                Err(why) => {
                    report.unwatched.push((container.to_string(), why));
                    continue;
                }
            };
            report.polled += self.add(&root, container, &paths, &mut dirs, &mut report);
        }
        self.replace_dirs(dirs);
        self.looks = Poll::new(baits);
        self.polling = (report.polled > 0).then(|| {
            let mut every = tokio::time::interval(poll::EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            every
        });
        report
    }

    /// Every bait looked at now: what changed since the last look (after
    /// inotify lost events).
    pub fn look(&mut self) -> Vec<Seen> {
        self.looks.look()
    }

    /// One watch per directory holding `paths` in the container, into
    /// `dirs`; returns how many paths inotify could not be had for.
    fn add(
        &self,
        root: &Root,
        container: &str,
        paths: &[&str],
        dirs: &mut BTreeMap<i32, Dir>,
        report: &mut Report,
    ) -> usize {
        let mut left = 0;
        for (dir, names) in by_dir(paths) {
            // A directory missing now (moved away by an intruder, maybe
            // between a pass's restore and this) is looked at every 2 s
            // until a pass finds it again: nothing else would see it come back.
            let Ok(dirfd) = open_dir(root, dir) else {
                left += names.len();
                continue;
            };
            let added = match &self.fd {
                Some(fd) => add_watch(fd.get_ref(), &dirfd)
                    .map_err(|e| format!("inotify_add_watch on {container}:{dir}: {e}")),
                None => Err(String::new()),
            };
            match added {
                Ok(wd) => {
                    let dir = dir.to_string();
                    let container = container.to_string();
                    dirs.insert(
                        wd,
                        Dir {
                            container,
                            dir,
                            names,
                        },
                    );
                }
                Err(why) => {
                    if !why.is_empty() {
                        report.inotify.get_or_insert(why);
                    }
                    left += names.len();
                }
            }
        }
        left
    }

    /// Drops the watches not in `dirs` and keeps `dirs`.
    fn replace_dirs(&mut self, dirs: BTreeMap<i32, Dir>) {
        if let Some(fd) = &self.fd {
            for wd in self.dirs.keys().filter(|wd| !dirs.contains_key(wd)) {
                let _ = inotify::remove_watch(fd.get_ref(), *wd);
            }
        }
        self.dirs = dirs;
    }

    /// What happened to the baits since last asked, waiting for something
    /// when nothing has yet.
    pub async fn next(&mut self) -> Vec<Seen> {
        loop {
            tokio::select! {
                seen = from_inotify(&self.fd, &self.dirs) => return seen,
                _ = tick(&mut self.polling) => {}
            }
            let seen = self.looks.look();
            if !seen.is_empty() {
                return seen;
            }
        }
    }

    /// What is queued now, without waiting: read out once a pass ends.
    pub fn take_queued(&mut self) -> Vec<Seen> {
        match &self.fd {
            Some(fd) => drain(fd.get_ref(), &self.dirs),
            None => Vec::new(),
        }
    }

    /// Whether to tell of `touch` now, and how many like it went untold.
    pub fn tell(&mut self, touch: &Touch, now: Instant) -> Option<u64> {
        let key = (touch.container.clone(), touch.path.clone());
        match self.quiet.get_mut(&key) {
            Some((at, untold)) if now.duration_since(*at) < ACCESS_QUIET => {
                *untold += 1;
                None
            }
            Some((at, untold)) => {
                let n = *untold;
                (*at, *untold) = (now, 0);
                Some(n)
            }
            None => {
                self.quiet.insert(key, (now, 0));
                Some(0)
            }
        }
    }
}

/// The next events inotify has for the baits; never, without an instance.
async fn from_inotify(fd: &Option<AsyncFd<OwnedFd>>, dirs: &BTreeMap<i32, Dir>) -> Vec<Seen> {
    let Some(fd) = fd else {
        return std::future::pending().await;
    };
    loop {
        let Ok(mut ready) = fd.readable().await else {
            return std::future::pending().await;
        };
        // Read until the kernel has no more, then wait for the next.
        let seen = drain(fd.get_ref(), dirs);
        ready.clear_ready();
        if !seen.is_empty() {
            return seen;
        }
    }
}

/// The next time to look at the baits; never, while inotify watches them all.
async fn tick(polling: &mut Option<Interval>) {
    match polling {
        Some(every) => {
            every.tick().await;
        }
        None => std::future::pending().await,
    }
}
