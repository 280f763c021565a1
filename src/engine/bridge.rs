//! A private unix socket that forwards each connection to a remote engine
//! over a transport deckhand sets up itself (an ssh channel, a TLS stream),
//! so that bollard speaks to every engine as to a local socket.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::UnixListener;

/// A byte stream both ways.
pub trait Duplex: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Duplex for T {}

/// Kept alive as long as its connection (an ssh process, say).
pub type Guard = Box<dyn std::any::Any + Send>;

/// Opens one connection to the remote engine.
pub type Connect = Arc<
    dyn Fn() -> Pin<Box<dyn Future<Output = io::Result<(Box<dyn Duplex>, Guard)>> + Send>>
        + Send
        + Sync,
>;

/// A running bridge; dropping it stops accepting and removes the socket.
pub struct Bridge {
    /// The unix socket that reaches the remote engine.
    pub socket: PathBuf,
    accept: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Bridge {
    /// Serves a new socket in a private directory; each connection made to it
    /// is forwarded over a connection from `connect`.
    pub fn start(connect: Connect) -> Result<Bridge, String> {
        let dir = tempfile::Builder::new()
            .prefix("deckhand-bridge-")
            .tempdir()
            .map_err(|e| format!("cannot make a directory for the bridge socket: {e}"))?;
        let socket = dir.path().join("docker.sock");
        let listener = UnixListener::bind(&socket)
            .map_err(|e| format!("cannot open the bridge socket: {e}"))?;
        let accept = tokio::spawn(serve(listener, connect));
        Ok(Bridge {
            socket,
            accept,
            _dir: dir,
        })
    }
}

async fn serve(listener: UnixListener, connect: Connect) {
    while let Ok((mut conn, _)) = listener.accept().await {
        let connect = connect.clone();
        tokio::spawn(async move {
            // A failed connection drops the client's: its request fails with that.
            let Ok((mut remote, _guard)) = connect().await else {
                return;
            };
            let _ = tokio::io::copy_bidirectional(&mut conn, &mut remote).await;
        });
    }
}
