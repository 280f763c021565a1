//! Replacing a network that differs from its declaration (SPEC §7): its
//! containers are disconnected, the network removed and created again, and
//! each container connected back at its address. No container is recreated
//! or restarted.

use std::collections::{BTreeMap, HashMap};

use super::report::StepError;
use crate::desired::NetworkSpec;
use crate::engine::Engine;

/// Replaces `spec.name` with `spec`, reconnecting the containers of
/// `reconnect` at their addresses. A container on the network that the plan
/// does not name stops the step before anything changes.
pub async fn replace(
    engine: &Engine,
    spec: &NetworkSpec,
    reconnect: &BTreeMap<String, String>,
    labels: HashMap<String, String>,
) -> Result<(), StepError> {
    let engine_error = |e: crate::engine::EngineError| StepError::Engine(e.to_string());
    let members = engine
        .network_members(&spec.name)
        .await
        .map_err(engine_error)?;
    let strangers: Vec<&str> = members
        .keys()
        .filter(|m| !reconnect.contains_key(*m))
        .map(String::as_str)
        .collect();
    if !strangers.is_empty() {
        return Err(StepError::Blocked(format!(
            "network {} also holds {}, which the plan does not name; disconnect {} or plan again",
            spec.name,
            strangers.join(", "),
            if strangers.len() == 1 { "it" } else { "them" }
        )));
    }
    for container in members.keys() {
        engine
            .disconnect_network(container, &spec.name)
            .await
            .map_err(engine_error)?;
    }
    engine
        .remove_network(&spec.name)
        .await
        .map_err(engine_error)?;
    engine
        .create_network(spec, labels)
        .await
        .map_err(engine_error)?;
    let mut failed = Vec::new();
    for (container, ip) in reconnect.iter().filter(|(c, _)| members.contains_key(*c)) {
        let ip = (!ip.is_empty()).then_some(ip.as_str());
        if let Err(e) = engine.connect_network(container, &spec.name, ip).await {
            failed.push(e.to_string());
        }
    }
    match failed.is_empty() {
        true => Ok(()),
        false => Err(StepError::Engine(failed.join("; "))),
    }
}
