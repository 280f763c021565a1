//! What the engine is asked to create for a [`ContainerSpec`]: labels, network mode.

use crate::desired::{ContainerSpec, Role};
use crate::engine::NewContainer;
use crate::labels;

/// The container to create for `spec` in `fleet`.
pub fn new_container(fleet: &str, spec: &ContainerSpec) -> NewContainer {
    // The operator's labels first: deckhand's own are set over them.
    let mut l = spec.settings.labels.clone();
    l.extend([
        (labels::FLEET.to_string(), fleet.to_string()),
        (labels::ROLE.to_string(), spec.role.as_str().to_string()),
        (
            labels::SPEC.to_string(),
            serde_json::to_string(spec).expect("a spec always serialises"),
        ),
        (labels::SPEC_DIGEST.to_string(), spec.digest()),
    ]);
    if let Some(d) = &spec.decky {
        l.insert(labels::DECKY.to_string(), d.clone());
    }
    if let Some(s) = &spec.service {
        l.insert(labels::SERVICE.to_string(), s.clone());
    }
    if let Some(t) = &spec.topology {
        l.insert(labels::TOPOLOGY.to_string(), t.clone());
        l.extend(topology_labels(t, spec));
    }
    // A topology's deckies carry DECNET's topology labels instead, as its
    // topology composer gives them (its collector reads either set).
    if spec.role == Role::Service && spec.topology.is_none() {
        l.insert(labels::DECNET_SERVICE.to_string(), "true".to_string());
        l.insert(
            labels::DECNET_DECKY.to_string(),
            spec.decky.clone().unwrap_or_default(),
        );
        l.insert(
            labels::DECNET_SERVICE_NAME.to_string(),
            spec.service.clone().unwrap_or_default(),
        );
    }
    let mut joins = spec.joins().into_iter();
    let first = joins.next();
    let (network_mode, ip) = match (spec.base_name(), first) {
        (Some(base), _) => (format!("container:{base}"), None),
        (None, Some((net, ip))) => (net, Some(ip).filter(|ip| !ip.is_empty())),
        (None, None) => ("bridge".to_string(), None),
    };
    let also_joins = joins
        .map(|(net, ip)| (net, Some(ip).filter(|ip| !ip.is_empty())))
        .collect();
    NewContainer {
        name: spec.name.clone(),
        image: spec.image.clone(),
        entrypoint: spec.entrypoint.clone(),
        command: spec.command.clone(),
        env: spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        labels: l,
        hostname: spec.hostname.clone(),
        network_mode,
        ip,
        also_joins,
        settings: (*spec.settings).clone(),
        publish: spec.publish.clone(),
    }
}

/// The labels DECNET's topology composer puts on a decky of topology `id`.
fn topology_labels(id: &str, spec: &ContainerSpec) -> Vec<(String, String)> {
    let decky = spec.decky.clone().unwrap_or_default();
    let mut l = vec![
        (labels::DECNET_TOPOLOGY_ID.to_string(), id.to_string()),
        (labels::DECNET_TOPOLOGY_DECKY.to_string(), decky),
    ];
    match (spec.role, &spec.service) {
        (Role::Base, _) => l.push((labels::DECNET_TOPOLOGY_ROLE.to_string(), "base".into())),
        (Role::Service, Some(service)) => {
            l.push((labels::DECNET_TOPOLOGY_SERVICE.to_string(), "true".into()));
            l.push((
                labels::DECNET_TOPOLOGY_SERVICE_NAME.to_string(),
                service.clone(),
            ));
        }
        _ => {}
    }
    l
}
