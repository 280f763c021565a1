//! Networks: list, create and remove.

use std::collections::HashMap;

use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest};

use super::{Engine, EngineError, NetworkInfo};
use crate::desired::NetworkSpec;

impl Engine {
    pub async fn list_networks(&self) -> Result<Vec<NetworkInfo>, EngineError> {
        let list = self
            .docker
            .list_networks(None::<bollard::query_parameters::ListNetworksOptions>)
            .await
            .map_err(|e| EngineError::from_bollard("list networks", e))?;
        Ok(list
            .into_iter()
            .map(|n| NetworkInfo {
                name: n.name.unwrap_or_default(),
                driver: n.driver.unwrap_or_default(),
            })
            .collect())
    }

    pub async fn create_network(
        &self,
        spec: &NetworkSpec,
        labels: HashMap<String, String>,
    ) -> Result<(), EngineError> {
        let ipam = spec.subnet.as_ref().map(|subnet| Ipam {
            config: Some(vec![IpamConfig {
                subnet: Some(subnet.clone()),
                gateway: spec.gateway.clone(),
                ..Default::default()
            }]),
            ..Default::default()
        });
        let options = spec
            .parent
            .as_ref()
            .map(|p| HashMap::from([("parent".to_string(), p.clone())]));
        let request = NetworkCreateRequest {
            name: spec.name.clone(),
            driver: Some(spec.driver.clone()),
            ipam,
            options,
            labels: Some(labels),
            ..Default::default()
        };
        self.docker
            .create_network(request)
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
}
