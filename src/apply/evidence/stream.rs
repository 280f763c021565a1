//! The engine's archive of a path, read as it streams: a blocking reader
//! (for the tar crate) fed chunk by chunk, so a capture is never held whole
//! in memory.

use std::io::Read;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::engine::{Engine, EngineError};

/// Chunks in flight between the engine's stream and the reader.
const CHUNKS: usize = 8;

/// A blocking reader over the chunks an async task sends.
struct Chunks {
    rx: mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl Read for Chunks {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// Runs `consume` on a blocking thread over the tar the engine streams of
/// `path` in `container` (one archive call), and returns what it gave with
/// whether the path was there (`Ok(false)`: it read an empty stream). A
/// stream that breaks off reads as ended, and its error is returned beside.
pub async fn with_archive<T: Send + 'static>(
    engine: &Engine,
    container: &str,
    path: &str,
    consume: impl FnOnce(&mut dyn Read) -> T + Send + 'static,
) -> (Result<bool, EngineError>, T) {
    crate::verbose!("evidence: one archive read of {path} in {container}");
    let (tx, rx) = mpsc::channel(CHUNKS);
    let task = tokio::task::spawn_blocking(move || {
        let mut chunks = Chunks {
            rx,
            current: Bytes::new(),
        };
        consume(&mut chunks)
    });
    let pumped = engine.download_into(container, path, u64::MAX, tx).await;
    let out = task.await.expect("a capture does not panic");
    (pumped, out)
}
