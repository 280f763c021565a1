//! DECNET's state file (`decnet-state.json`): what its sniffer (address to
//! decky), collector (`<decky>-<service>` container names) and dashboard
//! read the deployment from. Its shape is DECNET's `save_state`:
//! `{"config": DecnetConfig, "compose_path": str}`, with `DecnetConfig` and
//! `DeckyConfig` as its `decnet/models.py` declares them (strict, no other
//! keys). DECNET refuses a decky without services and a state without
//! deckies: those are left out, and an empty fleet is an error.

use std::io::Write as _;
use std::path::Path;

use serde_json::{json, Value};

use crate::desired::{ContainerSpec, DesiredState, Role};

/// DECNET's own default build base for its service images.
const BUILD_BASE: &str = "debian:bookworm-slim";

/// DECNET's distro profiles (`decnet/distros.py`): slug, base image, and
/// the build base of those whose services are built on their own image.
const DISTROS: [(&str, &str, Option<&str>); 9] = [
    ("debian", "debian:bookworm-slim", None),
    ("ubuntu22", "ubuntu:22.04", Some("ubuntu:22.04")),
    ("ubuntu20", "ubuntu:20.04", Some("ubuntu:20.04")),
    ("rocky9", "rockylinux:9-minimal", None),
    ("centos7", "centos:7", None),
    ("alpine", "alpine:3.19", None),
    ("fedora", "fedora:39", None),
    (
        "kali",
        "kalilinux/kali-rolling",
        Some("kalilinux/kali-rolling"),
    ),
    ("arch", "archlinux:latest", None),
];

/// The distro slug DECNET would show for a decky: the profile whose image
/// the base runs, else the one whose build base its services were built
/// on, else DECNET's default (`debian`).
fn distro(base_image: &str, build_base: &str) -> &'static str {
    let by_image = DISTROS.iter().find(|(_, image, _)| *image == base_image);
    let by_build = || DISTROS.iter().find(|(_, _, b)| *b == Some(build_base));
    by_image
        .or_else(by_build)
        .map_or("debian", |(slug, _, _)| slug)
}

/// The state file's content for `desired`: every decky that runs a service.
pub fn state(desired: &DesiredState) -> Result<Value, String> {
    let bases = desired.containers.iter().filter(|c| c.role == Role::Base);
    let deckies: Vec<Value> = bases.filter_map(|b| decky(desired, b)).collect();
    if deckies.is_empty() {
        return Err("no decky runs a service, and DECNET's state needs at least one: add services to a decky".into());
    }
    let lan = desired.containers.iter().find(|c| c.role == Role::Base);
    let network = lan
        .and_then(|b| b.network.as_ref().or(b.lans.keys().next()))
        .and_then(|n| desired.networks.get(n).map(|spec| (n, spec)));
    let (interface, subnet, gateway, ipvlan) = match network {
        Some((name, n)) => (
            n.parent.clone().unwrap_or_else(|| name.clone()),
            n.subnet.clone().unwrap_or_default(),
            n.gateway.clone().unwrap_or_default(),
            n.driver == "ipvlan",
        ),
        None => (String::new(), String::new(), String::new(), false),
    };
    Ok(json!({
        "config": {
            "mode": "unihost",
            "interface": interface,
            "subnet": subnet,
            "gateway": gateway,
            "deckies": deckies,
            "log_file": null,
            "ipvlan": ipvlan,
            // deckhand's watch keeps the fleet; DECNET's mutator rotates nothing.
            "mutate_interval": null,
        },
        "compose_path": "",
    }))
}

/// One decky as DECNET's `DeckyConfig`; `None` when it runs no service.
fn decky(desired: &DesiredState, base: &ContainerSpec) -> Option<Value> {
    let name = base.decky.clone()?;
    let services: Vec<&ContainerSpec> = desired
        .containers
        .iter()
        .filter(|c| c.role == Role::Service && c.decky.as_deref() == Some(&name))
        .map(|c| &**c)
        .collect();
    if services.is_empty() {
        return None;
    }
    let build_base = services
        .iter()
        .find_map(|s| s.build.as_ref()?.args.get("BASE_IMAGE").cloned())
        .unwrap_or_else(|| BUILD_BASE.to_string());
    let ip = base.joins().into_values().find(|ip| !ip.is_empty());
    Some(json!({
        "name": name,
        "ip": ip.unwrap_or_default(),
        "services": services.iter().filter_map(|s| s.service.clone()).collect::<Vec<_>>(),
        "distro": distro(&base.image, &build_base),
        "base_image": base.image,
        "build_base": build_base,
        "hostname": base.hostname.clone().unwrap_or_else(|| name.clone()),
        "archetype": null,
        "service_config": {},
        "nmap_os": base.settings.persona.clone().unwrap_or_else(|| "linux".into()),
        "mutate_interval": null,
        "last_mutated": 0.0,
        "last_login_attempt": 0.0,
    }))
}

/// Writes `value` to `path` atomically: a temporary file beside it, synced,
/// then renamed over it, so DECNET never reads half a file.
pub fn write(path: &Path, value: &Value) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    tmp.write_all(text.as_bytes())?;
    tmp.write_all(b"\n")?;
    tmp.as_file().sync_all()?;
    // DECNET's services read it as another user: world-readable, like DECNET's own.
    use std::os::unix::fs::PermissionsExt as _;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet() -> DesiredState {
        let text = r#"
[fleet]
name = "corp"
base_image = "busybox"
network = "decnet_lan"
[networks.decnet_lan]
driver = "macvlan"
parent = "eth0"
subnet = "192.168.1.0/24"
gateway = "192.168.1.1"
[services.ssh]
image = "decnet/ssh"
[deckies.web-01]
services = ["ssh"]
ip = "192.168.1.10"
hostname = "srv-web"
persona = "windows"
[deckies.quiet]
services = []
"#;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("deckhand.toml"), text).unwrap();
        crate::config::load(&dir.path().join("deckhand.toml"))
            .unwrap()
            .desired
    }

    #[test]
    fn the_state_has_decnets_keys_and_only_deckies_with_services() {
        let state = state(&fleet()).unwrap();
        let config = &state["config"];
        assert_eq!(
            (&config["interface"], &config["subnet"], &config["gateway"]),
            (
                &json!("eth0"),
                &json!("192.168.1.0/24"),
                &json!("192.168.1.1")
            )
        );
        let deckies = config["deckies"].as_array().unwrap();
        assert_eq!(deckies.len(), 1, "{state}");
        let d = &deckies[0];
        let keys: Vec<&String> = d.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "name",
                "ip",
                "services",
                "distro",
                "base_image",
                "build_base",
                "hostname",
                "archetype",
                "service_config",
                "nmap_os",
                "mutate_interval",
                "last_mutated",
                "last_login_attempt"
            ]
        );
        assert_eq!(
            (
                &d["name"],
                &d["ip"],
                &d["services"],
                &d["hostname"],
                &d["nmap_os"]
            ),
            (
                &json!("web-01"),
                &json!("192.168.1.10"),
                &json!(["ssh"]),
                &json!("srv-web"),
                &json!("windows")
            )
        );
    }

    #[test]
    fn the_distro_is_read_from_the_base_image_else_the_build_base() {
        assert_eq!(distro("rockylinux:9-minimal", BUILD_BASE), "rocky9");
        assert_eq!(distro("decnet_fleet_web-ssh", "ubuntu:22.04"), "ubuntu22");
        assert_eq!(distro("busybox", "kalilinux/kali-rolling"), "kali");
        assert_eq!(distro("busybox", BUILD_BASE), "debian");
    }
}
