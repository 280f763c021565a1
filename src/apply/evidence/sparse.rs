//! A copy written sparse (SPEC §8): all-zero 4 KiB blocks are left as holes,
//! so a file `truncate`d to 250 MB costs the evidence disk next to nothing.
//! Every block it does write is paid for first from a [`Room`] (the quota
//! and the disk's reserve); when none is left, the write fails with [`Full`]
//! and what was written before stays whole.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt as _;

/// Size of the blocks looked at for zeros (and of a filesystem's block).
pub const BLOCK: u64 = 4096;

/// Where the bytes a copy writes come from: how many more it may write.
pub trait Room {
    /// At least `need` more bytes wanted; returns how many may be written
    /// now (it may free space to make them).
    fn more(&mut self, need: u64) -> u64;

    /// A part of (at most) `size` bytes begins, the capture holding `mine`
    /// allocated bytes so far.
    fn part(&mut self, _size: u64, _mine: u64) {}

    /// Whether the disk's reserve was reached (no later part is tried).
    fn reserve_reached(&self) -> bool {
        false
    }
}

/// Room without limit.
#[cfg(test)]
pub struct Unlimited;

#[cfg(test)]
impl Room for Unlimited {
    fn more(&mut self, _need: u64) -> u64 {
        u64::MAX
    }
}

/// The error a write fails with when no room is left.
#[derive(Debug, thiserror::Error)]
#[error("no room left for evidence")]
pub struct Full;

/// Whether `e` is a [`Full`] (through any wrapping `io::Error`).
pub fn is_full(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Full>())
}

/// A file written block by block, holes where the blocks are zero.
pub struct Sparse<'r> {
    file: File,
    /// Bytes of the block being filled, from `start`.
    buf: Vec<u8>,
    start: u64,
    /// Bytes written to disk (non-zero blocks).
    written: u64,
    /// Bytes that may still be written before asking `room` again.
    allowance: u64,
    room: &'r mut dyn Room,
    /// A write to disk failed (not for lack of room): the copy is not whole.
    pub failed: bool,
}

impl<'r> Sparse<'r> {
    pub fn new(file: File, room: &'r mut dyn Room) -> Sparse<'r> {
        Sparse {
            file,
            buf: Vec::with_capacity(BLOCK as usize),
            start: 0,
            written: 0,
            allowance: 0,
            room,
            failed: false,
        }
    }

    /// Tells the room a part of (at most) `size` bytes begins.
    pub fn part(&mut self, size: u64) {
        use std::os::unix::fs::MetadataExt as _;
        let mine = self
            .file
            .metadata()
            .map_or(self.written, |m| m.blocks() * 512);
        self.room.part(size, mine);
    }

    /// Whether the disk's reserve was reached.
    pub fn reserve_reached(&self) -> bool {
        self.room.reserve_reached()
    }

    /// The logical length written so far.
    pub fn position(&self) -> u64 {
        self.start + self.buf.len() as u64
    }

    /// Bytes that took disk blocks (zero blocks are holes).
    #[cfg(test)]
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Writes out the block being filled (unless all zero).
    fn flush_block(&mut self) -> io::Result<()> {
        let len = self.buf.len() as u64;
        if self.buf.iter().any(|b| *b != 0) {
            if self.allowance < len {
                self.allowance = self.room.more(len);
            }
            if self.allowance < len {
                return Err(io::Error::other(Full));
            }
            if let Err(e) = self.file.write_all_at(&self.buf, self.start) {
                self.failed = true;
                return Err(e);
            }
            self.allowance -= len;
            self.written += len;
        }
        self.start += len;
        self.buf.clear();
        Ok(())
    }

    /// Writes out what is pending now (paid for like any block), so that
    /// what was written so far is on disk, or fails [`Full`].
    pub fn settle(&mut self) -> io::Result<()> {
        self.flush_block()
    }

    /// Drops everything from `at` on (an entry that turned out not to be
    /// kept, or did not fit): the file ends there again.
    pub fn truncate_to(&mut self, at: u64) -> io::Result<()> {
        if at >= self.start {
            self.buf.truncate((at - self.start) as usize);
            return Ok(());
        }
        self.buf.clear();
        self.file.set_len(at).inspect_err(|_| self.failed = true)?;
        self.start = at;
        Ok(())
    }

    /// Drops the block being filled: what was written stays, whole blocks.
    pub fn drop_pending(&mut self) {
        self.buf.clear();
    }

    /// Finishes the copy: the last block, its length (holes at the end
    /// included), synced. The last block is written even without room (at
    /// most 4 KiB: a tar's end).
    pub fn finish(mut self) -> io::Result<File> {
        self.allowance = self.allowance.max(BLOCK);
        self.flush_block()?;
        self.file.set_len(self.start)?;
        self.file.sync_all()?;
        Ok(self.file)
    }
}

impl Write for Sparse<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let to_boundary = (BLOCK - self.position() % BLOCK) as usize;
        let n = data.len().min(to_boundary);
        self.buf.extend_from_slice(&data[..n]);
        if self.position().is_multiple_of(BLOCK) {
            if let Err(e) = self.flush_block() {
                // The caller never saw these bytes written.
                self.buf.truncate(self.buf.len() - n);
                return Err(e);
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt as _;

    /// Allows a fixed number of bytes in all.
    struct Fixed(u64);

    impl Room for Fixed {
        fn more(&mut self, _need: u64) -> u64 {
            std::mem::take(&mut self.0)
        }
    }

    fn tmp() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("copy");
        (dir, path)
    }

    #[test]
    fn zero_blocks_become_holes_and_the_content_reads_back_the_same() {
        let (_dir, path) = tmp();
        let mut room = Unlimited;
        let mut w = Sparse::new(File::create(&path).unwrap(), &mut room);
        let mut content = b"root:x:0:0\n".to_vec();
        content.resize(64 << 20, 0);
        content.extend_from_slice(b"tail");
        content.resize(content.len() + 5000, 0);
        io::copy(&mut &content[..], &mut w).unwrap();
        let written = w.written();
        w.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), content);
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.len(), content.len() as u64);
        assert!(meta.blocks() * 512 <= 64 * 1024, "{} blocks", meta.blocks());
        assert_eq!(written, 2 * BLOCK, "two blocks hold data");
    }

    #[test]
    fn without_room_a_write_fails_full_and_what_was_written_stays() {
        let (_dir, path) = tmp();
        let mut room = Fixed(BLOCK);
        let mut w = Sparse::new(File::create(&path).unwrap(), &mut room);
        let err = io::copy(&mut &[7u8; 3 * BLOCK as usize][..], &mut w).unwrap_err();
        assert!(is_full(&err), "{err}");
        assert_eq!(w.position(), BLOCK, "the refused block is not counted");
        w.drop_pending();
        w.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), vec![7u8; BLOCK as usize]);
        // Zeros need no room at all.
        let mut none = Fixed(0);
        let mut w = Sparse::new(File::create(&path).unwrap(), &mut none);
        io::copy(&mut &vec![0u8; 1 << 20][..], &mut w).unwrap();
        w.finish().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 1 << 20);
    }

    #[test]
    fn truncating_back_forgets_an_entry() {
        let (_dir, path) = tmp();
        let mut room = Unlimited;
        let mut w = Sparse::new(File::create(&path).unwrap(), &mut room);
        w.write_all(b"keep").unwrap();
        let mark = w.position();
        w.write_all(&[9u8; 10_000]).unwrap();
        w.truncate_to(mark).unwrap();
        w.write_all(b"!").unwrap();
        w.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"keep!");
    }
}
