//! `[networks.NAME]` for every network the imported deckies join, as the
//! engine has it (SPEC §7: a network made by someone else is written by
//! import and adopted with `--adopt`), so that `plan` finds it matching.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::catalog::spec_of;
use super::text::{inline, key, quote};
use super::FoundDecky;
use crate::desired::{NetworkSpec, Role};

/// The names of the networks the bases of `deckies` join.
pub fn joined(deckies: &[FoundDecky]) -> BTreeSet<String> {
    deckies
        .iter()
        .flat_map(|d| {
            spec_of(&d.name, Role::Base, &d.base.0, &d.base.1)
                .joins()
                .into_keys()
        })
        .collect()
}

/// The `[networks.NAME]` tables of `networks`; Docker's own `bridge` (not a
/// network one declares) is left out.
pub fn to_toml(networks: &[NetworkSpec]) -> String {
    let mut out = String::new();
    for n in networks.iter().filter(|n| n.name != "bridge") {
        let _ = writeln!(out, "\n[networks.{}]", key(&n.name));
        let _ = writeln!(out, "driver = {}", quote(&n.driver));
        let fields = [
            ("subnet", &n.subnet),
            ("gateway", &n.gateway),
            ("ip_range", &n.ip_range),
            ("parent", &n.parent),
            ("ipvlan_mode", &n.ipvlan_mode),
        ];
        for (field, value) in fields {
            if let Some(v) = value {
                let _ = writeln!(out, "{field} = {}", quote(v));
            }
        }
        if n.internal {
            let _ = writeln!(out, "internal = true");
        }
        if !n.options.is_empty() {
            let _ = writeln!(out, "options = {}", inline(&n.options));
        }
        let theirs = crate::plan::networks::operators_labels(&n.labels);
        if !theirs.is_empty() {
            let _ = writeln!(out, "labels = {}", inline(&theirs));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels;

    #[test]
    fn a_macvlan_network_is_written_with_every_field_the_engine_reports() {
        let lan = NetworkSpec {
            name: "decnet_lan".into(),
            driver: "macvlan".into(),
            subnet: Some("192.168.1.0/24".into()),
            gateway: Some("192.168.1.1".into()),
            ip_range: Some("192.168.1.10/31".into()),
            parent: Some("eth0".into()),
            internal: true,
            labels: [
                (labels::FLEET.to_string(), "corp".to_string()),
                ("owner".to_string(), "decnet".to_string()),
            ]
            .into(),
            ..Default::default()
        };
        let bridge = NetworkSpec {
            name: "bridge".into(),
            driver: "bridge".into(),
            ..Default::default()
        };
        assert_eq!(
            to_toml(&[lan, bridge]),
            "\n[networks.decnet_lan]\ndriver = \"macvlan\"\nsubnet = \"192.168.1.0/24\"\ngateway = \"192.168.1.1\"\nip_range = \"192.168.1.10/31\"\nparent = \"eth0\"\ninternal = true\nlabels = { owner = \"decnet\" }\n"
        );
    }
}
