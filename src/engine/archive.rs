//! Reading and writing files inside containers through the archive API.

use bollard::query_parameters::{
    DownloadFromContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::{Engine, EngineError};

impl Engine {
    /// The engine's tar stream of `path` in `container`.
    fn tar_of(
        &self,
        container: &str,
        path: &str,
    ) -> impl futures_util::Stream<Item = Result<bytes::Bytes, bollard::errors::Error>> {
        let options = DownloadFromContainerOptionsBuilder::default()
            .path(path)
            .build();
        self.docker
            .download_from_container(container, Some(options))
    }

    /// A tar of `path` (a file or a directory) in `container`, or `None` when
    /// the path does not exist. The body is drained at once: the engine keeps
    /// the container locked until it is. Over `cap` bytes, the read is
    /// abandoned with [`EngineError::TooLarge`].
    pub async fn download(
        &self,
        container: &str,
        path: &str,
        cap: usize,
    ) -> Result<Option<Vec<u8>>, EngineError> {
        let mut stream = self.tar_of(container, path);
        let mut tar = Vec::new();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(bytes) if tar.len() + bytes.len() > cap => {
                    // Dropping the stream closes the connection: the engine stops sending.
                    return Err(EngineError::TooLarge {
                        what: format!("read {path} in {container}"),
                        cap,
                    });
                }
                Ok(bytes) => tar.extend_from_slice(&bytes),
                Err(e) => {
                    let e = EngineError::from_bollard(format!("read {path} in {container}"), e);
                    // A 404 names either the path or the container; the caller
                    // observes containers separately, so this is a missing path.
                    return if e.is_not_found() { Ok(None) } else { Err(e) };
                }
            }
        }
        Ok(Some(tar))
    }

    /// Streams a tar of `path` in `container` into `to`, chunk by chunk as
    /// it comes; `false` when the path does not exist. Memory is what the
    /// receiver holds, never the archive: over `cap` bytes the read is
    /// abandoned with [`EngineError::TooLarge`], and when the receiver is
    /// done (it has what it wanted) the read ends there.
    pub async fn download_into(
        &self,
        container: &str,
        path: &str,
        cap: u64,
        to: tokio::sync::mpsc::Sender<bytes::Bytes>,
    ) -> Result<bool, EngineError> {
        let mut stream = self.tar_of(container, path);
        let mut sent = 0u64;
        while let Some(chunk) = stream.next().await {
            let bytes = match chunk {
                Ok(bytes) => bytes,
                Err(e) => {
                    let e = EngineError::from_bollard(format!("read {path} in {container}"), e);
                    return if e.is_not_found() { Ok(false) } else { Err(e) };
                }
            };
            sent += bytes.len() as u64;
            if sent > cap {
                // Dropping the stream closes the connection: the engine stops sending.
                return Err(EngineError::TooLarge {
                    what: format!("read {path} in {container}"),
                    cap: usize::try_from(cap).unwrap_or(usize::MAX),
                });
            }
            if to.send(bytes).await.is_err() {
                break;
            }
        }
        Ok(true)
    }

    /// Extracts `tar` at `/` in `container`.
    pub async fn upload(&self, container: &str, tar: Vec<u8>) -> Result<(), EngineError> {
        // Refuse to replace a directory with a file (or the reverse) rather than
        // let the engine remove a whole directory tree.
        let options = UploadToContainerOptionsBuilder::default()
            .path("/")
            .no_overwrite_dir_non_dir("true")
            .build();
        self.docker
            .upload_to_container(container, Some(options), bollard::body_full(tar.into()))
            .await
            .map_err(|e| EngineError::from_bollard(format!("write files in {container}"), e))
    }
}
