//! Adopting a DECNET deployment, on the real engine: a fleet made by
//! docker-compose from a DECNET-style compose file is imported, planned as
//! matching, adopted without a recreate, and then managed like deckhand's own.

mod common;

use common::{docker, docker_compose, docker_try, Fleet};

/// `import` reads every DECNET decky on the engine: one test at a time.
static IMPORTING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A DECNET-style compose project and its network, removed on drop.
struct Decnet<'a> {
    fleet: &'a Fleet,
    networks: Vec<String>,
}

impl Decnet<'_> {
    fn compose(&self, args: &[&str]) {
        let file = self.fleet.dir.path().join("decnet-compose.json");
        docker_compose(&self.fleet.name, &file, args);
    }
}

impl Drop for Decnet<'_> {
    /// Every container of both fleets involved (compose's project and
    /// deckhand's fleet: an adopted container may have been replaced by one
    /// of deckhand's) and every container still on the networks goes first;
    /// then the networks, and none may be left.
    fn drop(&mut self) {
        let mut ids: Vec<String> = Vec::new();
        for label in [
            format!("label=com.docker.compose.project={}", self.fleet.name),
            format!("label=deckhand.fleet={}", self.fleet.name),
        ] {
            let found = docker(&["ps", "-aq", "--filter", &label]);
            ids.extend(found.split_whitespace().map(str::to_string));
        }
        for network in &self.networks {
            let (ok, on) = docker_try(&[
                "network",
                "inspect",
                "-f",
                "{{range $id, $c := .Containers}}{{$id}} {{end}}",
                network,
            ]);
            if ok {
                ids.extend(on.split_whitespace().map(str::to_string));
            }
        }
        for id in &ids {
            let _ = docker_try(&["rm", "-f", id]);
        }
        let left: Vec<&String> = self
            .networks
            .iter()
            .filter(|n| {
                let _ = docker_try(&["network", "rm", n]);
                docker_try(&["network", "inspect", n]).0
            })
            .collect();
        if !std::thread::panicking() {
            assert!(left.is_empty(), "networks left behind: {left:?}");
        }
    }
}

/// What DECNET's composer writes: a base per decky holding the address, and
/// services in its network namespace, labelled with decnet.fleet.*.
fn decnet_compose(fleet: &Fleet, network: &str) -> serde_json::Value {
    let mut services = serde_json::Map::new();
    for (i, decky) in ["a", "b"].iter().enumerate() {
        let base = fleet.n(decky);
        services.insert(
            base.clone(),
            serde_json::json!({
                "image": common::IMAGE,
                "container_name": base,
                "hostname": format!("host-{decky}"),
                "command": ["sleep", "infinity"],
                "restart": "unless-stopped",
                "networks": {network: {"ipv4_address": format!("10.214.9.{}", 10 + i)}},
            }),
        );
        let svc = format!("{base}-ssh");
        services.insert(
            svc.clone(),
            serde_json::json!({
                "image": common::IMAGE,
                "container_name": svc,
                "command": ["sleep", "infinity"],
                "environment": {"HOSTNAME": format!("host-{decky}"), "SSH_BANNER": "SSH-2.0-OpenSSH_8.9p1"},
                "restart": "unless-stopped",
                "network_mode": format!("service:{base}"),
                "depends_on": [base],
                "labels": {
                    "decnet.fleet.service": "true",
                    "decnet.fleet.decky": base,
                    "decnet.fleet.service_name": "ssh",
                },
            }),
        );
    }
    serde_json::json!({
        "version": "2.4",
        "services": services,
        "networks": {network: {"external": true, "name": network}},
    })
}

fn ids(fleet: &Fleet) -> Vec<(String, String)> {
    let out = docker(&["ps", "-a", "--format", "{{.Names}} {{.ID}}"]);
    let mut ids: Vec<(String, String)> = out
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(n, _)| n.starts_with(&format!("{}-", fleet.name)))
        .map(|(n, i)| (n.to_string(), i.to_string()))
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_decnet_fleet_is_imported_planned_as_matching_and_adopted_without_a_recreate() {
    let _one = IMPORTING.lock().unwrap_or_else(|e| e.into_inner());
    let fleet = Fleet::new("adopt");
    let network = fleet.n("lan");
    docker(&["network", "create", "--subnet", "10.214.9.0/24", &network]);
    let decnet = Decnet {
        fleet: &fleet,
        networks: vec![network.clone()],
    };
    std::fs::write(
        fleet.dir.path().join("decnet-compose.json"),
        serde_json::to_string_pretty(&decnet_compose(&fleet, &network)).unwrap(),
    )
    .unwrap();
    decnet.compose(&["up", "-d"]);
    let deployed = ids(&fleet);
    assert_eq!(deployed.len(), 4, "{deployed:?}");

    // import writes a config that validates and describes them.
    let run = fleet.deckhand(&["import", "--fleet", &fleet.name, "--out", "deckhand.toml"]);
    assert_eq!(run.code, 0, "{run:?}");
    let imported = std::fs::read_to_string(fleet.path()).unwrap();
    assert!(
        imported.contains("SSH_BANNER = \"SSH-2.0-OpenSSH_8.9p1\""),
        "{imported}"
    );
    assert!(imported.contains("HOSTNAME = \"{hostname}\""), "{imported}");
    assert!(imported.contains("hostname = \"host-a\""), "{imported}");
    assert!(imported.contains("ip = \"10.214.9.11\""), "{imported}");
    let again = fleet.deckhand(&["import", "--fleet", &fleet.name, "--out", "deckhand.toml"]);
    assert_eq!(
        again.code, 1,
        "an existing file is not overwritten: {again:?}"
    );

    // plan: they match, and the plan says whose they are.
    let plan = fleet.plan();
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(plan.stdout.contains("No changes."), "{plan:?}");
    assert!(
        plan.stdout.contains("4 container(s) were made by DECNET"),
        "{plan:?}"
    );

    // A change to one of DECNET's containers is refused without --adopt.
    std::fs::write(
        fleet.path(),
        imported.replace("SSH-2.0-OpenSSH_8.9p1", "SSH-2.0-OpenSSH_9.6"),
    )
    .unwrap();
    let plan = fleet.plan();
    assert!(
        plan.stdout.contains("made by DECNET: needs apply --adopt"),
        "{plan:?}"
    );
    let refused = fleet.deckhand(&["apply", "--auto-approve", "--no-color"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("--adopt"), "{refused:?}");
    assert_eq!(ids(&fleet), deployed, "a refused apply changed something");

    // --adopt on the matching config: nothing is recreated, and they are deckhand's now.
    std::fs::write(fleet.path(), &imported).unwrap();
    let adopted = fleet.deckhand(&["apply", "--auto-approve", "--adopt", "--no-color"]);
    assert_eq!(adopted.code, 0, "{adopted:?}");
    assert!(
        adopted.stdout.contains("Adopted 4 container(s)"),
        "{adopted:?}"
    );
    assert_eq!(ids(&fleet), deployed, "adoption recreated a container");
    let plan = fleet.plan();
    assert!(plan.stdout.contains("No changes."), "{plan:?}");
    assert!(!plan.stdout.contains("made by DECNET"), "{plan:?}");

    // Managed from now on: a change replaces the services (no --adopt needed),
    // and the bases keep their containers.
    std::fs::write(
        fleet.path(),
        imported.replace("SSH-2.0-OpenSSH_8.9p1", "SSH-2.0-OpenSSH_9.6"),
    )
    .unwrap();
    let run = fleet.apply();
    assert!(run.stdout.contains("replaced"), "{run:?}");
    let after = ids(&fleet);
    for (name, id) in &deployed {
        let now = after.iter().find(|(n, _)| n == name).map(|(_, i)| i);
        if name.ends_with("-ssh") {
            assert_ne!(now, Some(id), "{name} was not replaced");
        } else {
            assert_eq!(now, Some(id), "{name} was recreated");
        }
    }
    fleet.assert_no_changes();
    drop(decnet);
}

/// Windows persona values, as DECNET's composer sets them on a base.
const WINDOWS: [(&str, &str); 10] = [
    ("net.ipv4.ip_default_ttl", "128"),
    ("net.ipv4.tcp_syn_retries", "2"),
    ("net.ipv4.tcp_timestamps", "1"),
    ("net.ipv4.tcp_window_scaling", "1"),
    ("net.ipv4.tcp_sack", "1"),
    ("net.ipv4.tcp_ecn", "0"),
    ("net.ipv4.ip_no_pmtu_disc", "0"),
    ("net.ipv4.tcp_fin_timeout", "30"),
    ("net.ipv4.icmp_ratelimit", "0"),
    ("net.ipv4.icmp_ratemask", "0"),
];

/// A disguised DECNET decky `w` on two LANs (persona sysctls and one of its
/// own, caps, the base's environment, json-file logging capped, the ssh
/// quarantine bind mount), and a decky `p` whose service has a security option (which a file cannot say).
fn disguised_compose(fleet: &Fleet, lans: &[String; 2], third: u32, q: &str) -> serde_json::Value {
    let logging =
        serde_json::json!({"driver": "json-file", "options": {"max-size": "10m", "max-file": "5"}});
    let mut sysctls: serde_json::Map<String, serde_json::Value> = WINDOWS
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
        .collect();
    sysctls.insert("net.ipv4.tcp_timestamps".into(), serde_json::json!("0"));
    let (w, p) = (fleet.n("w"), fleet.n("p"));
    let service = |base: &str, extra: serde_json::Value| {
        let mut s = serde_json::json!({
            "image": common::IMAGE,
            "container_name": format!("{base}-ssh"),
            "command": ["sleep", "infinity"],
            "environment": {"HOSTNAME": base},
            "restart": "unless-stopped",
            "network_mode": format!("service:{base}"),
            "depends_on": [base],
            "logging": logging,
            "labels": {
                "decnet.fleet.service": "true",
                "decnet.fleet.decky": base,
                "decnet.fleet.service_name": "ssh",
            },
        });
        for (k, v) in extra.as_object().unwrap() {
            s[k] = v.clone();
        }
        s
    };
    serde_json::json!({
        "version": "2.4",
        "services": {
            w.clone(): {
                "image": common::IMAGE, "container_name": w, "hostname": w,
                "command": ["sleep", "infinity"], "restart": "unless-stopped",
                "sysctls": sysctls, "cap_add": ["NET_ADMIN"],
                "environment": {"DECNET_NMAP_OS": "windows"},
                "logging": logging,
                "networks": {
                    lans[0].clone(): {"ipv4_address": format!("10.215.{third}.10")},
                    lans[1].clone(): {"ipv4_address": format!("10.216.{third}.10")},
                },
            },
            format!("{w}-ssh"): service(&w, serde_json::json!({
                "cap_add": ["NET_BIND_SERVICE"],
                "volumes": [format!("{q}/{w}/ssh:/var/lib/systemd/coredump:rw")],
            })),
            p.clone(): {
                "image": common::IMAGE, "container_name": p, "hostname": p,
                "command": ["sleep", "infinity"], "restart": "unless-stopped",
                "logging": logging,
                "networks": {lans[0].clone(): {"ipv4_address": format!("10.215.{third}.11")}},
            },
            format!("{p}-ssh"): service(&p, serde_json::json!({"security_opt": ["no-new-privileges:true"]})),
        },
        "networks": {
            lans[0].clone(): {"external": true, "name": lans[0]},
            lans[1].clone(): {"external": true, "name": lans[1]},
        },
    })
}

#[test]
fn a_disguised_decnet_fleet_is_imported_adopted_and_keeps_its_disguise_across_a_replace() {
    let _one = IMPORTING.lock().unwrap_or_else(|e| e.into_inner());
    let fleet = Fleet::new("adoptdisg");
    let third = std::process::id() % 200 + 20;
    let lans = [fleet.n("lan1"), fleet.n("lan2")];
    for (lan, second) in lans.iter().zip([215, 216]) {
        docker(&[
            "network",
            "create",
            "--subnet",
            &format!("10.{second}.{third}.0/24"),
            lan,
        ]);
    }
    let decnet = Decnet {
        fleet: &fleet,
        networks: lans.to_vec(),
    };
    let q = fleet.dir.path().join("artifacts").display().to_string();
    std::fs::write(
        fleet.dir.path().join("decnet-compose.json"),
        serde_json::to_string_pretty(&disguised_compose(&fleet, &lans, third, &q)).unwrap(),
    )
    .unwrap();
    decnet.compose(&["up", "-d"]);
    let w = fleet.n("w");

    // Import writes every setting of w, and leaves p out, naming why.
    let run = fleet.deckhand(&["import", "--fleet", &fleet.name, "--out", "deckhand.toml"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("decky {} left out", fleet.n("p")))
            && run.stderr.contains("security_opt"),
        "{run:?}"
    );
    let imported = std::fs::read_to_string(fleet.path()).unwrap();
    for line in [
        "persona = \"windows\"".to_string(),
        "sysctls = { \"net.ipv4.tcp_timestamps\" = \"0\" }".to_string(),
        "cap_add = [\"NET_ADMIN\"]".to_string(),
        "cap_add = [\"NET_BIND_SERVICE\"]".to_string(),
        format!("volumes = [\"{q}/{{decky}}/ssh:/var/lib/systemd/coredump:rw\"]"),
        "logging = { driver = \"json-file\", options = { max-file = \"5\", max-size = \"10m\" } }"
            .to_string(),
        "DECNET_NMAP_OS = \"windows\"".to_string(),
        format!(
            "networks = {{ {} = \"10.215.{third}.10\", {} = \"10.216.{third}.10\" }}",
            lans[0], lans[1]
        ),
    ] {
        assert!(imported.contains(&line), "{line} not in:\n{imported}");
    }
    assert!(
        !imported.contains(&format!("[deckies.{}]", fleet.n("p"))),
        "{imported}"
    );

    // It matches, and adoption recreates nothing.
    fleet.assert_no_changes();
    let deployed = ids(&fleet);
    let adopted = fleet.deckhand(&["apply", "--auto-approve", "--adopt", "--no-color"]);
    assert_eq!(adopted.code, 0, "{adopted:?}");
    assert_eq!(ids(&fleet), deployed, "adoption recreated a container");

    // A replace keeps the whole disguise.
    std::fs::write(
        fleet.path(),
        imported.replace("DECNET_NMAP_OS = \"windows\"", "DECNET_NMAP_OS = \"win10\""),
    )
    .unwrap();
    let run = fleet.apply();
    assert!(run.stdout.contains("replaced"), "{run:?}");
    assert_ne!(ids(&fleet), deployed, "nothing was replaced");
    let seen = |name: &str, f: &str| docker(&["inspect", "-f", f, name]).trim().to_string();
    let ssh = format!("{w}-ssh");
    let ttl = common::cat(&ssh, "/proc/sys/net/ipv4/ip_default_ttl");
    assert_eq!(String::from_utf8_lossy(&ttl).trim(), "128");
    let ts = common::cat(&ssh, "/proc/sys/net/ipv4/tcp_timestamps");
    assert_eq!(String::from_utf8_lossy(&ts).trim(), "0");
    assert_eq!(seen(&w, "{{.HostConfig.CapAdd}}"), "[NET_ADMIN]");
    assert_eq!(
        seen(&ssh, "{{.HostConfig.CapAdd}} {{.HostConfig.Binds}}"),
        format!("[NET_BIND_SERVICE] [{q}/{w}/ssh:/var/lib/systemd/coredump:rw]")
    );
    assert_eq!(
        seen(&ssh, "{{index .HostConfig.LogConfig.Config \"max-file\"}}"),
        "5"
    );
    let nets = seen(
        &w,
        "{{range $n, $e := .NetworkSettings.Networks}}{{$n}}={{$e.IPAddress}} {{end}}",
    );
    assert_eq!(
        nets,
        format!(
            "{}=10.215.{third}.10 {}=10.216.{third}.10",
            lans[0], lans[1]
        )
    );
    fleet.assert_no_changes();

    // Put p in the file: its replace would lose `security_opt`, and is refused.
    let with_p = format!(
        "{imported}\n[deckies.{}]\nservices = [\"ssh\"]\nnetwork = \"{}\"\n",
        fleet.n("p"),
        lans[0]
    );
    std::fs::write(fleet.path(), with_p).unwrap();
    let before = ids(&fleet);
    let refused = fleet.deckhand(&["apply", "--auto-approve", "--adopt", "--no-color"]);
    assert_ne!(refused.code, 0, "{refused:?}");
    assert!(
        refused.stderr.contains("would lose security_opt"),
        "{refused:?}"
    );
    assert_eq!(ids(&fleet), before, "a refused plan changed something");
    drop(decnet);
}
