//! Reaching an engine: `unix://`, plain `tcp://`, `tcp://` with TLS (through
//! a bridge of deckhand's, trusting the given CA only) and `ssh://user@host`
//! (through [`SshBridge`]); then a version check.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bollard::{Docker, API_DEFAULT_VERSION};

use super::ssh::SshBridge;
use super::unreachable::{check_url, socket_path, Unreachable};
use super::{Engine, EngineError, KeepAlive};

/// The oldest Engine API deckhand speaks (Debian's docker.io 20.10).
const MIN_API: (u32, u32) = (1, 41);

/// How long one request may take (bollard's read/write timeout), in seconds.
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// How long the first call may take before the engine counts as unreachable:
/// a host that drops packets must not hold up the other hosts' plans for minutes.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Client certificates for a `tcp://` engine that requires TLS. The server's
/// certificate is verified against `ca` and its name against the URL's host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Engine {
    /// Connects to `url` (else `DOCKER_HOST`, else the local socket) and checks
    /// that the engine answers and is recent enough.
    pub async fn connect(url: Option<&str>, tls: Option<&TlsFiles>) -> Result<Engine, EngineError> {
        let endpoint = url
            .map(str::to_string)
            .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()))
            .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string());
        let unreachable = |why: Unreachable| EngineError::Unreachable {
            endpoint: endpoint.clone(),
            why,
        };
        check_url(&endpoint).map_err(unreachable)?;
        if let Some(path) = socket_path(&endpoint) {
            check_socket(path).map_err(unreachable)?;
        }
        let (socket, keep) = bridge(&endpoint, tls).await?;
        let docker = match &socket {
            Some(socket) => Docker::connect_with_unix(
                &socket.to_string_lossy(),
                REQUEST_TIMEOUT_SECS,
                API_DEFAULT_VERSION,
            ),
            None => client(&endpoint),
        }
        .map_err(|e| unreachable(Unreachable::of_error(&endpoint, &e)))?;
        let api = probe(&docker, &endpoint).await?;
        let parsed: Vec<u32> = api.split('.').filter_map(|p| p.parse().ok()).collect();
        if parsed.len() < 2 || (parsed[0], parsed[1]) < MIN_API {
            return Err(EngineError::TooOld {
                endpoint,
                version: api,
            });
        }
        Ok(Engine {
            docker,
            endpoint,
            _keep: keep,
        })
    }
}

/// The local socket an ssh:// or a TLS tcp:// engine is reached through, and
/// what keeps its bridge alive; `None` for an engine bollard reaches itself.
async fn bridge(
    endpoint: &str,
    tls: Option<&TlsFiles>,
) -> Result<(Option<PathBuf>, Option<KeepAlive>), EngineError> {
    let unreachable = |why: Unreachable| EngineError::Unreachable {
        endpoint: endpoint.to_string(),
        why,
    };
    let scheme = endpoint.split_once("://").map(|(s, _)| s);
    Ok(match (scheme, tls) {
        (Some("ssh"), None) => {
            let ssh = SshBridge::start(endpoint)
                .await
                .map_err(|problem| unreachable(Unreachable::Ssh { problem }))?;
            (Some(ssh.bridge.socket.clone()), Some(Arc::new(ssh)))
        }
        (Some("tcp"), Some(tls)) => {
            let bridge = super::tls::start(endpoint, tls)
                .await
                .map_err(unreachable)?;
            (Some(bridge.socket.clone()), Some(Arc::new(bridge)))
        }
        (_, Some(_)) => {
            return Err(unreachable(Unreachable::BadUrl {
                problem: "TLS certificates are for tcp:// engines only".to_string(),
            }))
        }
        _ => (None, None),
    })
}

/// Asks the engine its API version, within the probe's time.
async fn probe(docker: &Docker, endpoint: &str) -> Result<String, EngineError> {
    let unreachable = |why: Unreachable| EngineError::Unreachable {
        endpoint: endpoint.to_string(),
        why,
    };
    let version = match tokio::time::timeout(PROBE_TIMEOUT, docker.version()).await {
        Ok(Ok(version)) => version,
        Ok(Err(_)) if endpoint.starts_with("ssh://") => {
            return Err(unreachable(Unreachable::Ssh {
                problem: "ssh logged in, but `docker system dial-stdio` gave no engine there"
                    .to_string(),
            }))
        }
        Ok(Err(e)) => return Err(unreachable(Unreachable::of_error(endpoint, &e))),
        Err(_) => {
            return Err(unreachable(Unreachable::TimedOut {
                seconds: PROBE_TIMEOUT.as_secs(),
            }))
        }
    };
    Ok(version.api_version.unwrap_or_default())
}

/// A socket path that is missing, forbidden or not a socket is told before
/// any connection: the OS's answer to a connect is less exact.
fn check_socket(path: &str) -> Result<(), Unreachable> {
    use std::os::unix::fs::FileTypeExt as _;
    match std::fs::metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => Ok(()),
        Ok(_) => Err(Unreachable::BadUrl {
            problem: format!("{path} is not a socket"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Unreachable::SocketMissing {
            path: path.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            Err(Unreachable::PermissionDenied {
                socket: Some(path.to_string()),
            })
        }
        Err(_) => Ok(()),
    }
}

/// The bollard client for a `unix://`, plain `tcp://` or bare-path `endpoint`
/// (already checked by [`check_url`]); nothing is sent yet.
fn client(endpoint: &str) -> Result<Docker, bollard::errors::Error> {
    if endpoint.starts_with('/') {
        return Docker::connect_with_unix(endpoint, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION);
    }
    Docker::connect_with_host(endpoint)
}
