//! Adopting a DECNET deployment, on the real engine: a fleet made by
//! docker-compose from a DECNET-style compose file is imported, planned as
//! matching, adopted without a recreate, and then managed like deckhand's own.

mod common;

use common::{docker, docker_compose, docker_try, Fleet};

/// A DECNET-style compose project and its network, removed on drop.
struct Decnet<'a> {
    fleet: &'a Fleet,
    network: String,
}

impl Decnet<'_> {
    fn compose(&self, args: &[&str]) {
        let file = self.fleet.dir.path().join("decnet-compose.json");
        docker_compose(&self.fleet.name, &file, args);
    }
}

impl Drop for Decnet<'_> {
    fn drop(&mut self) {
        let ids = docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=com.docker.compose.project={}", self.fleet.name),
        ]);
        for id in ids.split_whitespace() {
            let _ = docker_try(&["rm", "-f", id]);
        }
        let _ = docker_try(&["network", "rm", &self.network]);
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
    let fleet = Fleet::new("adopt");
    let network = fleet.n("lan");
    docker(&["network", "create", "--subnet", "10.214.9.0/24", &network]);
    let decnet = Decnet {
        fleet: &fleet,
        network: network.clone(),
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
    assert!(imported.contains("HOSTNAME = \"host-a\""), "{imported}");
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
