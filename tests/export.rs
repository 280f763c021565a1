//! `deckhand export compose`, on the real engine: a full redeploy by
//! docker-compose from the exported file gives containers deckhand finds
//! matching; only the bait files are left for apply.

mod common;

use common::{cat, docker, docker_compose, Fleet};

#[test]
fn docker_compose_up_of_the_export_gives_the_containers_plan_expects() {
    let fleet = Fleet::new("export");
    fleet.write(
        r#"
[fleet]
name = "{fleet}"
base_image = "{image}"
network = "{fleet}-lan"
services = ["sniffer"]

[networks.{fleet}-lan]
driver = "bridge"
subnet = "10.213.7.0/24"
gateway = "10.213.7.1"

[services.ssh]
image = "{image}"
command = ["sleep", "infinity"]
env = { SSH_BANNER = "SSH-2.0-OpenSSH_8.9p1" }
cap_add = ["NET_ADMIN"]

[services.sniffer]
image = "{image}"
command = ["sleep", "infinity"]
singleton = true

[deckies.{fleet}-a]
services = ["ssh"]
ip = "10.213.7.10"

[deckies.{fleet}-a.service_config.ssh]
SSH_PASSWORD = "admin"

[deckies.{fleet}-a.files."/etc/motd"]
content = "welcome\n"
"#,
    );
    let out = fleet.dir.path().join("docker-compose.json");
    let run = fleet.deckhand(&["export", "compose", "--out", out.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains("1 bait file(s) are not part of a compose file"),
        "{run:?}"
    );

    docker_compose(&fleet.name, &out, &["up", "-d"]);
    let names: Vec<String> = fleet.containers().into_keys().collect();
    assert_eq!(names, [fleet.n("a"), fleet.n("a-ssh"), fleet.n("sniffer")]);
    let ip = docker(&[
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
        &fleet.n("a"),
    ]);
    assert_eq!(ip.trim(), "10.213.7.10");

    // Every container matches its spec: the plan only drops the file.
    let plan = fleet.plan();
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stdout
            .contains("Plan: 1 to add, 0 to change, 0 to replace, 0 to destroy."),
        "{plan:?}"
    );
    assert!(
        plan.stdout
            .contains(&format!("+ file {}-ssh:/etc/motd", fleet.n("a"))),
        "{plan:?}"
    );
    let before = fleet.containers();
    fleet.apply();
    assert_eq!(cat(&fleet.n("a-ssh"), "/etc/motd"), b"welcome\n");
    let after = fleet.containers();
    for (name, c) in &before {
        assert_eq!(c.id, after[name].id, "{name} was recreated");
    }
    fleet.assert_no_changes();

    let unknown = fleet.deckhand(&["export", "compose", "--host", "edge"]);
    assert_eq!(unknown.code, 1, "{unknown:?}");
    assert!(unknown.stderr.contains("no host 'edge'"), "{unknown:?}");
}
