//! The one adapter to the Docker Engine API. bollard types stay inside this
//! module: callers see deckhand's own types and [`EngineError`].

mod archive;
mod bridge;
mod changes;
mod connect;
mod containers;
mod events;
mod exec;
mod images;
mod inspect;
mod networks;
mod pull;
mod settings;
mod ssh;
mod tls;
mod unreachable;

use std::collections::BTreeMap;

use bollard::Docker;

pub use changes::LayerChange;
pub use connect::TlsFiles;
pub use events::ContainerEvent;
pub use exec::{ExecOutput, EXEC_TIMEOUT, OUTPUT_CAP};
pub use images::HOLDER_IMAGE_NAME;
pub use inspect::{ContainerDetails, ImageDefaults, Running};
pub use unreachable::{Unreachable, UrlFrom};

/// Why an engine call failed, with the engine's own message.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot reach the Docker engine at {endpoint}: {why}\n  help: {help}", help = .why.help(UrlFrom::Flag))]
    Unreachable { endpoint: String, why: Unreachable },
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
    #[error("{what} did not finish within {seconds} s: deckhand gave up on it (the engine cannot stop it; it may still run in the container)")]
    TimedOut { what: String, seconds: u64 },
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
    /// Keeps the bridge of an `ssh://` or TLS engine open while a clone is in use.
    _keep: Option<KeepAlive>,
}

/// Whatever must live as long as an engine's client (its bridge).
type KeepAlive = std::sync::Arc<dyn std::any::Any + Send + Sync>;

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
    /// Networks joined, with the address asked for on each ("" = none asked).
    pub networks: BTreeMap<String, String>,
    /// Networks joined, with the IPv4 address held on each now ("" = none yet).
    pub addresses: BTreeMap<String, String>,
    /// Host ports a running container publishes: `(host ip, port, proto)`.
    pub published: Vec<(String, u16, String)>,
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
    /// Further networks joined before the container starts, with their address.
    pub also_joins: Vec<(String, Option<String>)>,
    /// Capabilities, sysctls, bind mounts, logging, restart policy, limits, …
    /// (the operator's labels are in `labels` already).
    pub settings: crate::settings::Settings,
    /// Published ports, `[ip:]host:container/proto`.
    pub publish: Vec<String>,
}

impl Engine {
    /// The URL this engine was reached at.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}
