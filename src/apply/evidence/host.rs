//! A layer's changed files read from the host, through the container's
//! verified root (SPEC §10) instead of the engine: each path resolved
//! beneath the root through no symlink, opened `O_PATH` and checked, and
//! only a regular file reopened for reading (through `/proc/self/fd`); a
//! device, FIFO or socket is never opened.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{FileType, Mode, OFlags, ResolveFlags, Stat};

use super::layer::{Taken, Wanted};
use super::sparse::Sparse;
use super::tarcopy::{Appended, Cut, TarOut};
use crate::engine::Engine;
use crate::observe::host::{open_dir, unavailable, Root};

/// The verified root of running `container`, when deckhand may read
/// through it (else the engine is asked).
pub async fn root(engine: &Engine, container: &str) -> Option<Root> {
    if let Some(why) = unavailable(engine) {
        crate::verbose!("evidence {container}: through the engine ({why})");
        return None;
    }
    let (id, pid) = engine.running(container).await.ok()??;
    let opened = tokio::task::spawn_blocking(move || Root::open(&id, pid)).await;
    match opened.expect("opening a root does not panic") {
        Ok(root) => Some(root),
        Err(why) => {
            crate::verbose!("evidence {container}: through the engine ({why})");
            None
        }
    }
}

/// `name` in `dir`, opened `O_PATH` beneath it through no symlink.
fn open_path(dir: &OwnedFd, name: &str) -> io::Result<(OwnedFd, Stat)> {
    let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    let fd = rustix::fs::openat2(dir, name, flags, Mode::empty(), resolve)?;
    let st = rustix::fs::fstat(&fd)?;
    Ok((fd, st))
}

/// The regular file `fd` (opened `O_PATH`) reopened for reading, and still
/// the same file.
fn reopen(fd: &OwnedFd, st: &Stat) -> io::Result<File> {
    let proc = format!(
        "/proc/self/fd/{}",
        std::os::fd::AsRawFd::as_raw_fd(&fd.as_fd())
    );
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let file = rustix::fs::open(proc, flags, Mode::empty())?;
    let now = rustix::fs::fstat(&file)?;
    if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) {
        return Err(io::Error::other("replaced while read"));
    }
    Ok(File::from(file))
}

/// A tar header for what `st` describes, owners as the container sees them.
fn header(root: &Root, st: &Stat, kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(st.st_mode & 0o7777);
    h.set_uid(root.uids.inside(u64::from(st.st_uid)));
    h.set_gid(root.gids.inside(u64::from(st.st_gid)));
    h.set_mtime(u64::try_from(st.st_mtime).unwrap_or(0));
    h.set_size(size);
    h
}

/// One changed path copied into `tar`.
fn take_one(
    root: &Root,
    path: &str,
    own: Option<&str>,
    tar: &mut TarOut<'_, '_>,
) -> io::Result<Appended> {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let not_read = |why: String| Ok(Appended::Cut(Cut::NotRead(why)));
    let dir = match open_dir(root, dir) {
        Ok(dir) => dir,
        Err(why) => return not_read(why),
    };
    let (fd, st) = match open_path(&dir, name) {
        Ok(found) => found,
        Err(e) => return not_read(format!("not read ({e})")),
    };
    let at = path.trim_start_matches('/');
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => {
            let size = st.st_size as u64;
            let file = match reopen(&fd, &st) {
                Ok(f) => f,
                Err(e) => return not_read(format!("not read ({e})")),
            };
            // Exactly `size` bytes, however the file changes meanwhile.
            let data = file.take(size).chain(io::repeat(0)).take(size);
            tar.append_data(
                header(root, &st, tar::EntryType::Regular, size),
                at,
                data,
                own,
            )
        }
        FileType::Directory => tar.append_data(
            header(root, &st, tar::EntryType::Directory, 0),
            at,
            io::empty(),
            None,
        ),
        FileType::Symlink => {
            let mut h = header(root, &st, tar::EntryType::Symlink, 0);
            let target = rustix::fs::readlinkat(&dir, name, Vec::new()).map_err(io::Error::from);
            let named = target.and_then(|t| h.set_link_name(t.to_string_lossy().as_ref()));
            match named {
                Ok(()) => tar.append_data(h, at, io::empty(), None),
                Err(e) => not_read(format!("not read ({e})")),
            }
        }
        _ => not_read("a special file: never opened".into()),
    }
}

/// Copies every path `want` reads from `root` into a tar in `out`.
pub fn take(
    root: &Root,
    want: &Wanted,
    out: &mut Sparse<'_>,
    max: u64,
    deadline: std::time::Instant,
) -> io::Result<Taken> {
    let mut tar = TarOut::new(out, max);
    let mut taken = Taken::default();
    for path in want.reads() {
        if !taken.may_take(path, deadline) {
            continue;
        }
        let own = want.own.get(path).map(String::as_str);
        match take_one(root, path, own, &mut tar)? {
            Appended::Kept => taken.kept += 1,
            Appended::Own => drop(taken.own.insert(path.to_string())),
            Appended::Cut(cut) => taken.cut.push((path.to_string(), cut)),
        }
    }
    tar.finish()?;
    Ok(taken)
}
