//! Why one engine's part of a pass could not be done: a closed set, typed to
//! the view that draws it (no downcasts).

use crate::engine::{EngineError, Unreachable, UrlFrom};
use crate::lock::{Held, LockError};
use crate::observe::ObserveError;
use crate::plan::PlanError;

/// What stopped one engine's part. The other engines go on.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The engine could not be reached (the generic help names `--docker-host`).
    #[error(transparent)]
    Unreachable(EngineError),
    /// An engine declared under `[hosts.NAME]` could not be reached.
    #[error("cannot reach the Docker engine at {endpoint}: {why}\n  help: {help}", help = .why.help(UrlFrom::Host(.host)))]
    UnreachableDeclared {
        host: String,
        endpoint: String,
        why: Unreachable,
    },
    /// Another run holds the fleet's lock on this engine.
    #[error(transparent)]
    Locked(Held),
    /// Taking or releasing the lock failed at the engine.
    #[error(transparent)]
    Lock(EngineError),
    #[error(transparent)]
    Observe(#[from] ObserveError),
    #[error(transparent)]
    Plan(#[from] PlanError),
}

impl From<LockError> for Failure {
    fn from(e: LockError) -> Failure {
        match e {
            LockError::Held(held) => Failure::Locked(held),
            LockError::Engine(e) => Failure::Lock(e),
        }
    }
}

/// One engine whose part failed, and why.
#[derive(Debug, thiserror::Error)]
#[error("{failure}")]
pub struct HostFailure {
    pub host: String,
    pub failure: Failure,
}
