//! The `deckhand.toml` text that describes the DECNET deckies found.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::adopt::observed_spec;
use crate::desired::{ContainerSpec, Role};
use crate::engine::{ContainerDetails, ImageDefaults};

use super::FoundDecky;

/// The base command deckhand gives a decky that names none.
const DEFAULT_BASE_COMMAND: [&str; 2] = ["sleep", "infinity"];

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        quote(k)
    }
}

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| quote(i)).collect();
    format!("[{}]", quoted.join(", "))
}

/// The most common value, ties broken by order.
fn most_common<'a>(values: impl Iterator<Item = &'a str>) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map(|(v, _)| v.to_string())
        .unwrap_or_default()
}

/// The spec a container amounts to in the place of `name`.
fn spec_of(name: &str, role: Role, c: &ContainerDetails, image: &ImageDefaults) -> ContainerSpec {
    observed_spec(
        &ContainerSpec::minimal(name, role, None, None, ""),
        c,
        image,
    )
}

/// What differs between deckies running one service: warnings for the file's header.
struct Catalog {
    spec: ContainerSpec,
    /// Environment common to every decky running it.
    env: BTreeMap<String, String>,
}

/// The TOML text describing `deckies` as fleet `fleet`, with a header of
/// comments (including anything that could not be expressed).
pub fn to_toml(fleet: &str, deckies: &[FoundDecky]) -> String {
    let bases: Vec<(&FoundDecky, ContainerSpec)> = deckies
        .iter()
        .map(|d| (d, spec_of(&d.name, Role::Base, &d.base.0, &d.base.1)))
        .collect();
    let base_image = most_common(bases.iter().map(|(_, s)| s.image.as_str()));
    let networks = bases
        .iter()
        .map(|(_, s)| s.network.as_deref().unwrap_or("bridge"));
    let network = most_common(networks);
    let (catalog, warnings) = catalog(deckies);

    let mut out = String::new();
    header(&mut out, &warnings);
    let _ = writeln!(
        out,
        "\n[fleet]\nname = {}\nbase_image = {}\nnetwork = {}",
        quote(fleet),
        quote(&base_image),
        quote(&network)
    );
    for (svc, entry) in &catalog {
        service(&mut out, svc, entry);
    }
    let fleet_wide = (base_image.as_str(), network.as_str());
    for (d, base) in &bases {
        decky(&mut out, d, base, fleet_wide, &catalog);
    }
    out
}

/// One catalog entry per service, from the image most deckies run it with,
/// with the environment all of them share; warnings for those that differ.
fn catalog(deckies: &[FoundDecky]) -> (BTreeMap<&str, Catalog>, Vec<String>) {
    let mut by_service: BTreeMap<&str, Vec<(&str, ContainerSpec)>> = BTreeMap::new();
    for d in deckies {
        for (svc, c, image) in &d.services {
            let spec = spec_of(svc, Role::Service, c, image);
            by_service.entry(svc).or_default().push((&d.name, spec));
        }
    }
    let mut warnings = Vec::new();
    let mut catalog = BTreeMap::new();
    for (svc, runs) in by_service {
        let image = most_common(runs.iter().map(|(_, s)| s.image.as_str()));
        let first = runs.iter().find(|(_, s)| s.image == image);
        let first = first
            .map(|(_, s)| s.clone())
            .expect("a service runs somewhere");
        for (decky, s) in &runs {
            let differs = (&s.image, &s.command, &s.entrypoint, &s.cap_add)
                != (
                    &first.image,
                    &first.command,
                    &first.entrypoint,
                    &first.cap_add,
                );
            if differs {
                warnings.push(format!("service {svc} on decky {decky} differs from the others in image, command or capabilities: the plan will replace it"));
            }
        }
        let shared =
            |(k, v): &(&String, &String)| runs.iter().all(|(_, s)| s.env.get(*k) == Some(*v));
        let env = first.env.iter().filter(shared);
        let env = env.map(|(k, v)| (k.clone(), v.clone())).collect();
        catalog.insert(svc, Catalog { spec: first, env });
    }
    (catalog, warnings)
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

/// `[services.NAME]` and its environment.
fn service(out: &mut String, svc: &str, entry: &Catalog) {
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
    if !s.cap_add.is_empty() {
        let _ = writeln!(out, "cap_add = {}", list(&s.cap_add));
    }
    if !entry.env.is_empty() {
        let _ = writeln!(out, "\n[services.{}.env]", key(svc));
        for (k, v) in &entry.env {
            let _ = writeln!(out, "{} = {}", key(k), quote(v));
        }
    }
}

/// `[deckies.NAME]`: what its base sets beyond the fleet's defaults, then
/// each service's environment beyond the catalog's.
fn decky(
    out: &mut String,
    d: &FoundDecky,
    base: &ContainerSpec,
    (base_image, network): (&str, &str),
    catalog: &BTreeMap<&str, Catalog>,
) {
    let services: Vec<String> = d.services.iter().map(|(s, _, _)| s.clone()).collect();
    let _ = writeln!(
        out,
        "\n[deckies.{}]\nservices = {}",
        key(&d.name),
        list(&services)
    );
    if base.hostname.as_deref() != Some(d.name.as_str()) {
        let _ = writeln!(
            out,
            "hostname = {}",
            quote(base.hostname.as_deref().unwrap_or_default())
        );
    }
    if let Some(ip) = &base.ip {
        let _ = writeln!(out, "ip = {}", quote(ip));
    }
    if base.image != base_image {
        let _ = writeln!(out, "image = {}", quote(&base.image));
    }
    let default_command: Vec<String> = DEFAULT_BASE_COMMAND.iter().map(|s| s.to_string()).collect();
    if let Some(c) = base.command.as_ref().filter(|c| **c != default_command) {
        let _ = writeln!(out, "command = {}", list(c));
    }
    let own_network = base.network.as_deref().unwrap_or("bridge");
    if own_network != network {
        let _ = writeln!(out, "network = {}", quote(own_network));
    }
    for (svc, c, image) in &d.services {
        let own = spec_of(svc, Role::Service, c, image).env;
        let common = &catalog[svc.as_str()].env;
        let extra: Vec<(&String, &String)> = own
            .iter()
            .filter(|(k, _)| !common.contains_key(*k))
            .collect();
        if !extra.is_empty() {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adopt::tests::image;

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
            cap_add: vec![],
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
            parsed["deckies"]["d-02"]["service_config"]["ssh"]["HOSTNAME"].as_str(),
            Some("d-02")
        );
    }
}
