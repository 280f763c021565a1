//! The `deckhand.toml` text that describes the DECNET deckies found.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::desired::{ContainerSpec, Logging, Role};

use super::catalog::{catalog, names, spec_of, Entry};
use super::disguise::{self, persona_of};
use super::text::{inline, key, list, logging, most_common, quote, settings};
use super::FoundDecky;

/// The base command deckhand gives a decky that names none.
const DEFAULT_BASE_COMMAND: [&str; 2] = ["sleep", "infinity"];

/// What `[fleet]` gives every decky: base image, network and logging.
struct FleetWide {
    base_image: String,
    network: String,
    logging: Option<Logging>,
}

/// The TOML text describing `deckies` as fleet `fleet`, with a header of
/// comments (including anything that differs and will be replaced).
pub fn to_toml(fleet: &str, deckies: &[FoundDecky]) -> String {
    let bases: Vec<(&FoundDecky, ContainerSpec)> = deckies
        .iter()
        .map(|d| (d, spec_of(&d.name, Role::Base, &d.base.0, &d.base.1)))
        .collect();
    let every = deckies.iter().flat_map(|d| {
        let base = &d.base.0.settings.logging;
        std::iter::once(base).chain(d.services.iter().map(|(_, c, _)| &c.settings.logging))
    });
    let wide = FleetWide {
        base_image: most_common(bases.iter().map(|(_, s)| s.image.clone())).unwrap_or_default(),
        network: most_common(bases.iter().filter_map(|(_, s)| s.network.clone()))
            .unwrap_or_else(|| "bridge".into()),
        logging: most_common(every.cloned()).flatten(),
    };
    let (catalog, mut warnings) = catalog(deckies);
    for (d, _) in &bases {
        if d.base.0.settings.logging != wide.logging {
            warnings.push(format!(
                "decky {}: its base's logging differs from the fleet's: the plan will replace it",
                d.name
            ));
        }
    }
    let mut out = String::new();
    header(&mut out, &warnings);
    fleet_table(&mut out, fleet, &wide);
    for (svc, entry) in &catalog {
        service(&mut out, svc, entry, &wide);
    }
    for (d, base) in &bases {
        decky(&mut out, d, base, &wide);
        decky_env(&mut out, d, base);
        service_configs(&mut out, d, &catalog);
        service_images(&mut out, d, &catalog);
    }
    out
}

fn header(out: &mut String, warnings: &[String]) {
    let _ = writeln!(
        out,
        "# Written by `deckhand import` from the live containers of a DECNET deployment."
    );
    let _ = writeln!(out, "# Check it with `deckhand plan` (it should say No changes.), then `deckhand apply --adopt`.");
    let _ = writeln!(
        out,
        "# Bait files cannot be read back as declarations: add them under [deckies.NAME.files]."
    );
    for w in warnings {
        let _ = writeln!(out, "# warning: {w}");
    }
}

fn fleet_table(out: &mut String, fleet: &str, wide: &FleetWide) {
    let _ = writeln!(
        out,
        "\n[fleet]\nname = {}\nbase_image = {}\nnetwork = {}",
        quote(fleet),
        quote(&wide.base_image),
        quote(&wide.network)
    );
    if let Some(l) = &wide.logging {
        let _ = writeln!(out, "logging = {}", logging(l));
    }
}

/// `[services.NAME]` and its environment.
fn service(out: &mut String, svc: &str, entry: &Entry, wide: &FleetWide) {
    let s = &entry.spec;
    let _ = writeln!(
        out,
        "\n[services.{}]\nimage = {}",
        key(svc),
        quote(&s.image)
    );
    if let Some(e) = &s.entrypoint {
        let _ = writeln!(out, "entrypoint = {}", list(e));
    }
    if let Some(c) = &s.command {
        let _ = writeln!(out, "command = {}", list(c));
    }
    for (name, items) in [
        ("cap_add", &s.settings.cap_add),
        ("cap_drop", &s.settings.cap_drop),
        ("volumes", &entry.volumes),
    ] {
        if !items.is_empty() {
            let _ = writeln!(out, "{name} = {}", list(items));
        }
    }
    for l in settings(&s.settings) {
        let _ = writeln!(out, "{l}");
    }
    if let Some(l) = entry
        .logging
        .as_ref()
        .filter(|l| Some(*l) != wide.logging.as_ref())
    {
        let _ = writeln!(out, "logging = {}", logging(l));
    }
    if !entry.env.is_empty() {
        let _ = writeln!(out, "\n[services.{}.env]", key(svc));
        for (k, v) in &entry.env {
            let _ = writeln!(out, "{} = {}", key(k), quote(v));
        }
    }
}

/// `[deckies.NAME]`: what its base sets beyond the fleet's defaults.
fn decky(out: &mut String, d: &FoundDecky, base: &ContainerSpec, wide: &FleetWide) {
    let services: Vec<String> = d.services.iter().map(|(s, _, _)| s.clone()).collect();
    let _ = writeln!(
        out,
        "\n[deckies.{}]\nservices = {}",
        key(&d.name),
        list(&services)
    );
    for (k, v) in identity(d, base, wide).into_iter().chain(disguise(d, base)) {
        let _ = writeln!(out, "{k} = {v}");
    }
    for l in settings(&base.settings) {
        let _ = writeln!(out, "{l}");
    }
}

/// The base's name, scope, hostname, address, image, argv and networks,
/// where they differ from the defaults.
fn identity(d: &FoundDecky, base: &ContainerSpec, wide: &FleetWide) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if d.base.0.name != d.name {
        out.push(("container_name", quote(&d.base.0.name)));
    }
    if let Some(t) = d.base.0.labels.get(crate::labels::DECNET_TOPOLOGY_ID) {
        out.push(("topology", quote(t)));
    }
    if base.hostname.as_deref() != Some(d.name.as_str()) {
        let hostname = base.hostname.as_deref().unwrap_or_default();
        out.push(("hostname", quote(hostname)));
    }
    if let Some(ip) = &base.ip {
        out.push(("ip", quote(ip)));
    }
    if base.image != wide.base_image {
        out.push(("image", quote(&base.image)));
    }
    let default_command: Vec<String> = DEFAULT_BASE_COMMAND.iter().map(|s| s.to_string()).collect();
    if let Some(c) = base.command.as_ref().filter(|c| **c != default_command) {
        out.push(("command", list(c)));
    }
    if let Some(e) = &base.entrypoint {
        out.push(("entrypoint", list(e)));
    }
    match &base.network {
        Some(n) if *n != wide.network => out.push(("network", quote(n))),
        Some(_) => {}
        None => out.push(("networks", inline(&base.lans))),
    }
    out
}

/// The base's persona and sysctls, capabilities, bind mounts and ports.
fn disguise(d: &FoundDecky, base: &ContainerSpec) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let (persona, sysctls) = persona_of(&base.settings.sysctls);
    if let Some(p) = persona {
        out.push(("persona", quote(&p)));
    }
    if !sysctls.is_empty() {
        out.push(("sysctls", inline(&sysctls)));
    }
    let n = names(d);
    let volumes = base.settings.volumes.iter();
    let volumes: Vec<String> = volumes.map(|b| disguise::volume(b, &n)).collect();
    let lists = [
        ("cap_add", &base.settings.cap_add),
        ("cap_drop", &base.settings.cap_drop),
        ("volumes", &volumes),
        ("publish", &base.publish),
    ];
    for (name, items) in lists.into_iter().filter(|(_, items)| !items.is_empty()) {
        out.push((name, list(items)));
    }
    out
}

/// `[deckies.NAME.env]`: the base's own environment.
fn decky_env(out: &mut String, d: &FoundDecky, base: &ContainerSpec) {
    if base.env.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n[deckies.{}.env]", key(&d.name));
    for (k, v) in &base.env {
        let _ = writeln!(out, "{} = {}", key(k), quote(v));
    }
}

/// `[deckies.NAME.service_config.SERVICE]`: each service's environment
/// beyond the catalog's.
fn service_configs(out: &mut String, d: &FoundDecky, catalog: &BTreeMap<&str, Entry>) {
    let n = names(d);
    for (svc, c, image) in &d.services {
        let own = spec_of(svc, Role::Service, c, image).env;
        let common = &catalog[svc.as_str()].env;
        let extra: Vec<(&String, &String)> = own
            .iter()
            .filter(|(k, v)| common.get(*k) != Some(&disguise::env_value(v, &n)))
            .collect();
        if extra.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "\n[deckies.{}.service_config.{}]",
            key(&d.name),
            key(svc)
        );
        for (k, v) in extra {
            let _ = writeln!(out, "{} = {}", key(k), quote(v));
        }
    }
}

/// `[deckies.NAME.service_image]`: the services this decky runs with an
/// image of its own (DECNET builds each decky's services from its distro).
fn service_images(out: &mut String, d: &FoundDecky, catalog: &BTreeMap<&str, Entry>) {
    let own: Vec<(&String, String)> = d
        .services
        .iter()
        .map(|(svc, c, image)| (svc, spec_of(svc, Role::Service, c, image).image))
        .filter(|(svc, image)| *image != catalog[svc.as_str()].spec.image)
        .collect();
    if own.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n[deckies.{}.service_image]", key(&d.name));
    for (svc, image) in own {
        let _ = writeln!(out, "{} = {}", key(svc), quote(&image));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adopt::tests::image;
    use crate::engine::ContainerDetails;

    fn container(
        name: &str,
        command: &[&str],
        env: &[&str],
        net: Option<(&str, &str)>,
    ) -> ContainerDetails {
        ContainerDetails {
            id: format!("id-{name}"),
            name: name.into(),
            image: "busybox:1".into(),
            entrypoint: None,
            command: Some(command.iter().map(|s| s.to_string()).collect()),
            env: env.iter().map(|s| s.to_string()).collect(),
            hostname: name.into(),
            network_mode: net
                .map(|(n, _)| n.to_string())
                .unwrap_or_else(|| "container:x".into()),
            networks: net
                .map(|(n, ip)| (n.to_string(), Some(ip.to_string())))
                .into_iter()
                .collect(),
            labels: BTreeMap::new(),
            ..Default::default()
        }
    }

    #[test]
    fn common_settings_go_to_the_catalog_and_the_rest_to_each_decky() {
        let decky = |n: &str, ip: &str| FoundDecky {
            name: n.into(),
            base: (
                container(
                    n,
                    &["sleep", "infinity"],
                    &["PATH=/bin"],
                    Some(("decnet_lan", ip)),
                ),
                image(),
            ),
            services: vec![(
                "ssh".into(),
                container(
                    &format!("{n}-ssh"),
                    &["sshd", "-D"],
                    &["PATH=/bin", "BANNER=x", &format!("HOSTNAME={n}")],
                    None,
                ),
                image(),
            )],
        };
        let text = to_toml(
            "corp",
            &[decky("d-01", "10.0.0.10"), decky("d-02", "10.0.0.11")],
        );
        insta::assert_snapshot!(text);
        let parsed: toml::Table = toml::from_str(&text).expect("valid TOML");
        assert_eq!(
            parsed["services"]["ssh"]["env"]["BANNER"].as_str(),
            Some("x")
        );
        assert_eq!(
            parsed["services"]["ssh"]["env"]["HOSTNAME"].as_str(),
            Some("{hostname}")
        );
    }
}
