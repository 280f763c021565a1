//! A container's configuration as created, and its image's defaults: what a
//! container made by another tool (DECNET's docker-compose) is compared with.

use std::collections::BTreeMap;

use super::{Engine, EngineError};

/// How a container was created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerDetails {
    pub id: String,
    pub name: String,
    pub image: String,
    pub entrypoint: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    /// `KEY=value`, image defaults included.
    pub env: Vec<String>,
    pub hostname: String,
    /// Capabilities, sysctls, bind mounts, logging, limits, … (its labels
    /// are all of its labels, as `labels`).
    pub settings: crate::settings::Settings,
    /// Published ports, `[ip:]host:container/proto`.
    pub publish: Vec<String>,
    /// `bridge`, a network name, or `container:<id>`.
    pub network_mode: String,
    /// Networks joined, with the static address asked for, if any.
    pub networks: BTreeMap<String, Option<String>>,
    pub labels: BTreeMap<String, String>,
    /// Settings it was created with that deckhand does not model, by their
    /// compose name (`pid`, `ipc`, named volumes, …).
    pub extra_settings: Vec<String>,
}

/// What an image gives a container that sets nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageDefaults {
    pub entrypoint: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// The image's HEALTHCHECK, which a container made without one inherits.
    pub healthcheck: Option<crate::settings::Healthcheck>,
}

impl Engine {
    /// The container's creation settings, or `None` when it does not exist.
    pub async fn container_details(
        &self,
        name: &str,
    ) -> Result<Option<ContainerDetails>, EngineError> {
        let c = match self.docker.inspect_container(name, None).await {
            Ok(c) => c,
            Err(e) => {
                return match EngineError::from_bollard(format!("inspect container {name}"), e) {
                    e if e.is_not_found() => Ok(None),
                    e => Err(e),
                }
            }
        };
        let config = c.config.unwrap_or_default();
        let host = c.host_config.unwrap_or_default();
        let extra_settings = extra_settings(&host);
        let mut settings = super::settings::read(&config, &host);
        let endpoints = c.network_settings.and_then(|n| n.networks);
        let endpoints = endpoints.unwrap_or_default();
        let primary = endpoints.get(host.network_mode.as_deref().unwrap_or_default());
        settings.mac_address = primary.and_then(super::settings::mac_address);
        let networks = endpoints
            .into_iter()
            .map(|(net, endpoint)| {
                let ip = endpoint
                    .ipam_config
                    .and_then(|i| i.ipv4_address)
                    .filter(|ip| !ip.is_empty());
                (net, ip)
            })
            .collect();
        Ok(Some(ContainerDetails {
            id: c.id.unwrap_or_default(),
            name: c
                .name
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            image: config.image.unwrap_or_default(),
            entrypoint: config.entrypoint.filter(|e| !e.is_empty()),
            command: config.cmd.filter(|c| !c.is_empty()),
            env: config.env.unwrap_or_default(),
            hostname: config.hostname.unwrap_or_default(),
            settings,
            publish: published(host.port_bindings.unwrap_or_default()),
            network_mode: host.network_mode.unwrap_or_default(),
            networks,
            labels: config.labels.unwrap_or_default().into_iter().collect(),
            extra_settings,
        }))
    }

    /// The pid (in the engine's process namespace) of a running container's
    /// first process; `None` when it is not running.
    pub async fn container_pid(&self, id: &str) -> Result<Option<u32>, EngineError> {
        Ok(self.running(id).await?.map(|(_, pid)| pid))
    }

    /// Whether container `name`'s writable layer holds nothing anyone made
    /// and no copy could be taken of it: the container is gone, being
    /// removed (a killed run's `rm -f` goes on in the engine), dead, or was
    /// never started (no process ever ran in it).
    pub async fn layer_is_moot(&self, name: &str) -> bool {
        let c = match self.docker.inspect_container(name, None).await {
            Ok(c) => c,
            Err(e) => return EngineError::from_bollard("inspect", e).is_not_found(),
        };
        let state = c.state.unwrap_or_default();
        let status = state.status.map(|s| s.to_string()).unwrap_or_default();
        let started = state.started_at.unwrap_or_default();
        matches!(status.as_str(), "removing" | "dead")
            || started.is_empty()
            || started.starts_with("0001-01-01")
    }

    /// The full id of running container `name` (a name or an id) and the pid
    /// of its first process; `None` when it is not running.
    pub async fn running(&self, name: &str) -> Result<Option<(String, u32)>, EngineError> {
        Ok(self.running_on(name).await?.map(|r| (r.id, r.pid)))
    }

    /// Like [`Engine::running`], with the gateways of the networks it is
    /// on: the addresses the host reaches it from.
    pub async fn running_on(&self, name: &str) -> Result<Option<Running>, EngineError> {
        let c = self
            .docker
            .inspect_container(name, None)
            .await
            .map_err(|e| EngineError::from_bollard(format!("inspect container {name}"), e))?;
        let state = c.state.unwrap_or_default();
        let pid = state.pid.filter(|p| *p > 0 && state.running == Some(true));
        let Some(pid) = pid.and_then(|p| u32::try_from(p).ok()) else {
            return Ok(None);
        };
        let networks = c
            .network_settings
            .and_then(|n| n.networks)
            .unwrap_or_default();
        let gateways = networks
            .values()
            .flat_map(|n| [&n.gateway, &n.ipv6_gateway]);
        let gateways = gateways.filter_map(|g| g.as_deref()?.parse().ok());
        Ok(Some(Running {
            id: c.id.unwrap_or_default(),
            pid,
            gateways: gateways.collect(),
        }))
    }

    pub async fn image_defaults(&self, image: &str) -> Result<ImageDefaults, EngineError> {
        let i = self
            .docker
            .inspect_image(image)
            .await
            .map_err(|e| EngineError::from_bollard(format!("inspect image {image}"), e))?;
        let config = i.config.unwrap_or_default();
        Ok(ImageDefaults {
            entrypoint: config.entrypoint.filter(|e| !e.is_empty()),
            command: config.cmd.filter(|c| !c.is_empty()),
            env: config.env.unwrap_or_default(),
            user: config.user.filter(|u| !u.is_empty()),
            working_dir: config.working_dir.filter(|d| !d.is_empty()),
            healthcheck: config
                .healthcheck
                .as_ref()
                .and_then(super::settings::healthcheck),
            labels: config.labels.unwrap_or_default().into_iter().collect(),
        })
    }
}

/// The settings of `host` beyond what deckhand creates a container with,
/// where they differ from the engine's defaults.
fn extra_settings(host: &bollard::models::HostConfig) -> Vec<String> {
    fn set<T>(v: &Option<Vec<T>>) -> bool {
        v.as_ref().is_some_and(|v| !v.is_empty())
    }
    let named_volume = host.binds.iter().flatten().any(|b| !b.starts_with('/'));
    let shared_ns = |m: &Option<String>| {
        m.as_deref()
            .is_some_and(|m| m == "host" || m.starts_with("container:"))
    };
    let checks = [
        ("pid", shared_ns(&host.pid_mode)),
        ("ipc", shared_ns(&host.ipc_mode)),
        ("mounts", set(&host.mounts)),
        ("named volumes", named_volume),
        (
            "userns_mode",
            host.userns_mode.as_deref().is_some_and(|m| !m.is_empty()),
        ),
        (
            "cgroup_parent",
            host.cgroup_parent.as_deref().is_some_and(|m| !m.is_empty()),
        ),
    ];
    checks
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| name.to_string())
        .collect()
}

/// The engine's port bindings as `publish` strings, sorted.
fn published(
    bindings: std::collections::HashMap<String, Option<Vec<bollard::models::PortBinding>>>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (port, binds) in bindings {
        for b in binds.into_iter().flatten() {
            let host_port = b.host_port.unwrap_or_default();
            match b.host_ip.filter(|ip| !ip.is_empty() && ip != "0.0.0.0") {
                Some(ip) => out.push(format!("{ip}:{host_port}:{port}")),
                None => out.push(format!("{host_port}:{port}")),
            }
        }
    }
    out.sort();
    out
}

/// A running container as the host sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    /// Its full id.
    pub id: String,
    /// The pid of its first process.
    pub pid: u32,
    /// The gateways of its networks.
    pub gateways: std::collections::BTreeSet<std::net::IpAddr>,
}
