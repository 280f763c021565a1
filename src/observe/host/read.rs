//! One path read inside a container's root, as the engine's archive read
//! would report it: the same kinds, modes, owners, times and link targets.
//!
//! Every step resolves beneath the directory opened before it and follows no
//! link: a symlink in a parent's place is reported as what stands in the way
//! (as the engine's directory read does), and a symlink at the path is
//! reported as a link, never read through. The path is opened `O_PATH` and
//! described from that descriptor; only a regular file is then reopened for
//! reading, and its content is hashed as it streams (never more than a head
//! held, never more read than declared content can be long).

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Instant;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags, Stat};
use rustix::io::Errno;

use super::root::Root;
use crate::live::{LiveContent, LiveFile, LiveFileState};
use crate::observe::stream::read_content;

/// Opens resolve beneath the directory given, through no symlink at all.
fn resolve() -> ResolveFlags {
    ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS
}

/// The kind word plans show, as the engine's tar reports it.
fn kind(st: &Stat) -> &'static str {
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => "file",
        FileType::Directory => "directory",
        FileType::Symlink => "symlink",
        _ => "special file",
    }
}

/// `path` in the container whose root is `root`, as `limits` allow: at
/// most `keep` bytes of its head held, given up at `deadline`.
pub fn read(root: &Root, path: &str, keep: usize, deadline: Instant) -> LiveFile {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let Some((name, dirs)) = parts.split_last() else {
        return LiveFile::Unreadable(format!("{path}: not a file path"));
    };
    let dir = match walk(root, dirs) {
        Ok(dir) => dir,
        Err(found) => return found,
    };
    // One O_PATH descriptor: what is described, and read, is this inode,
    // whatever is renamed over the name meanwhile.
    let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = match rustix::fs::openat2(&dir, *name, flags, Mode::empty(), resolve()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return LiveFile::Missing,
        Err(e) => return LiveFile::Unreadable(format!("{path}: {e}")),
    };
    let st = match rustix::fs::fstat(&fd) {
        Ok(st) => st,
        Err(e) => return LiveFile::Unreadable(format!("{path}: {e}")),
    };
    let mut state = LiveFileState {
        kind: kind(&st).to_string(),
        content: LiveContent::default(),
        mode: st.st_mode & 0o7777,
        uid: root.uids.inside(u64::from(st.st_uid)),
        gid: root.gids.inside(u64::from(st.st_gid)),
        mtime: st.st_mtime,
        link: None,
    };
    let found = match state.kind.as_str() {
        // An O_PATH descriptor of a link reads as the link itself.
        "symlink" => rustix::fs::readlinkat(&fd, "", Vec::new())
            .map(|target| state.link = Some(target.to_string_lossy().into_owned()))
            .map_err(|e| e.to_string()),
        "file" => content(&fd, &st, keep, deadline).map(|c| state.content = c),
        _ => Ok(()),
    };
    match found {
        Ok(()) => LiveFile::Present(state),
        Err(why) => LiveFile::Unreadable(format!("{path}: {why}")),
    }
}

/// The directory at `dirs` below the root, one component at a time. What is
/// missing or in the way ends the read with its answer.
#[allow(clippy::result_large_err)] // the answer ends the read: made once per path
pub(super) fn walk(root: &Root, dirs: &[&str]) -> Result<OwnedFd, LiveFile> {
    let mut dir = root
        .fd
        .try_clone()
        .map_err(|e| LiveFile::Unreadable(e.to_string()))?;
    let mut at = String::new();
    for part in dirs {
        at = format!("{at}/{part}");
        let st = match rustix::fs::statat(&dir, *part, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => return Err(LiveFile::Missing),
            Err(e) => return Err(LiveFile::Unreadable(format!("{at}: {e}"))),
        };
        if kind(&st) != "directory" {
            return Err(LiveFile::Blocked {
                by: at,
                kind: kind(&st).to_string(),
            });
        }
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        dir = rustix::fs::openat2(&dir, *part, flags, Mode::empty(), resolve())
            .map_err(|e| LiveFile::Unreadable(format!("{at}: {e} (changed while read)")))?;
    }
    Ok(dir)
}

/// The content of the regular file `fd` (an `O_PATH` descriptor) that `st`
/// described. It is reopened for reading through `/proc/self/fd`, which
/// reopens that very inode with no name looked up: a FIFO or device renamed
/// over the path is never opened. Non-blocking, never a controlling terminal.
fn content(fd: &OwnedFd, st: &Stat, keep: usize, deadline: Instant) -> Result<LiveContent, String> {
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let reopened = format!("/proc/self/fd/{}", fd.as_raw_fd());
    let file = rustix::fs::open(reopened, flags, Mode::empty()).map_err(|e| e.to_string())?;
    let now = rustix::fs::fstat(&file).map_err(|e| e.to_string())?;
    if kind(&now) != "file" || (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) {
        return Err("replaced while read".into());
    }
    read_content(std::fs::File::from(file), keep, deadline).map_err(|e| e.to_string())
}
