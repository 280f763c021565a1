//! Networks as objects (SPEC §7): a declared network missing live is
//! created; one that differs from its declaration is replaced, its
//! containers disconnected and connected again with their addresses.

use std::collections::{BTreeMap, BTreeSet};

use crate::desired::{DesiredState, NetworkSpec};
use crate::labels;
use crate::live::LiveState;

use super::{Action, Change, Detail, Object};

/// The network steps for the networks `used` by the containers in scope.
pub fn changes(
    desired: &DesiredState,
    live: &LiveState,
    host: &str,
    used: BTreeSet<String>,
) -> Vec<Change> {
    let mut out = Vec::new();
    for name in used {
        // A network neither declared nor live is refused with its container.
        let Some(spec) = desired.networks.get(&name) else {
            continue;
        };
        let (action, reasons, detail) = match live.network_specs.get(&name) {
            None if live.networks.contains(&name) => continue,
            None => (
                Action::Create,
                vec!["not present live".to_string()],
                Detail::Network(spec.clone()),
            ),
            Some(now) => {
                let reasons = differences(spec, now);
                if reasons.is_empty() {
                    continue;
                }
                let reconnect = reconnect(desired, live, &name);
                let detail = Detail::NetworkReplace {
                    spec: spec.clone(),
                    reconnect,
                };
                (Action::Replace, reasons, detail)
            }
        };
        out.push(Change {
            host: host.to_string(),
            action,
            object: Object::Network { name },
            reasons,
            detail,
        });
    }
    out
}

/// The containers of this fleet on `network` and the address each is
/// connected at again: the file's, else the one it asked for ("" = the
/// engine's choice).
fn reconnect(desired: &DesiredState, live: &LiveState, network: &str) -> BTreeMap<String, String> {
    live.containers
        .values()
        .filter_map(|c| {
            let asked = c.lans.get(network)?;
            let wanted = desired
                .containers
                .iter()
                .find(|d| d.name == c.name)
                .and_then(|d| d.joins().get(network).cloned());
            Some((c.name.clone(), wanted.unwrap_or_else(|| asked.clone())))
        })
        .collect()
}

/// What differs between the declared network and the live one, one reason
/// per field (`subnet 10.1.0.0/24 -> 10.2.0.0/24`). A field the file leaves
/// unset is the engine's to choose and not compared; `deckhand.*` labels are
/// deckhand's own.
pub fn differences(want: &NetworkSpec, live: &NetworkSpec) -> Vec<String> {
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".to_string());
    let mut out = Vec::new();
    if want.driver != live.driver {
        out.push(format!("driver {} -> {}", live.driver, want.driver));
    }
    let fields = [
        ("subnet", &want.subnet, &live.subnet),
        ("gateway", &want.gateway, &live.gateway),
        ("ip_range", &want.ip_range, &live.ip_range),
        ("parent", &want.parent, &live.parent),
        ("ipvlan_mode", &want.ipvlan_mode, &live.ipvlan_mode),
    ];
    for (field, w, l) in fields {
        if w.is_some() && w != l {
            out.push(format!("{field} {} -> {}", show(l), show(w)));
        }
    }
    if want.internal != live.internal {
        out.push(format!("internal {} -> {}", live.internal, want.internal));
    }
    if want.options != live.options {
        out.push(format!(
            "options {}",
            map_diff(&live.options, &want.options)
        ));
    }
    if want.labels != operators_labels(&live.labels) {
        let theirs = operators_labels(&live.labels);
        out.push(format!("labels {}", map_diff(&theirs, &want.labels)));
    }
    out
}

/// A live network's labels without the tools' own: deckhand's (`deckhand.*`)
/// and docker-compose's (`com.docker.compose.*`, on the networks it makes).
pub fn operators_labels(all: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    all.iter()
        .filter(|(k, _)| !k.starts_with(labels::PREFIX) && !k.starts_with("com.docker.compose."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Which keys were added, removed or changed, by name.
fn map_diff(live: &BTreeMap<String, String>, want: &BTreeMap<String, String>) -> String {
    let mut parts = Vec::new();
    for (k, v) in want {
        match live.get(k) {
            None => parts.push(format!("{k} added")),
            Some(l) if l != v => parts.push(format!("{k} {l} -> {v}")),
            _ => {}
        }
    }
    parts.extend(
        live.keys()
            .filter(|k| !want.contains_key(*k))
            .map(|k| format!("{k} removed")),
    );
    parts.join(", ")
}

/// Whether `live` was made by someone other than this fleet (no
/// `deckhand.fleet` label naming it): replacing it needs `--adopt`.
pub fn made_elsewhere(live: &NetworkSpec, fleet: &str) -> bool {
    live.labels.get(labels::FLEET).map(String::as_str) != Some(fleet)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(driver: &str) -> NetworkSpec {
        NetworkSpec {
            name: "lan".into(),
            driver: driver.into(),
            subnet: Some("10.1.0.0/24".into()),
            ..Default::default()
        }
    }

    #[test]
    fn each_differing_field_is_named_with_its_values() {
        let want = NetworkSpec {
            internal: true,
            parent: Some("eth1".into()),
            ipvlan_mode: Some("l3".into()),
            options: [("mtu".to_string(), "1400".to_string())].into(),
            ..net("ipvlan")
        };
        let live = NetworkSpec {
            subnet: Some("10.2.0.0/24".into()),
            gateway: Some("10.2.0.1".into()),
            ..net("macvlan")
        };
        assert_eq!(
            differences(&want, &live),
            [
                "driver macvlan -> ipvlan",
                "subnet 10.2.0.0/24 -> 10.1.0.0/24",
                "parent none -> eth1",
                "ipvlan_mode none -> l3",
                "internal false -> true",
                "options mtu added",
            ]
        );
    }

    #[test]
    fn fields_the_file_leaves_unset_and_the_tools_labels_are_not_compared() {
        let want = NetworkSpec {
            subnet: None,
            ..net("bridge")
        };
        let live = NetworkSpec {
            gateway: Some("10.1.0.1".into()),
            ip_range: Some("10.1.0.128/25".into()),
            labels: [
                (labels::FLEET.to_string(), "corp".to_string()),
                ("com.docker.compose.project".to_string(), "corp".to_string()),
            ]
            .into(),
            ..net("bridge")
        };
        assert!(differences(&want, &live).is_empty());
        assert!(!made_elsewhere(&live, "corp"));
        assert!(made_elsewhere(&want, "corp"));
    }

    #[test]
    fn an_operator_label_removed_live_is_named() {
        let want = NetworkSpec {
            labels: [("team".to_string(), "blue".to_string())].into(),
            ..net("bridge")
        };
        assert_eq!(differences(&want, &net("bridge")), ["labels team added"]);
        assert_eq!(differences(&net("bridge"), &want), ["labels team removed"]);
    }
}
