//! One path read inside a container's root, as the engine's archive read
//! would report it: the same kinds, modes, owners, times and link targets.
//!
//! Every step resolves beneath the directory opened before it and follows no
//! link: a symlink in a parent's place is reported as what stands in the way
//! (as the engine's directory read does), and a symlink at the path is
//! reported as a link, never read through. Only a regular file is opened for
//! reading, non-blocking and without becoming a controlling terminal, and
//! checked again once open.

use std::os::fd::OwnedFd;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags, Stat};
use rustix::io::Errno;

use super::root::Root;
use crate::live::{LiveFile, LiveFileState};

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

/// `path` in the container whose root is `root`; `cap` bounds a file's size.
pub fn read(root: &Root, container: &str, path: &str, cap: usize) -> LiveFile {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let Some((name, dirs)) = parts.split_last() else {
        return LiveFile::Unreadable(format!("{path}: not a file path"));
    };
    let dir = match walk(root, dirs) {
        Ok(dir) => dir,
        Err(found) => return found,
    };
    let st = match rustix::fs::statat(&dir, *name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::NOENT) => return LiveFile::Missing,
        Err(e) => return LiveFile::Unreadable(format!("{path}: {e}")),
    };
    let mut state = LiveFileState {
        kind: kind(&st).to_string(),
        bytes: Vec::new(),
        mode: st.st_mode & 0o7777,
        uid: root.uids.inside(u64::from(st.st_uid)),
        gid: root.gids.inside(u64::from(st.st_gid)),
        mtime: st.st_mtime,
        link: None,
    };
    match state.kind.as_str() {
        "symlink" => match rustix::fs::readlinkat(&dir, *name, Vec::new()) {
            Ok(target) => state.link = Some(target.to_string_lossy().into_owned()),
            Err(e) => return LiveFile::Unreadable(format!("{path}: {e}")),
        },
        "file" if st.st_size as u64 > cap as u64 => {
            // The engine's words for the same limit.
            return LiveFile::Unreadable(format!(
                "read {path} in {container}: the archive is over {cap} bytes"
            ));
        }
        "file" => match content(&dir, name, &st, cap) {
            Ok(bytes) => state.bytes = bytes,
            Err(why) => return LiveFile::Unreadable(format!("{path}: {why}")),
        },
        _ => {}
    }
    LiveFile::Present(state)
}

/// The directory at `dirs` below the root, one component at a time. What is
/// missing or in the way ends the read with its answer.
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

/// The bytes of regular file `name` in `dir`, which `st` described: opened
/// without following a link or blocking, and still the same regular file.
fn content(dir: &OwnedFd, name: &str, st: &Stat, cap: usize) -> Result<Vec<u8>, String> {
    let flags =
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat2(dir, name, flags, Mode::empty(), resolve())
        .map_err(|e| e.to_string())?;
    let now = rustix::fs::fstat(&fd).map_err(|e| e.to_string())?;
    if kind(&now) != "file" || (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) {
        return Err("replaced while read".into());
    }
    let mut bytes = Vec::with_capacity(now.st_size as usize);
    let mut file = std::fs::File::from(fd);
    let limit = (cap as u64) + 1;
    std::io::Read::read_to_end(&mut std::io::Read::take(&mut file, limit), &mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() > cap {
        return Err(format!("grew past {cap} bytes while read"));
    }
    Ok(bytes)
}
