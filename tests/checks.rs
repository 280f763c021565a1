//! Plan-time checks (SPEC §4): what apply would fail on is found by the plan,
//! named with the decky and the holder, and nothing is changed. No test
//! reaches the internet: pulling is tried only from a closed loopback port.

mod common;

use common::{docker, Fleet};

/// Containers and networks a test makes outside the fleet, removed on drop
/// (containers first).
#[derive(Default)]
struct Made {
    containers: Vec<String>,
    networks: Vec<String>,
}

impl Made {
    fn network(&mut self, name: &str, subnet: &str) {
        docker(&["network", "create", "--subnet", subnet, name]);
        self.networks.push(name.to_string());
    }

    /// A running container of no fleet, with `args` before its image.
    fn container(&mut self, name: &str, args: &[&str]) {
        let mut all = vec!["run", "-d", "--name", name];
        all.extend(args);
        all.extend([common::IMAGE, "sleep", "3600"]);
        docker(&all);
        self.containers.push(name.to_string());
    }
}

impl Drop for Made {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = common::docker_try(&["rm", "-f", c]);
        }
        for n in &self.networks {
            let _ = common::docker_try(&["network", "rm", n]);
        }
    }
}

/// A port no one listens on now (bound and released by the test).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Plan and apply both refuse with exit 1, print `expected`, and the fleet
/// has nothing on the engine afterwards.
fn refused(fleet: &Fleet, expected: &[String]) {
    let plan = fleet.plan();
    assert_eq!(plan.code, 1, "{plan:?}");
    for e in expected {
        assert!(plan.stderr.contains(e.as_str()), "missing {e:?}: {plan:?}");
    }
    assert!(plan.stderr.contains("nothing was changed"), "{plan:?}");
    let apply = fleet.deckhand(&["apply", "--auto-approve", "--no-color"]);
    assert_eq!(apply.code, 1, "{apply:?}");
    for e in expected {
        assert!(
            apply.stderr.contains(e.as_str()),
            "missing {e:?}: {apply:?}"
        );
    }
    assert!(fleet.containers().is_empty(), "apply changed something");
}

#[test]
fn an_address_held_by_another_container_or_outside_the_subnet_is_named_at_plan() {
    let fleet = Fleet::new("checksip");
    let subnets = common::net::reserve(&[236]);
    let subnet = format!("10.236.{}.0/24", subnets.third);
    let ip = format!("10.236.{}.10", subnets.third);
    let (lan, holder) = (fleet.n("lan"), fleet.n("holder"));
    let mut made = Made::default();
    made.network(&lan, &subnet);
    made.container(&holder, &["--network", &lan, "--ip", &ip]);
    fleet.write(&format!(
        r#"
[fleet]
name = "{{fleet}}"
base_image = "{{image}}"
network = "{lan}"

[deckies.{{fleet}}-web]
services = []
ip = "{ip}"

[deckies.{{fleet}}-far]
services = []
ip = "10.99.99.5"
"#
    ));
    refused(
        &fleet,
        &[
            format!(
                "decky {}: address {ip} on network {lan} is already held by container {holder}",
                fleet.n("web")
            ),
            format!(
                "decky {}: address 10.99.99.5 is outside subnet {subnet} of network {lan}",
                fleet.n("far")
            ),
            format!(
                "help: give decky {} another ip, or remove container {holder}",
                fleet.n("web")
            ),
        ],
    );
}

#[test]
fn a_host_port_published_by_another_container_or_bound_on_the_host_is_named_at_plan() {
    let fleet = Fleet::new("checksport");
    let holder = fleet.n("holder");
    let mut made = Made::default();
    let published = free_port();
    made.container(&holder, &["-p", &format!("127.0.0.1:{published}:80")]);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let bound = listener.local_addr().unwrap().port();
    fleet.write(&format!(
        r#"
[fleet]
name = "{{fleet}}"
base_image = "{{image}}"

[deckies.{{fleet}}-web]
services = []
publish = ["{published}:80/tcp"]

[deckies.{{fleet}}-db]
services = []
publish = ["127.0.0.1:{bound}:5432"]
"#
    ));
    refused(
        &fleet,
        &[
            format!(
                "decky {}: host port {published}/tcp is already published by container {holder}",
                fleet.n("web")
            ),
            format!(
                "decky {}: host port {bound}/tcp is already bound on this host by a process that is not a container",
                fleet.n("db")
            ),
        ],
    );
    drop(listener);
}

#[test]
fn a_network_whose_subnet_overlaps_another_is_named_at_plan() {
    let fleet = Fleet::new("checksnet");
    let subnets = common::net::reserve(&[237]);
    let taken = format!("10.237.{}.0/24", subnets.third);
    let inner = format!("10.237.{}.128/25", subnets.third);
    let other = fleet.n("other");
    let mut made = Made::default();
    made.network(&other, &taken);
    fleet.write(&format!(
        r#"
[fleet]
name = "{{fleet}}"
base_image = "{{image}}"
network = "{{fleet}}-lan"

[networks.{{fleet}}-lan]
subnet = "{inner}"

[deckies.{{fleet}}-web]
services = []
"#
    ));
    refused(
        &fleet,
        &[format!(
            "network {}: subnet {inner} overlaps subnet {taken} of network {other}",
            fleet.n("lan")
        )],
    );
    // The JSON plan carries what it would have done and the problems.
    let run = fleet.deckhand(&["plan", "--format", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).expect("a JSON plan");
    assert_eq!(plan["summary"]["add"], 2, "{run:?}");
    let problem = &plan["problems"][0];
    assert_eq!(problem["check"], "subnet_overlaps", "{run:?}");
    assert_eq!(problem["network"], fleet.n("lan").as_str());
    assert_eq!(problem["other"], other.as_str());
    assert_eq!(problem["other_subnet"], taken.as_str());
    assert_eq!(problem["host"], "local");
    assert!(problem["help"]
        .as_str()
        .unwrap()
        .contains("choose a subnet"));
    let nets = docker(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(!nets.contains(&fleet.n("lan")), "the network was created");
}

#[test]
fn pull_never_makes_a_missing_image_a_plan_error_naming_the_containers() {
    let fleet = Fleet::new("checksnever");
    fleet.write(
        r#"
[fleet]
name = "{fleet}"
base_image = "{image}"
pull = "never"

[services.ssh]
image = "deckhand/absent:nope"

[deckies.{fleet}-web]
services = ["ssh"]
"#,
    );
    refused(
        &fleet,
        &[
            format!(
                "image deckhand/absent:nope is not on the engine and [fleet] pull = \"never\"; needed by {}",
                fleet.n("web-ssh")
            ),
            "help: put deckhand/absent:nope on the engine first".to_string(),
        ],
    );
}

#[test]
fn pull_missing_plans_the_pull_and_apply_fails_it_clearly_changing_nothing() {
    let fleet = Fleet::new("checkspull");
    // A closed loopback port: the pull fails at once, without the internet.
    fleet.write(
        r#"
[fleet]
name = "{fleet}"
base_image = "127.0.0.1:1/nothing:1"

[deckies.{fleet}-web]
services = []
"#,
    );
    let plan = fleet.plan();
    assert_eq!(plan.code, 0, "{plan:?}");
    let note = format!(
        "image 127.0.0.1:1/nothing:1 is not on the engine: apply pulls it before creating {}",
        fleet.n("web")
    );
    assert!(plan.all().contains(&note), "{plan:?}");
    let apply = fleet.deckhand(&["apply", "--auto-approve", "--no-color"]);
    assert_eq!(apply.code, 1, "{apply:?}");
    let out = apply.all();
    assert!(
        out.contains("image 127.0.0.1:1/nothing:1: pulling: the engine does not have it"),
        "{apply:?}"
    );
    assert!(
        out.contains("image 127.0.0.1:1/nothing:1 could not be pulled: "),
        "{apply:?}"
    );
    assert!(fleet.containers().is_empty(), "{:?}", fleet.containers());
}
