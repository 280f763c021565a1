//! A running container's root directory, opened from the host through
//! `/proc/<pid>/root` and proven to be that container's.
//!
//! The intruder is root inside: the pid the engine named may die and be
//! reused by a host process, and the process may have `chroot`ed into a fake
//! tree. So the process's cgroup must name the container before the root is
//! opened and again after, and the root opened must be the root of the
//! container's own filesystem: the root of its mount namespace, which its
//! runtime set up and which root in the container cannot change (that needs
//! `CAP_SYS_ADMIN`).

use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{Mode, OFlags};
use rustix::thread::{LinkNameSpaceType, UnshareFlags};

/// How a user namespace maps ids: `(inside, outside, count)` ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMap(Vec<(u64, u64, u64)>);

impl IdMap {
    /// Parses `/proc/<pid>/uid_map` (or `gid_map`).
    pub fn parse(text: &str) -> IdMap {
        let ranges = text
            .lines()
            .filter_map(|l| {
                let mut n = l.split_whitespace().map(|w| w.parse::<u64>().ok());
                Some((n.next()??, n.next()??, n.next()??))
            })
            .collect();
        IdMap(ranges)
    }

    /// The id as the container sees host id `id` (the overflow id 65534 when unmapped).
    pub fn inside(&self, id: u64) -> u64 {
        self.0
            .iter()
            .find(|(_, outside, count)| (*outside..outside + count).contains(&id))
            .map(|(inside, outside, _)| inside + (id - outside))
            .unwrap_or(65534)
    }
}

/// The root of one running container, with its id maps.
#[derive(Debug)]
pub struct Root {
    pub fd: OwnedFd,
    pub uids: IdMap,
    pub gids: IdMap,
}

/// Why a container's root could not be used: its files are then read
/// through the engine.
pub type NotUsable = String;

/// Whether the process `pid` is in container `id`'s cgroup.
pub(super) fn in_container(pid: u32, id: &str) -> Result<(), NotUsable> {
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .map_err(|e| format!("process {pid}: {e}"))?;
    match cgroup.lines().any(|l| l.contains(id)) {
        true => Ok(()),
        false => Err(format!("process {pid} is not in container {id}'s cgroup")),
    }
}

/// (device, inode) of the root of process `pid`'s mount namespace: what a
/// process that enters it (as `nsenter --mount` does) finds at `/`.
fn namespace_root(pid: u32) -> Result<(u64, u64), NotUsable> {
    let flags = OFlags::RDONLY | OFlags::CLOEXEC;
    let ns = rustix::fs::open(format!("/proc/{pid}/ns/mnt"), flags, Mode::empty())
        .map_err(|e| format!("/proc/{pid}/ns/mnt: {e}"))?;
    // A thread of its own enters the namespace, looks, and ends: nothing
    // else of deckhand ever runs there.
    let look = || -> rustix::io::Result<(u64, u64)> {
        // SAFETY: FS unshares this thread's root, cwd and umask only (which
        // entering a mount namespace requires); descriptors stay shared.
        unsafe { rustix::thread::unshare_unsafe(UnshareFlags::FS) }?;
        rustix::thread::move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Mount))?;
        let st = rustix::fs::stat("/")?;
        Ok((st.st_dev, st.st_ino))
    };
    let looked = std::thread::scope(|s| s.spawn(look).join());
    match looked {
        Ok(Ok(root)) => Ok(root),
        Ok(Err(e)) => Err(format!("process {pid}'s mount namespace: {e}")),
        Err(_) => Err(format!(
            "process {pid}'s mount namespace could not be entered"
        )),
    }
}

impl Root {
    /// Opens the root of container `id` (its full id), whose first process is `pid`.
    pub fn open(id: &str, pid: u32) -> Result<Root, NotUsable> {
        if id.len() < 64 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!("'{id}' is not a full container id"));
        }
        in_container(pid, id)?;
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = rustix::fs::open(format!("/proc/{pid}/root"), flags, Mode::empty())
            .map_err(|e| format!("/proc/{pid}/root: {e}"))?;
        // Opened by a process that was, and still is, the container's.
        in_container(pid, id)?;
        let root = rustix::fs::fstat(&fd).map_err(|e| e.to_string())?;
        let host = rustix::fs::stat("/").map_err(|e| e.to_string())?;
        if (root.st_dev, root.st_ino) == (host.st_dev, host.st_ino) {
            return Err(format!("process {pid}'s root is the host's"));
        }
        // A chrooted first process shows a tree of the intruder's making.
        if (root.st_dev, root.st_ino) != namespace_root(pid)? {
            return Err(format!(
                "process {pid}'s root is not its container's root filesystem (chrooted)"
            ));
        }
        // And the namespace was still the container's when it was looked at.
        in_container(pid, id)?;
        let map = |file: &str| {
            std::fs::read_to_string(format!("/proc/{pid}/{file}"))
                .map(|t| IdMap::parse(&t))
                .map_err(|e| format!("/proc/{pid}/{file}: {e}"))
        };
        Ok(Root {
            fd,
            uids: map("uid_map")?,
            gids: map("gid_map")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_map_back_through_a_user_namespace() {
        let identity = IdMap::parse("         0          0 4294967295\n");
        assert_eq!(identity.inside(1000), 1000);
        let remapped = IdMap::parse("0 100000 65536\n");
        assert_eq!(remapped.inside(100000), 0);
        assert_eq!(remapped.inside(101000), 1000);
        assert_eq!(remapped.inside(5), 65534, "unmapped: the overflow id");
    }

    #[test]
    fn the_root_of_an_unchrooted_process_is_its_mount_namespaces_root() {
        let root = rustix::fs::stat("/").unwrap();
        assert_eq!(
            namespace_root(std::process::id()).unwrap(),
            (root.st_dev, root.st_ino)
        );
    }

    #[test]
    fn a_process_outside_the_container_is_refused() {
        let id = "a".repeat(64);
        let why = Root::open(&id, std::process::id()).unwrap_err();
        assert!(why.contains("is not in container"), "{why}");
        assert!(Root::open("abc", 1)
            .unwrap_err()
            .contains("not a full container id"));
    }
}
