//! The one adapter to the Docker Engine API. bollard types stay inside this
//! module: callers see deckhand's own types and [`EngineError`].

mod archive;
mod containers;
mod events;
mod exec;
mod images;
mod networks;

use std::collections::BTreeMap;

use bollard::Docker;

pub use events::ContainerEvent;
pub use exec::ExecOutput;
pub use images::HOLDER_IMAGE_NAME;

/// The oldest Engine API deckhand speaks (Debian's docker.io 20.10).
const MIN_API: (u32, u32) = (1, 41);

/// Why an engine call failed, with the engine's own message.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot reach the Docker engine at {endpoint}: {message}\n  help: start the engine, or point deckhand elsewhere with --docker-host URL or DOCKER_HOST")]
    Unreachable { endpoint: String, message: String },
    #[error("the engine at {endpoint} speaks API {version}; deckhand needs 1.41 or newer")]
    TooOld { endpoint: String, version: String },
    #[error("{what}: not found ({message})")]
    NotFound { what: String, message: String },
    #[error("{what}: conflict ({message})")]
    Conflict { what: String, message: String },
    #[error("{what}: {message}")]
    Api { what: String, message: String },
    #[error("{what}: the archive is over {cap} bytes")]
    TooLarge { what: String, cap: usize },
}

impl EngineError {
    fn from_bollard(what: impl Into<String>, e: bollard::errors::Error) -> EngineError {
        let what = what.into();
        match e {
            bollard::errors::Error::DockerResponseServerError {
                status_code: 404,
                message,
            } => EngineError::NotFound { what, message },
            bollard::errors::Error::DockerResponseServerError {
                status_code: 409,
                message,
            } => EngineError::Conflict { what, message },
            bollard::errors::Error::DockerResponseServerError { message, .. } => {
                EngineError::Api { what, message }
            }
            bollard::errors::Error::DockerStreamError { error } => EngineError::Api {
                what,
                message: error,
            },
            other => EngineError::Api {
                what,
                message: other.to_string(),
            },
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, EngineError::NotFound { .. })
    }

    pub fn is_too_large(&self) -> bool {
        matches!(self, EngineError::TooLarge { .. })
    }

    pub fn is_conflict(&self) -> bool {
        matches!(self, EngineError::Conflict { .. })
    }
}

/// A connected engine.
#[derive(Clone)]
pub struct Engine {
    docker: Docker,
    endpoint: String,
}

/// A container as listed by the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    pub id: String,
    pub name: String,
    pub image: String,
    pub labels: BTreeMap<String, String>,
    /// The engine's state word: created, running, exited, …
    pub state: String,
    pub mounts: Vec<MountInfo>,
    /// Seconds since the epoch.
    pub created: i64,
}

/// A mount inside a container (volumes, binds, tmpfs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    pub destination: String,
    pub kind: String,
    pub read_write: bool,
}

/// A network as listed by the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkInfo {
    pub name: String,
    pub driver: String,
}

/// Everything needed to create a container; built from a `ContainerSpec`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContainer {
    pub name: String,
    pub image: String,
    pub entrypoint: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    pub env: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub hostname: Option<String>,
    /// A network name, or `container:<name>` to share another's namespace.
    pub network_mode: String,
    pub ip: Option<String>,
    pub cap_add: Vec<String>,
    /// `restart: unless-stopped`; off for deckhand's own never-started holders.
    pub restart: bool,
}

impl Engine {
    /// Connects to `host` (else `DOCKER_HOST`, else the local socket) and checks
    /// that the engine answers and is recent enough.
    pub async fn connect(host: Option<&str>) -> Result<Engine, EngineError> {
        let endpoint = host
            .map(str::to_string)
            .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()))
            .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string());
        let unreachable = |message: String| EngineError::Unreachable {
            endpoint: endpoint.clone(),
            message,
        };
        let docker = if endpoint.starts_with("unix://")
            || endpoint.starts_with("tcp://")
            || endpoint.starts_with("http://")
        {
            Docker::connect_with_host(&endpoint).map_err(|e| unreachable(e.to_string()))?
        } else if endpoint.starts_with('/') {
            // A bare socket path.
            Docker::connect_with_unix(&endpoint, 120, bollard::API_DEFAULT_VERSION)
                .map_err(|e| unreachable(e.to_string()))?
        } else {
            return Err(unreachable(
                "unsupported URL scheme: use unix:///path/to/docker.sock or tcp://host:port"
                    .to_string(),
            ));
        };
        let version = docker
            .version()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let api = version.api_version.unwrap_or_default();
        let parsed: Vec<u32> = api.split('.').filter_map(|p| p.parse().ok()).collect();
        if parsed.len() < 2 || (parsed[0], parsed[1]) < MIN_API {
            return Err(EngineError::TooOld {
                endpoint,
                version: api,
            });
        }
        Ok(Engine { docker, endpoint })
    }

    /// The URL this engine was reached at.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}
