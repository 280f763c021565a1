//! Deletes and clears from the host (SPEC §8): beneath a running
//! container's verified root, through directory descriptors, instead of
//! running the container's own `rm` (which is the intruder's to replace).
//!
//! Each component of a path resolves beneath the directory before it
//! (`openat2` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//! RESOLVE_NO_MAGICLINKS`): no symlink is ever followed, so nothing outside
//! the container can be reached. Where the root cannot be had (engine not
//! local, `DECKHAND_READ=engine`, not root, container not running, its
//! process not proven its own), the caller runs `rm` in the container.

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::engine::Engine;
use crate::observe::host::{unavailable, Root};

use super::remove_tree::{self, Budget};

/// The verified root of `container` when deckhand can act on it from the
/// host; why not otherwise.
pub async fn root(engine: &Engine, container: &str) -> Result<Root, String> {
    if let Some(why) = unavailable(engine) {
        return Err(why);
    }
    let (id, pid) = engine
        .running(container)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("not running")?;
    tokio::task::spawn_blocking(move || open_root(&id, pid))
        .await
        .map_err(|e| e.to_string())?
}

/// The one place a root is opened for removal.
fn open_root(id: &str, pid: u32) -> Result<Root, String> {
    Root::open(id, pid)
}

/// What stands at a path's parent.
enum Parent {
    /// The parent directory, opened `O_PATH`.
    Dir(OwnedFd),
    /// A parent is missing: nothing is at the path.
    Missing,
}

/// The parent directory of `path` (absolute) beneath `root`, and the last
/// component's name.
fn parent(root: &Root, path: &str) -> Result<(Parent, CString), String> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let Some((name, dirs)) = parts.split_last() else {
        return Err(format!("{path} is not a file path"));
    };
    let name = CString::new(*name).map_err(|_| format!("{path} holds a NUL"))?;
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    // A symlink in a parent's place fails (ELOOP): it is never followed.
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let mut dir = root.fd.try_clone().map_err(|e| e.to_string())?;
    let mut at = String::new();
    for part in dirs {
        at = format!("{at}/{part}");
        dir = match rustix::fs::openat2(&dir, *part, flags, Mode::empty(), resolve) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok((Parent::Missing, name)),
            Err(Errno::NOTDIR | Errno::LOOP | Errno::XDEV) => {
                return Err(format!("something other than a directory stands at {at}"))
            }
            Err(e) => return Err(format!("{at}: {e}")),
        };
    }
    Ok((Parent::Dir(dir), name))
}

/// Deletes the file at `path` (as `rm -f` would: nothing there is done, a
/// directory there is not removed); a symlink there is removed itself.
pub fn delete(root: &Root, path: &str) -> Result<(), String> {
    let (Parent::Dir(dir), name) = parent(root, path)? else {
        return Ok(());
    };
    match rustix::fs::unlinkat(&dir, name.as_c_str(), AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(Errno::ISDIR) => Err(format!("a directory is at {path}: not deleted")),
        Err(e) => Err(format!("{path}: {e}")),
    }
}

/// Removes whatever stands at `path` (a directory tree, a symlink, a FIFO,
/// a device node, a file) within one [`Budget`]; returns how many entries went.
pub fn clear(root: &Root, path: &str) -> Result<usize, String> {
    let (Parent::Dir(dir), name) = parent(root, path)? else {
        return Ok(0);
    };
    let mut budget = Budget::new();
    remove_tree::remove(dir.as_fd(), &name, path, &mut budget).map_err(|e| e.to_string())?;
    Ok(budget.removed())
}
