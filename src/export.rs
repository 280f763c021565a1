//! `deckhand export compose`: the docker-compose file that creates the same
//! containers apply creates (same names, labels, networks and addresses), so
//! that a full redeploy by DECNET's own tooling gives containers deckhand
//! recognises as matching. Bait files are not part of a compose file.
//!
//! The file is JSON, which is YAML: `docker-compose -f FILE up -d` reads it.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use crate::apply::new_container;
use crate::desired::{ContainerSpec, DesiredState};
use crate::engine::NewContainer;
use crate::labels;
use crate::settings::{Settings, ENGINE_LOGGING};

/// Compose file format 2.4: `network_mode: service:…`, static addresses,
/// named networks, build contexts.
const COMPOSE_VERSION: &str = "2.4";

/// The compose file of one engine's part of the fleet.
pub fn compose(desired: &DesiredState) -> Value {
    let mut services = Map::new();
    let mut used_networks = BTreeSet::new();
    for spec in &desired.containers {
        let c = new_container(&desired.fleet, spec);
        let mut s = service(&c, spec);
        match c.network_mode.strip_prefix("container:") {
            Some(base) => {
                s.insert("network_mode".into(), json!(format!("service:{base}")));
                s.insert("depends_on".into(), json!([base]));
            }
            None if c.network_mode == "bridge" && c.ip.is_none() => {
                s.insert("network_mode".into(), json!("bridge"));
            }
            None => {
                let mut joined = Map::new();
                for (net, ip) in spec.joins() {
                    let endpoint = match ip.as_str() {
                        "" => json!({}),
                        ip => json!({"ipv4_address": ip}),
                    };
                    used_networks.insert(net.clone());
                    joined.insert(net, endpoint);
                }
                s.insert("networks".into(), Value::Object(joined));
            }
        }
        services.insert(c.name.clone(), Value::Object(s));
    }
    let networks = used_networks.into_iter().map(|name| {
        let net = network(desired, &name);
        (name, net)
    });
    json!({
        "version": COMPOSE_VERSION,
        "services": services,
        "networks": networks.collect::<Map<String, Value>>(),
    })
}

/// One compose service: what apply would create, less its network.
fn service(c: &NewContainer, spec: &ContainerSpec) -> Map<String, Value> {
    let mut s = Map::new();
    s.insert("container_name".into(), json!(c.name));
    s.insert("image".into(), json!(c.image));
    if let Some(b) = &spec.build {
        let mut build = json!({"context": b.context});
        if !b.args.is_empty() {
            build["args"] = json!(b.args);
        }
        s.insert("build".into(), build);
    }
    if let Some(h) = &c.hostname {
        s.insert("hostname".into(), json!(h));
    }
    if let Some(e) = &c.entrypoint {
        s.insert("entrypoint".into(), json!(e));
    }
    if let Some(cmd) = &c.command {
        s.insert("command".into(), json!(cmd));
    }
    if !c.env.is_empty() {
        s.insert("environment".into(), json!(c.env));
    }
    if !c.publish.is_empty() {
        s.insert("ports".into(), json!(c.publish));
    }
    s.extend(settings(&c.settings));
    s.insert("labels".into(), json!(c.labels));
    s
}

/// The settings as compose keys: the model's names are compose's. The
/// persona is its sysctls already; labels are in the container's labels.
fn settings(settings: &Settings) -> Map<String, Value> {
    let Ok(Value::Object(mut out)) = serde_json::to_value(settings) else {
        return Map::new();
    };
    out.remove("persona");
    out.remove("labels");
    if settings
        .logging
        .as_ref()
        .is_some_and(|l| l.driver == ENGINE_LOGGING)
    {
        out.remove("logging");
    }
    let restart = settings.restart.as_deref().unwrap_or("unless-stopped");
    out.insert("restart".into(), json!(restart));
    out
}

/// A network the services use: declared (created by compose, with the
/// fleet's label) or external (must exist already).
fn network(desired: &DesiredState, name: &str) -> Value {
    let Some(spec) = desired.networks.get(name) else {
        return json!({"external": true, "name": name});
    };
    let mut n = Map::new();
    n.insert("name".into(), json!(name));
    n.insert("driver".into(), json!(spec.driver));
    let mut opts = spec.options.clone();
    opts.extend(spec.parent.clone().map(|p| ("parent".to_string(), p)));
    opts.extend(
        spec.ipvlan_mode
            .clone()
            .map(|m| ("ipvlan_mode".to_string(), m)),
    );
    if !opts.is_empty() {
        n.insert("driver_opts".into(), json!(opts));
    }
    if let Some(subnet) = &spec.subnet {
        let mut pool = json!({"subnet": subnet});
        if let Some(g) = &spec.gateway {
            pool["gateway"] = json!(g);
        }
        if let Some(r) = &spec.ip_range {
            pool["ip_range"] = json!(r);
        }
        n.insert("ipam".into(), json!({"config": [pool]}));
    }
    if spec.internal {
        n.insert("internal".into(), json!(true));
    }
    let mut labels = spec.labels.clone();
    labels.insert(labels::FLEET.to_string(), desired.fleet.clone());
    n.insert("labels".into(), json!(labels));
    Value::Object(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::{NetworkSpec, Role};

    /// web-01 on LAN `lan` with a built ssh service; db-01 on a network
    /// the file does not declare.
    fn two_deckies() -> DesiredState {
        let mut base =
            ContainerSpec::minimal("web-01", Role::Base, Some("web-01"), None, "busybox:1");
        base.hostname = Some("web-01".into());
        base.command = Some(vec!["sleep".into(), "infinity".into()]);
        base.network = Some("lan".into());
        base.ip = Some("172.30.0.10".into());
        let mut ssh = ContainerSpec::minimal(
            "web-01-ssh",
            Role::Service,
            Some("web-01"),
            Some("ssh"),
            "deckhand-build:ssh-1a2b3c4d5e6f",
        );
        ssh.env = [("SSH_PASSWORD".to_string(), "admin".to_string())].into();
        ssh.build = Some(crate::build::Build::unread("ssh", "/repo/images/ssh"));
        let mut other =
            ContainerSpec::minimal("db-01", Role::Base, Some("db-01"), None, "busybox:1");
        other.network = Some("existing".into());
        let lan = NetworkSpec {
            name: "lan".into(),
            driver: "bridge".into(),
            subnet: Some("172.30.0.0/24".into()),
            gateway: Some("172.30.0.1".into()),
            ..Default::default()
        };
        DesiredState {
            networks: [("lan".to_string(), lan)].into(),
            ..DesiredState::of("corp", vec![base, ssh, other], &["db-01", "web-01"])
        }
    }

    #[test]
    fn the_compose_file_mirrors_what_apply_creates() {
        let desired = two_deckies();
        let v = compose(&desired);
        let web = &v["services"]["web-01"];
        assert_eq!(web["networks"]["lan"]["ipv4_address"], "172.30.0.10");
        assert_eq!(web["labels"]["deckhand.fleet"], "corp");
        assert_eq!(web["labels"]["deckhand.role"], "base");
        let ssh = &v["services"]["web-01-ssh"];
        assert_eq!(ssh["network_mode"], "service:web-01");
        assert_eq!(ssh["depends_on"], json!(["web-01"]));
        assert_eq!(ssh["build"]["context"], "/repo/images/ssh");
        assert_eq!(ssh["labels"]["decnet.fleet.service_name"], "ssh");
        assert_eq!(ssh["environment"], json!(["SSH_PASSWORD=admin"]));
        assert_eq!(
            v["networks"]["lan"]["ipam"]["config"][0]["subnet"],
            "172.30.0.0/24"
        );
        assert_eq!(
            v["networks"]["existing"],
            json!({"external": true, "name": "existing"})
        );
        // The spec label is the one apply writes: deckhand reads these containers as its own.
        let label: ContainerSpec =
            serde_json::from_str(ssh["labels"]["deckhand.spec"].as_str().unwrap()).unwrap();
        assert_eq!(
            label.digest(),
            ssh["labels"]["deckhand.spec-digest"].as_str().unwrap()
        );
    }
}
