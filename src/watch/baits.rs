//! Bait files watched from the host with inotify (SPEC §10): an edit,
//! deletion or `chmod` of a bait starts a pass at once, and every open or
//! read of one by a process in the decky is reported.
//!
//! Each watch is on a bait's directory, added through a descriptor opened
//! inside the container's root as reads are (`/proc/self/fd/N`), never
//! through a host path string an intruder's symlink could redirect.
//! inotify does not say who: what arrives while a pass of deckhand's own runs
//! is its own doing (its reads, its writes), and is not reported as access;
//! a change among it still asks for one more pass.

use std::collections::{BTreeMap, BTreeSet};
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use tokio::io::unix::AsyncFd;

use crate::observe::host::{open_dir, Root};

/// At most one log line per bait in this time; the rest are counted.
const ACCESS_QUIET: Duration = Duration::from_secs(10);

/// A bait file of a running container on the local engine.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bait {
    pub container: String,
    /// The container's full id, and its first process: to open its root.
    pub id: String,
    pub pid: u32,
    pub path: String,
}

/// What a process in a decky did to a bait: an `access` word of SPEC §9.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touch {
    pub container: String,
    pub path: String,
    pub access: &'static str,
}

impl Touch {
    /// Whether it changed the bait (and so a pass should heal it).
    pub fn changes(&self) -> bool {
        matches!(self.access, "write" | "delete" | "attrib")
    }
}

/// The access word of an inotify event.
fn access(flags: ReadFlags) -> Option<&'static str> {
    let is = |f: ReadFlags| flags.intersects(f);
    if is(ReadFlags::DELETE | ReadFlags::MOVED_FROM) {
        Some("delete")
    } else if is(ReadFlags::MODIFY
        | ReadFlags::CLOSE_WRITE
        | ReadFlags::CREATE
        | ReadFlags::MOVED_TO)
    {
        Some("write")
    } else if is(ReadFlags::ATTRIB) {
        Some("attrib")
    } else if is(ReadFlags::ACCESS) {
        Some("read")
    } else if is(ReadFlags::OPEN) {
        Some("open")
    } else {
        None
    }
}

/// The inotify instance and what each of its watches is on.
pub struct BaitWatch {
    fd: Option<AsyncFd<OwnedFd>>,
    /// Watch descriptor -> (container, directory, bait names in it).
    dirs: BTreeMap<i32, (String, String, BTreeSet<String>)>,
    /// Last access line per bait, and how many were not told since.
    quiet: BTreeMap<(String, String), (Instant, u64)>,
}

impl BaitWatch {
    pub fn new() -> BaitWatch {
        BaitWatch {
            fd: None,
            dirs: BTreeMap::new(),
            quiet: BTreeMap::new(),
        }
    }

    /// Watches exactly `baits` from now on; returns the containers that could
    /// not be watched, with why (their baits are still read on the interval).
    pub fn set(&mut self, baits: &[Bait]) -> Vec<(String, String)> {
        self.fd = None;
        self.dirs.clear();
        if baits.is_empty() {
            return Vec::new();
        }
        let fd = match inotify::init(CreateFlags::NONBLOCK | CreateFlags::CLOEXEC) {
            Ok(fd) => fd,
            Err(e) => return vec![("(all)".into(), format!("inotify: {e}"))],
        };
        let mut failed = Vec::new();
        let mut by_container: BTreeMap<(&str, &str, u32), Vec<&str>> = BTreeMap::new();
        for b in baits {
            by_container
                .entry((&b.container, &b.id, b.pid))
                .or_default()
                .push(&b.path);
        }
        for ((container, id, pid), paths) in by_container {
            if let Err(why) = self.add(&fd, container, id, pid, &paths) {
                failed.push((container.to_string(), why));
            }
        }
        // SAFETY: the AsyncFd owns the OwnedFd, which stays open and the
        // same descriptor until the AsyncFd is dropped.
        self.fd =
            unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }.ok();
        failed
    }

    /// One watch per directory holding `paths` in the container.
    fn add(
        &mut self,
        fd: &OwnedFd,
        container: &str,
        id: &str,
        pid: u32,
        paths: &[&str],
    ) -> Result<(), String> {
        let root = Root::open(id, pid)?;
        let mut by_dir: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for p in paths {
            let (dir, name) = p.rsplit_once('/').unwrap_or(("", p));
            by_dir.entry(dir).or_default().insert(name.to_string());
        }
        let mask = WatchFlags::MODIFY
            | WatchFlags::CLOSE_WRITE
            | WatchFlags::ATTRIB
            | WatchFlags::CREATE
            | WatchFlags::DELETE
            | WatchFlags::MOVED_FROM
            | WatchFlags::MOVED_TO
            | WatchFlags::OPEN
            | WatchFlags::ACCESS
            | WatchFlags::ONLYDIR;
        for (dir, names) in by_dir {
            let shown = if dir.is_empty() { "/" } else { dir };
            // A missing directory is watched once a pass has made it.
            let Ok(dirfd) = open_dir(&root, shown) else {
                continue;
            };
            let through = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&dirfd));
            let wd = inotify::add_watch(fd, through.as_str(), mask)
                .map_err(|e| format!("inotify on {shown}: {e}"))?;
            self.dirs
                .insert(wd, (container.to_string(), shown.to_string(), names));
        }
        Ok(())
    }

    /// What happened to the baits since last asked, waiting for something
    /// when nothing has yet.
    pub async fn next(&mut self) -> Vec<Touch> {
        let Some(fd) = &self.fd else {
            return std::future::pending().await;
        };
        loop {
            let Ok(mut ready) = fd.readable().await else {
                return std::future::pending().await;
            };
            // Read until the kernel has no more, then wait for the next.
            let touches = drain(fd.get_ref(), &self.dirs);
            ready.clear_ready();
            if !touches.is_empty() {
                return touches;
            }
        }
    }

    /// What is queued now, without waiting: a pass's own doing, read out
    /// once it ends.
    pub fn take_queued(&mut self) -> Vec<Touch> {
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

/// Every event queued on `fd` for a bait, as touches (reads until empty).
fn drain(fd: &OwnedFd, dirs: &BTreeMap<i32, (String, String, BTreeSet<String>)>) -> Vec<Touch> {
    let mut buf = [MaybeUninit::<u8>::uninit(); 8192];
    let mut reader = inotify::Reader::new(fd, &mut buf);
    let mut out = Vec::new();
    while let Ok(event) = reader.next() {
        let Some((container, dir, names)) = dirs.get(&event.wd()) else {
            continue;
        };
        let Some(name) = event.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        let (Some(access), true) = (access(event.events()), names.contains(&name)) else {
            continue;
        };
        let path = match dir.as_str() {
            "/" => format!("/{name}"),
            d => format!("{d}/{name}"),
        };
        out.push(Touch {
            container: container.clone(),
            path,
            access,
        });
    }
    out
}
