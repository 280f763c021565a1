//! Entries of the engine's tar copied into a kept tar, one at a time, each
//! whole or not at all: within `evidence_max_mb` and the room the quota and
//! the disk leave, and (for a file deckhand wrote) only when its content is
//! not what deckhand wrote.

use std::io::{self, Read};

use sha2::Digest as _;

use super::sparse::{is_full, Sparse};

/// Why an entry was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cut {
    /// Past `evidence_max_mb`.
    OverMax,
    /// No room left (the quota, or the disk's reserve).
    NoRoom,
    /// The engine's archive broke off.
    Broken(String),
    /// Not read from the host (a special file is never opened), and why.
    NotRead(String),
    /// Past the entries a layer's tar holds.
    TooMany,
    /// The layer capture's time ran out before it.
    OutOfTime,
}

/// What became of one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appended {
    Kept,
    /// Its content is what deckhand wrote: not evidence, taken back out.
    Own,
    Cut(Cut),
}

/// A tar being kept.
pub struct TarOut<'a, 'r> {
    builder: tar::Builder<&'a mut Sparse<'r>>,
    max: u64,
    /// The disk's reserve was reached: nothing more is tried.
    full: bool,
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hash: sha2::Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

impl<'a, 'r> TarOut<'a, 'r> {
    pub fn new(out: &'a mut Sparse<'r>, max: u64) -> TarOut<'a, 'r> {
        let mut builder = tar::Builder::new(out);
        builder.mode(tar::HeaderMode::Complete);
        TarOut {
            builder,
            max,
            full: false,
        }
    }

    /// Appends `entry` as `name`; with `own` (the sha256 deckhand wrote
    /// there), only when its content differs. Fails only when the disk
    /// refuses a write.
    pub fn append<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        name: &str,
        own: Option<&str>,
    ) -> io::Result<Appended> {
        let header = entry.header().clone();
        self.append_data(header, name, entry, own)
    }

    /// Appends an entry of `header` (its size exactly the bytes `data`
    /// gives) as `name`, like [`TarOut::append`].
    pub fn append_data(
        &mut self,
        mut header: tar::Header,
        name: &str,
        data: impl Read,
        own: Option<&str>,
    ) -> io::Result<Appended> {
        if self.full {
            return Ok(Appended::Cut(Cut::NoRoom));
        }
        let size = header.size().unwrap_or(u64::MAX);
        let mark = self.builder.get_ref().position();
        // Header and padding, with room for a long name's extra header.
        if mark.saturating_add(size).saturating_add(3 * 512) > self.max {
            return Ok(Appended::Cut(Cut::OverMax));
        }
        self.builder.get_mut().part(size.saturating_add(3 * 512));
        let mut data = Hashing {
            inner: data,
            hash: sha2::Sha256::new(),
        };
        let appended = self.builder.append_data(&mut header, name, &mut data);
        let out = self.builder.get_mut();
        let appended = appended.and_then(|()| out.settle());
        match appended {
            Ok(()) if own.is_some_and(|o| hex::encode(data.hash.finalize()) == o) => {
                out.truncate_to(mark)?;
                Ok(Appended::Own)
            }
            Ok(()) => Ok(Appended::Kept),
            Err(e) if out.failed => Err(e),
            Err(e) => {
                out.truncate_to(mark)?;
                let full = is_full(&e);
                self.full |= full && out.reserve_reached();
                Ok(Appended::Cut(match full {
                    true => Cut::NoRoom,
                    false => Cut::Broken(e.to_string()),
                }))
            }
        }
    }

    /// Ends the tar (its two zero blocks: holes).
    pub fn finish(self) -> io::Result<()> {
        self.builder.into_inner().map(|_| ())
    }
}

/// Bytes of `from` copied to `out` up to `max`; what did not fit says why.
pub fn copy_content(
    from: &mut impl Read,
    out: &mut Sparse<'_>,
    max: u64,
) -> io::Result<Option<Cut>> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let room = max.saturating_sub(out.position());
        let want = buf
            .len()
            .min(usize::try_from(room).unwrap_or(usize::MAX))
            .max(1);
        let (n, cut) = match from.read(&mut buf[..want]) {
            Ok(0) => (0, None),
            Ok(_) if room == 0 => (0, Some(Cut::OverMax)),
            Ok(n) => (n, None),
            Err(e) => (0, Some(Cut::Broken(e.to_string()))),
        };
        let written = match n {
            0 => out.settle(),
            n => io::Write::write_all(out, &buf[..n]),
        };
        match written {
            Err(e) if is_full(&e) => {
                out.drop_pending();
                return Ok(Some(Cut::NoRoom));
            }
            Err(e) => return Err(e),
            Ok(()) if n == 0 => return Ok(cut),
            Ok(()) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::sparse::Unlimited;
    use super::*;

    /// A tar of (name, content) files.
    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn names(path: &std::path::Path) -> Vec<String> {
        let mut a = tar::Archive::new(std::fs::File::open(path).unwrap());
        let entries = a.entries().unwrap();
        entries
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn an_own_file_is_taken_out_and_what_is_over_the_cap_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.tar");
        let src = tar_of(&[("a", b"mine\n"), ("b", b"theirs\n"), ("c", &[1u8; 9000])]);
        let mine = hex::encode(sha2::Sha256::digest(b"mine\n"));
        let mut room = Unlimited;
        let mut sparse = Sparse::new(std::fs::File::create(&path).unwrap(), &mut room);
        let mut out = TarOut::new(&mut sparse, 8192);
        let mut archive = tar::Archive::new(&src[..]);
        let mut got = Vec::new();
        for (entry, own) in archive
            .entries()
            .unwrap()
            .zip([Some(&mine), Some(&mine), None])
        {
            let mut entry = entry.unwrap();
            let name = format!("x/{}", entry.path().unwrap().display());
            got.push(
                out.append(&mut entry, &name, own.map(String::as_str))
                    .unwrap(),
            );
        }
        out.finish().unwrap();
        sparse.finish().unwrap();
        assert_eq!(
            got,
            [Appended::Own, Appended::Kept, Appended::Cut(Cut::OverMax)]
        );
        assert_eq!(names(&path), ["x/b"]);
    }
}
