//! Containers: list, create, start, remove.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, NetworkingConfig,
    PortBinding,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
};

use super::{ContainerInfo, Engine, EngineError, MountInfo, NewContainer};

impl Engine {
    /// Every container on the engine, running or not, optionally filtered by one label (`key=value`).
    pub async fn list_containers(
        &self,
        label: Option<&str>,
    ) -> Result<Vec<ContainerInfo>, EngineError> {
        let mut filters = HashMap::new();
        if let Some(l) = label {
            filters.insert("label".to_string(), vec![l.to_string()]);
        }
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let list = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| EngineError::from_bollard("list containers", e))?;
        Ok(list.into_iter().map(container_info).collect())
    }

    /// Joins a created or running container to `network`, at `ip` when given.
    pub async fn connect_network(
        &self,
        container: &str,
        network: &str,
        ip: Option<&str>,
    ) -> Result<(), EngineError> {
        let request = bollard::models::NetworkConnectRequest {
            container: container.to_string(),
            endpoint_config: Some(EndpointSettings {
                ipam_config: ip.map(|ip| EndpointIpamConfig {
                    ipv4_address: Some(ip.to_string()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        };
        self.docker
            .connect_network(network, request)
            .await
            .map_err(|e| EngineError::from_bollard(format!("connect {container} to {network}"), e))
    }

    /// Takes a container off `network`.
    pub async fn disconnect_network(
        &self,
        container: &str,
        network: &str,
    ) -> Result<(), EngineError> {
        let request = bollard::models::NetworkDisconnectRequest {
            container: container.to_string(),
            force: Some(false),
        };
        self.docker
            .disconnect_network(network, request)
            .await
            .map_err(|e| {
                EngineError::from_bollard(format!("disconnect {container} from {network}"), e)
            })
    }

    /// Creates (does not start) a container; returns its id.
    pub async fn create_container(&self, c: &NewContainer) -> Result<String, EngineError> {
        let networking_config = c.ip.as_ref().map(|ip| NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                c.network_mode.clone(),
                EndpointSettings {
                    ipam_config: Some(EndpointIpamConfig {
                        ipv4_address: Some(ip.clone()),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )])),
        });
        let body = ContainerCreateBody {
            image: Some(c.image.clone()),
            entrypoint: c.entrypoint.clone(),
            cmd: c.command.clone(),
            env: (!c.env.is_empty()).then(|| c.env.clone()),
            labels: Some(c.labels.clone().into_iter().collect()),
            hostname: c.hostname.clone(),
            host_config: Some(HostConfig {
                network_mode: Some(c.network_mode.clone()),
                port_bindings: (!c.publish.is_empty()).then(|| port_bindings(&c.publish)),
                ..Default::default()
            }),
            networking_config,
            exposed_ports: (!c.publish.is_empty())
                .then(|| port_bindings(&c.publish).into_keys().collect()),
            ..Default::default()
        };
        let body = super::settings::onto(&c.settings, body);
        let options = CreateContainerOptionsBuilder::default()
            .name(&c.name)
            .build();
        let created = super::settings::docker_for(&self.docker, &c.settings)
            .create_container(Some(options), body)
            .await
            .map_err(|e| EngineError::from_bollard(format!("create container {}", c.name), e))?;
        for (network, ip) in &c.also_joins {
            self.connect_network(&c.name, network, ip.as_deref())
                .await?;
        }
        Ok(created.id)
    }

    pub async fn start_container(&self, name: &str) -> Result<(), EngineError> {
        self.docker
            .start_container(name, None)
            .await
            .map_err(|e| EngineError::from_bollard(format!("start container {name}"), e))
    }

    /// Stops (by SIGKILL) and removes a container; a container already gone is not an error.
    pub async fn remove_container(&self, name: &str) -> Result<(), EngineError> {
        let options = RemoveContainerOptionsBuilder::default().force(true).build();
        match self.docker.remove_container(name, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) => match EngineError::from_bollard(format!("remove container {name}"), e) {
                e if e.is_not_found() => Ok(()),
                // A killed run's `rm -f` goes on in the engine: wait for it.
                e if e.is_conflict() && e.to_string().contains("already in progress") => {
                    self.await_gone(name, e).await
                }
                e => Err(e),
            },
        }
    }

    /// Waits (up to 30 s) for a removal already under way to finish.
    async fn await_gone(&self, name: &str, conflict: EngineError) -> Result<(), EngineError> {
        for _ in 0..300 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            if let Err(e) = self.docker.inspect_container(name, None).await {
                if EngineError::from_bollard("inspect", e).is_not_found() {
                    return Ok(());
                }
            }
        }
        Err(conflict)
    }

    /// Labels of one container, or `None` when it does not exist.
    pub async fn container_labels(
        &self,
        name: &str,
    ) -> Result<Option<std::collections::BTreeMap<String, String>>, EngineError> {
        match self.docker.inspect_container(name, None).await {
            Ok(c) => Ok(Some(
                c.config
                    .and_then(|c| c.labels)
                    .unwrap_or_default()
                    .into_iter()
                    .collect(),
            )),
            Err(e) => match EngineError::from_bollard(format!("inspect container {name}"), e) {
                e if e.is_not_found() => Ok(None),
                e => Err(e),
            },
        }
    }
}

/// `[ip:]host:container/proto` strings (checked by the config) as the
/// engine's port bindings, by container port.
fn port_bindings(publish: &[String]) -> HashMap<String, Option<Vec<PortBinding>>> {
    let mut out: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for p in publish {
        let parts: Vec<&str> = p.split(':').collect();
        let (ip, host, container) = match parts.as_slice() {
            [ip, host, container] => (Some(ip.to_string()), *host, *container),
            [host, container] => (None, *host, *container),
            _ => continue,
        };
        let binding = PortBinding {
            host_ip: ip,
            host_port: Some(host.to_string()),
        };
        out.entry(container.to_string())
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(binding);
    }
    out
}

/// The IPv4 address a listed container holds on each network ("" = none).
fn held_addresses(
    settings: Option<&bollard::models::ContainerSummaryNetworkSettings>,
) -> std::collections::BTreeMap<String, String> {
    let networks = settings.and_then(|n| n.networks.as_ref());
    networks
        .into_iter()
        .flatten()
        .map(|(net, e)| (net.clone(), e.ip_address.clone().unwrap_or_default()))
        .collect()
}

/// The static address a container asked for on a network ("" = none).
fn asked_address(ipam: Option<EndpointIpamConfig>) -> String {
    ipam.and_then(|i| i.ipv4_address).unwrap_or_default()
}

/// One container of the engine's listing, as deckhand reads it.
fn container_info(c: bollard::models::ContainerSummary) -> ContainerInfo {
    let name = c
        .names
        .unwrap_or_default()
        .first()
        .map(|n| n.trim_start_matches('/').to_string());
    let mounts = c.mounts.unwrap_or_default().into_iter().map(|m| MountInfo {
        destination: m.destination.unwrap_or_default(),
        kind: m.typ.unwrap_or_default(),
        read_write: m.rw.unwrap_or(true),
    });
    let networks = c.network_settings.as_ref().and_then(|n| n.networks.clone());
    let published = c.ports.unwrap_or_default().into_iter().filter_map(|p| {
        let proto = p.typ.map(|t| t.to_string()).unwrap_or_default();
        Some((p.ip.unwrap_or_default(), p.public_port?, proto))
    });
    ContainerInfo {
        id: c.id.unwrap_or_default(),
        name: name.unwrap_or_default(),
        image: c.image.unwrap_or_default(),
        labels: c.labels.unwrap_or_default().into_iter().collect(),
        state: c.state.map(|s| s.to_string()).unwrap_or_default(),
        mounts: mounts.collect(),
        addresses: held_addresses(c.network_settings.as_ref()),
        networks: networks
            .unwrap_or_default()
            .into_iter()
            .map(|(net, e)| (net, asked_address(e.ipam_config)))
            .collect(),
        published: published.collect(),
        created: c.created.unwrap_or_default(),
    }
}
