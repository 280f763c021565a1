//! Plan-time checks (SPEC §4): what apply would fail on is found by the plan,
//! named with the decky and the holder, and nothing is changed. No test
//! reaches the internet: pulling is tried only from a closed loopback port.

mod common;

use common::{docker, Fleet};
use serde_json::{json, Value};

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
/// has nothing on the engine afterwards; their JSON carries `problems`, each
/// with the fields of one of `want` (and on host `local`, with its words).
fn refused(fleet: &Fleet, expected: &[String], want: &[Value]) {
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
    let problems = json_plan_problems(fleet, want);
    apply_json_error(fleet, &problems);
    assert!(fleet.containers().is_empty(), "apply changed something");
}

/// `plan --format json` exits 1 with the plan and its `problems`: one per
/// `want`, in any order, with its fields, host, message and help. Returns them.
fn json_plan_problems(fleet: &Fleet, want: &[Value]) -> Vec<Value> {
    let run = fleet.deckhand(&["plan", "--format", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let plan: Value = serde_json::from_str(&run.stdout).expect("a JSON plan");
    assert_eq!(plan["fleet"], fleet.name.as_str(), "{run:?}");
    assert!(plan["summary"]["add"].as_u64().unwrap() > 0, "{run:?}");
    assert!(run.stderr.contains("nothing was changed"), "{run:?}");
    let problems = plan["problems"].as_array().expect("problems").clone();
    assert_eq!(problems.len(), want.len(), "{run:?}");
    for want in want {
        let fields = want.as_object().unwrap();
        let got = problems
            .iter()
            .find(|p| fields.iter().all(|(key, value)| &p[key] == value))
            .unwrap_or_else(|| panic!("no problem {want} in {problems:?}"));
        assert_eq!(got["host"], "local", "{got}");
        let message = got["message"].as_str().unwrap();
        assert!(run.stderr.contains(message), "{message}: {run:?}");
        let help = got["help"].as_str().unwrap();
        assert!(
            run.stderr.contains(&format!("help: {help}")),
            "{help}: {run:?}"
        );
    }
    problems
}

/// `apply --json` exits 1 with one `error` event on host `local`: the
/// problems' words under `message`, their advice apart under `help`, and
/// the same `problems` as the plan.
fn apply_json_error(fleet: &Fleet, problems: &[Value]) {
    let run = fleet.deckhand(&["apply", "--auto-approve", "--json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let events: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("an event"))
        .collect();
    let errors: Vec<&Value> = events.iter().filter(|e| e["type"] == "error").collect();
    assert_eq!(errors.len(), 1, "{run:?}");
    let e = errors[0];
    assert!(events.iter().all(|e| e["type"] != "step"), "{run:?}");
    assert_eq!(
        (&e["fleet"], &e["host"]),
        (&json!(fleet.name), &json!("local"))
    );
    assert_eq!(e["problems"].as_array().unwrap(), problems, "{e}");
    let (message, help) = (e["message"].as_str().unwrap(), e["help"].as_str().unwrap());
    assert!(
        message.contains("nothing was changed") && !message.contains("help:"),
        "{e}"
    );
    for p in problems {
        assert!(message.contains(p["message"].as_str().unwrap()), "{e}");
        assert!(help.lines().any(|h| h == p["help"]), "{e}");
    }
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
        &[
            json!({"check": "address_held", "decky": fleet.n("web"), "container": fleet.n("web"),
                   "network": lan, "ip": ip, "holder": holder}),
            json!({"check": "address_outside", "decky": fleet.n("far"), "container": fleet.n("far"),
                   "network": lan, "ip": "10.99.99.5", "subnet": subnet}),
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
        &[
            json!({"check": "port_published", "decky": fleet.n("web"), "container": fleet.n("web"),
                   "port": format!("{published}/tcp"), "holder": holder}),
            json!({"check": "port_bound", "decky": fleet.n("db"), "container": fleet.n("db"),
                   "port": format!("{bound}/tcp")}),
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
        &[
            json!({"check": "subnet_overlaps", "network": fleet.n("lan"), "subnet": inner,
                 "other": other, "other_subnet": taken}),
        ],
    );
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
        &[json!({"check": "image_missing", "image": "deckhand/absent:nope",
                 "containers": [fleet.n("web-ssh")]})],
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
