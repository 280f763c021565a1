//! A loopback proxy in front of the engine's socket that a test can cut: the
//! engine "goes away" for deckhand without disturbing the real daemon.

use std::net::Shutdown;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const ENGINE: &str = "/var/run/docker.sock";

pub struct Proxy {
    pub path: PathBuf,
    stopped: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<UnixStream>>>,
}

impl Proxy {
    /// Listens on `path` and forwards every connection to the engine.
    pub fn start(path: &Path) -> Proxy {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path).expect("bind the proxy socket");
        let stopped = Arc::new(AtomicBool::new(false));
        let streams: Arc<Mutex<Vec<UnixStream>>> = Arc::default();
        let (stop, open) = (stopped.clone(), streams.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let Ok(engine) = UnixStream::connect(ENGINE) else {
                    continue;
                };
                let mut open = open.lock().unwrap();
                for (from, to) in [(&client, &engine), (&engine, &client)] {
                    let (mut from, mut to) = (from.try_clone().unwrap(), to.try_clone().unwrap());
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(Shutdown::Write);
                    });
                }
                open.push(client);
                open.push(engine);
            }
        });
        Proxy {
            path: path.to_path_buf(),
            stopped,
            streams,
        }
    }

    /// `unix://` URL for `--docker-host`.
    pub fn url(&self) -> String {
        format!("unix://{}", self.path.display())
    }

    /// Cuts every connection and stops listening: the engine is gone.
    pub fn kill(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = UnixStream::connect(&self.path);
        for s in self.streams.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.kill();
    }
}
