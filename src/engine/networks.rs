//! Networks: list (as [`NetworkSpec`]s), create, remove, and who is on one.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{Ipam, IpamConfig, Network, NetworkCreateRequest};
use bollard::query_parameters::InspectNetworkOptions;

use super::{Engine, EngineError};
use crate::desired::NetworkSpec;

/// The driver options that [`NetworkSpec`] keeps under their own keys.
const OWN_KEYS: [&str; 2] = ["parent", "ipvlan_mode"];

impl Engine {
    /// Every network on the engine, with all it reports (labels included).
    pub async fn list_networks(&self) -> Result<Vec<NetworkSpec>, EngineError> {
        let list = self
            .docker
            .list_networks(None::<bollard::query_parameters::ListNetworksOptions>)
            .await
            .map_err(|e| EngineError::from_bollard("list networks", e))?;
        Ok(list.into_iter().map(observed).collect())
    }

    pub async fn create_network(
        &self,
        spec: &NetworkSpec,
        labels: HashMap<String, String>,
    ) -> Result<(), EngineError> {
        self.docker
            .create_network(request(spec, labels))
            .await
            .map(|_| ())
            .map_err(|e| EngineError::from_bollard(format!("create network {}", spec.name), e))
    }

    pub async fn remove_network(&self, name: &str) -> Result<(), EngineError> {
        self.docker
            .remove_network(name)
            .await
            .map_err(|e| EngineError::from_bollard(format!("remove network {name}"), e))
    }

    /// The containers on `network`, by name, with their IPv4 address on it
    /// (without the prefix length; "" when none).
    pub async fn network_members(
        &self,
        network: &str,
    ) -> Result<BTreeMap<String, String>, EngineError> {
        let n = self
            .docker
            .inspect_network(network, None::<InspectNetworkOptions>)
            .await
            .map_err(|e| EngineError::from_bollard(format!("inspect network {network}"), e))?;
        Ok(n.containers
            .unwrap_or_default()
            .into_values()
            .map(|c| {
                let ip = c.ipv4_address.unwrap_or_default();
                let ip = ip.split('/').next().unwrap_or_default().to_string();
                (c.name.unwrap_or_default(), ip)
            })
            .collect())
    }
}

/// The create request for `spec`, with deckhand's `labels` over the spec's.
fn request(spec: &NetworkSpec, labels: HashMap<String, String>) -> NetworkCreateRequest {
    let ipam = spec.subnet.as_ref().map(|subnet| Ipam {
        config: Some(vec![IpamConfig {
            subnet: Some(subnet.clone()),
            gateway: spec.gateway.clone(),
            ip_range: spec.ip_range.clone(),
            ..Default::default()
        }]),
        ..Default::default()
    });
    let mut options: HashMap<String, String> = spec.options.clone().into_iter().collect();
    options.extend(spec.parent.clone().map(|p| ("parent".to_string(), p)));
    options.extend(
        spec.ipvlan_mode
            .clone()
            .map(|m| ("ipvlan_mode".to_string(), m)),
    );
    let mut all_labels: HashMap<String, String> = spec.labels.clone().into_iter().collect();
    all_labels.extend(labels);
    NetworkCreateRequest {
        name: spec.name.clone(),
        driver: Some(spec.driver.clone()),
        ipam,
        internal: Some(spec.internal),
        options: Some(options),
        labels: Some(all_labels),
        ..Default::default()
    }
}

/// A listed network as a spec: every field as the engine reports it.
fn observed(n: Network) -> NetworkSpec {
    let pool = n
        .ipam
        .and_then(|i| i.config)
        .and_then(|c| c.into_iter().next())
        .unwrap_or_default();
    let mut options: BTreeMap<String, String> = n.options.unwrap_or_default().into_iter().collect();
    let mut own = |key: &str| options.remove(key).filter(|v| !v.is_empty());
    let (parent, ipvlan_mode) = (own(OWN_KEYS[0]), own(OWN_KEYS[1]));
    NetworkSpec {
        name: n.name.unwrap_or_default(),
        driver: n.driver.unwrap_or_default(),
        subnet: pool.subnet.filter(|s| !s.is_empty()),
        gateway: pool.gateway.filter(|s| !s.is_empty()),
        ip_range: pool.ip_range.filter(|s| !s.is_empty()),
        parent,
        ipvlan_mode,
        internal: n.internal.unwrap_or(false),
        options,
        labels: n.labels.unwrap_or_default().into_iter().collect(),
    }
}
