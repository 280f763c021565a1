//! Reaching and locking the engines of a fleet, all at once.

use futures_util::future::join_all;

use crate::desired::DesiredState;
use crate::engine::{Engine, EngineError};
use crate::hosts::{HostSpec, Part};
use crate::lock::FleetLock;

use super::failure::{Failure, HostFailure};

/// One engine of the fleet, reached, with what should run on it.
pub struct Site {
    pub host: HostSpec,
    pub desired: DesiredState,
    pub engine: Engine,
}

/// Reaches every part's engine at once. `default_url` is `--docker-host`, used
/// for `local` unless `[hosts.local]` names an engine.
pub async fn connect(parts: Vec<Part>, default_url: Option<&str>) -> (Vec<Site>, Vec<HostFailure>) {
    let attempts = parts.into_iter().map(|part| async move {
        let engine = Engine::connect(part.host.url(default_url), part.host.tls.as_ref()).await;
        match engine {
            Ok(engine) => Ok(Site {
                host: part.host,
                desired: part.desired,
                engine,
            }),
            Err(e) => Err(HostFailure {
                failure: unreachable(&part.host, e),
                host: part.host.name,
            }),
        }
    });
    partition(join_all(attempts).await)
}

/// The generic help names `--docker-host`; an engine from `[hosts]` gets its own.
fn unreachable(host: &HostSpec, e: EngineError) -> Failure {
    match e {
        EngineError::Unreachable { endpoint, why } if host.docker_host.is_some() => {
            Failure::UnreachableDeclared {
                host: host.name.clone(),
                endpoint,
                why,
            }
        }
        other => Failure::Unreachable(other),
    }
}

/// Takes the fleet's lock on every site at once; a site whose lock is held fails.
pub async fn lock(sites: Vec<Site>, holder: &str) -> (Vec<(Site, FleetLock)>, Vec<HostFailure>) {
    let attempts = sites.into_iter().map(|site| async move {
        match FleetLock::acquire(&site.engine, &site.desired.fleet, holder).await {
            Ok(lock) => Ok((site, lock)),
            Err(e) => Err(HostFailure {
                host: site.host.name.clone(),
                failure: e.into(),
            }),
        }
    });
    partition(join_all(attempts).await)
}

/// Splits results into successes and failures, keeping order.
fn partition<T>(results: Vec<Result<T, HostFailure>>) -> (Vec<T>, Vec<HostFailure>) {
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for r in results {
        match r {
            Ok(v) => ok.push(v),
            Err(f) => failed.push(f),
        }
    }
    (ok, failed)
}
