//! A run across every engine of a fleet (SPEC §6): each engine is reached,
//! locked, observed and planned concurrently, and one engine that fails fails
//! only its own part.

use anyhow::anyhow;
use futures_util::future::join_all;

use crate::desired::DesiredState;
use crate::engine::{Engine, EngineError};
use crate::hosts::{HostSpec, Part};
use crate::live::LiveState;
use crate::lock::FleetLock;
use crate::observe::observe;
use crate::plan::{plan, Plan};

/// One engine of the fleet, reached.
pub struct Site {
    pub host: HostSpec,
    pub desired: DesiredState,
    pub engine: Engine,
}

/// One engine's live state and plan.
pub struct Observed {
    pub live: LiveState,
    pub plan: Plan,
}

/// An engine whose part could not be done, and why.
#[derive(Debug)]
pub struct HostFailure {
    pub host: String,
    pub error: anyhow::Error,
}

impl HostFailure {
    /// The error, naming the host when the fleet has several.
    pub fn message(&self, several: bool) -> String {
        if several {
            format!("host {}: {:#}", self.host, self.error)
        } else {
            format!("{:#}", self.error)
        }
    }
}

/// Splits results into successes and failures, keeping order.
pub fn partition<T>(results: Vec<(String, anyhow::Result<T>)>) -> (Vec<T>, Vec<HostFailure>) {
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for (host, r) in results {
        match r {
            Ok(v) => ok.push(v),
            Err(error) => failed.push(HostFailure { host, error }),
        }
    }
    (ok, failed)
}

/// Reaches every part's engine at once. `default_url` is `--docker-host`, used
/// for `local` unless `[hosts.local]` names an engine.
pub async fn connect(parts: Vec<Part>, default_url: Option<&str>) -> (Vec<Site>, Vec<HostFailure>) {
    let attempts = parts.into_iter().map(|part| async move {
        let url = part.host.url(default_url);
        let name = part.host.name.clone();
        let declared = part.host.docker_host.is_some();
        let engine = Engine::connect(url, part.host.tls.as_ref())
            .await
            .map_err(|e| match e {
                // The generic help names --docker-host; this engine comes from [hosts].
                EngineError::Unreachable { endpoint, message } if declared => anyhow!(
                    "cannot reach the Docker engine at {endpoint}: {message}\n  help: start that engine, or correct docker_host (and tls) in [hosts.{name}]"
                ),
                other => other.into(),
            });
        (
            name,
            engine.map(|engine| Site {
                host: part.host,
                desired: part.desired,
                engine,
            }),
        )
    });
    partition(join_all(attempts).await)
}

/// Takes the fleet's lock on every site at once; a site whose lock is held fails.
pub async fn lock(sites: Vec<Site>, command: &str) -> (Vec<(Site, FleetLock)>, Vec<HostFailure>) {
    let attempts = sites.into_iter().map(|site| async move {
        let lock = FleetLock::acquire(&site.engine, &site.desired.fleet, command).await;
        (
            site.host.name.clone(),
            lock.map_err(anyhow::Error::from).map(|lock| (site, lock)),
        )
    });
    partition(join_all(attempts).await)
}

/// Observes and plans one site; its plan names its host.
pub async fn observe_and_plan(site: &Site, targets: &[String]) -> anyhow::Result<Observed> {
    let live = observe(&site.engine, &site.desired, targets).await?;
    let plan = plan(&site.desired, &live, targets)?.on_host(&site.host.name);
    Ok(Observed { live, plan })
}

/// Observes and plans every site at once; the observed keep the sites' order.
pub async fn observe_all<'a>(
    sites: &'a [Site],
    targets: &[String],
) -> (Vec<(&'a Site, Observed)>, Vec<HostFailure>) {
    let results = join_all(sites.iter().map(|site| observe_and_plan(site, targets))).await;
    let mut observed = Vec::new();
    let mut failures = Vec::new();
    for (site, result) in sites.iter().zip(results) {
        match result {
            Ok(o) => observed.push((site, o)),
            Err(error) => failures.push(HostFailure {
                host: site.host.name.clone(),
                error,
            }),
        }
    }
    (observed, failures)
}
