//! A file's content hashed while it streams: its size and sha256, and only
//! its first bytes kept. Nothing here sizes a buffer from what a container
//! claims (`st_size`, a tar header): memory is the head kept and one chunk.

use std::io::Read;
use std::time::Instant;

use sha2::{Digest as _, Sha256};

use crate::config::MAX_SOURCE_BYTES;
use crate::live::LiveContent;

/// Bytes read at a time.
const CHUNK: usize = 64 * 1024;

/// Content being read: fed chunk by chunk, in order.
pub struct Hasher {
    sha: Sha256,
    size: u64,
    head: Vec<u8>,
    keep: usize,
}

impl Hasher {
    /// A hasher that keeps at most `keep` bytes of the head.
    pub fn new(keep: usize) -> Hasher {
        Hasher {
            sha: Sha256::new(),
            size: 0,
            head: Vec::new(),
            keep,
        }
    }

    /// Feeds the next bytes; `false` once the content is longer than any
    /// declared content can be: the rest need not be read.
    pub fn push(&mut self, bytes: &[u8]) -> bool {
        let room = (MAX_SOURCE_BYTES + 1).saturating_sub(self.size);
        let take = &bytes[..bytes.len().min(usize::try_from(room).unwrap_or(usize::MAX))];
        let kept = self.keep.saturating_sub(self.head.len()).min(take.len());
        self.head.extend_from_slice(&take[..kept]);
        self.sha.update(take);
        self.size += take.len() as u64;
        !self.is_over()
    }

    fn is_over(&self) -> bool {
        self.size > MAX_SOURCE_BYTES
    }

    /// What was read.
    pub fn finish(self) -> LiveContent {
        let over = self.is_over();
        LiveContent {
            size: self.size,
            sha256: (!over).then(|| hex::encode(self.sha.finalize())),
            head: self.head,
        }
    }
}

/// Why a read was given up.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the decky's read budget ran out")]
    OutOfTime,
}

/// Reads `from` to its end (or past the cap), keeping `keep` bytes of its
/// head; given up at `deadline`.
pub fn read_content(
    mut from: impl Read,
    keep: usize,
    deadline: Instant,
) -> Result<LiveContent, StreamError> {
    let mut hasher = Hasher::new(keep);
    let mut chunk = vec![0u8; CHUNK];
    loop {
        if Instant::now() >= deadline {
            return Err(StreamError::OutOfTime);
        }
        let n = match from.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        if !hasher.push(&chunk[..n]) {
            break;
        }
    }
    Ok(hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[test]
    fn a_small_file_is_kept_whole_with_its_digest() {
        let c = read_content(&b"hello\n"[..], 1024, later()).unwrap();
        assert_eq!(c, LiveContent::of(b"hello\n"));
        assert!(c.whole());
    }

    #[test]
    fn only_the_head_is_kept_but_the_digest_is_of_everything() {
        let bytes = vec![b'a'; 300 * 1024];
        let c = read_content(&bytes[..], 1024, later()).unwrap();
        assert_eq!(c.head.len(), 1024);
        assert_eq!(c.size, bytes.len() as u64);
        assert_eq!(c.sha256, LiveContent::of(&bytes).sha256);
        assert!(!c.whole());
    }

    #[test]
    fn content_past_the_largest_declared_content_is_over_and_not_read_on() {
        // An endless reader: reading stops at the cap, the digest is none.
        let c = read_content(std::io::repeat(0), 16, later()).unwrap();
        assert_eq!(c.size, MAX_SOURCE_BYTES + 1);
        assert_eq!(c.sha256, None);
        assert!(!c.whole() && !c.is(&LiveContent::of(b"").sha256.unwrap()));
    }

    #[test]
    fn a_read_past_its_deadline_is_given_up() {
        let past = Instant::now() - Duration::from_millis(1);
        assert!(matches!(
            read_content(std::io::repeat(0), 16, past),
            Err(StreamError::OutOfTime)
        ));
    }
}
