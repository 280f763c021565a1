//! Plan and apply of deckies and services against the real Docker engine.

mod common;

use common::{docker, docker_try, Fleet};

const CATALOG: &str = concat!(
    fleet_table!(),
    http_service!(),
    ssh_service!(),
    r#"
env = { SSH_PASSWORD = "admin" }

[services.ftp]
image = "{image}"
command = ["sleep", "infinity"]
"#
);

fn three_deckies(b_services: &str) -> String {
    format!(
        "{CATALOG}
[deckies.{{fleet}}-a]
services = [\"http\"]

[deckies.{{fleet}}-b]
services = {b_services}

[deckies.{{fleet}}-c]
services = []
"
    )
}

#[test]
fn adding_a_service_creates_exactly_one_container_and_touches_no_other() {
    let fleet = Fleet::new("add");
    fleet.write(&three_deckies(r#"["http"]"#));
    fleet.apply();
    let before = fleet.containers();
    assert_eq!(before.len(), 5, "{before:?}");

    fleet.write(&three_deckies(r#"["http", "ssh"]"#));
    let plan = fleet.plan();
    assert!(
        plan.stdout
            .contains(&format!("+ service {}", fleet.n("b-ssh"))),
        "{plan:?}"
    );
    assert!(
        plan.stdout
            .contains("Plan: 1 to add, 0 to change, 0 to replace, 0 to destroy."),
        "{plan:?}"
    );
    fleet.apply();

    let after = fleet.containers();
    assert_eq!(after.len(), 6);
    for (name, c) in &before {
        let now = &after[name];
        assert_eq!(
            (&now.id, &now.started_at),
            (&c.id, &c.started_at),
            "{name} was touched"
        );
    }
    let added = &after[&fleet.n("b-ssh")];
    assert_eq!(added.status, "running");
    assert_eq!(added.labels["decnet.fleet.decky"], fleet.n("b"));
    assert_eq!(added.labels["decnet.fleet.service_name"], "ssh");
    // The service shares its base's network namespace.
    let mode = docker(&[
        "inspect",
        "-f",
        "{{.HostConfig.NetworkMode}}",
        &fleet.n("b-ssh"),
    ]);
    assert!(mode.trim().starts_with("container:"), "{mode}");
    fleet.assert_no_changes();
}

#[test]
fn removing_a_service_or_a_decky_removes_only_those_containers() {
    let fleet = Fleet::new("rm");
    fleet.write(&three_deckies(r#"["http", "ssh"]"#));
    fleet.apply();
    let before = fleet.containers();

    fleet.write(&three_deckies(r#"["http"]"#));
    let plan = fleet.plan();
    assert!(
        plan.stdout
            .contains(&format!("- service {}", fleet.n("b-ssh"))),
        "{plan:?}"
    );
    fleet.apply();
    let after = fleet.containers();
    assert!(!after.contains_key(&fleet.n("b-ssh")));
    assert_eq!(after.len(), before.len() - 1);
    for (name, c) in &after {
        assert_eq!(c.id, before[name].id, "{name} was touched");
    }

    // Remove decky a: its service first, then its base.
    let without_a =
        three_deckies(r#"["http"]"#).replace("[deckies.{fleet}-a]\nservices = [\"http\"]\n", "");
    fleet.write(&without_a);
    let plan = fleet.plan();
    let service_at = plan
        .stdout
        .find(&format!("- service {}", fleet.n("a-http")))
        .expect("service delete planned");
    let base_at = plan
        .stdout
        .find(&format!("- decky {}", fleet.n("a")))
        .expect("base delete planned");
    assert!(
        service_at < base_at,
        "services are destroyed before their base: {plan:?}"
    );
    fleet.apply();
    let left = fleet.containers();
    assert!(!left.contains_key(&fleet.n("a")) && !left.contains_key(&fleet.n("a-http")));
    assert_eq!(left.len(), 3);
    fleet.assert_no_changes();
}

#[test]
fn changing_a_service_image_or_env_replaces_only_that_container_and_says_why() {
    let fleet = Fleet::new("repl");
    fleet.write(&three_deckies(r#"["http", "ssh"]"#));
    fleet.apply();
    let before = fleet.containers();

    let changed = three_deckies(r#"["http", "ssh"]"#).replace(
        "env = { SSH_PASSWORD = \"admin\" }",
        "env = { SSH_PASSWORD = \"hunter2\" }",
    );
    fleet.write(&changed);
    let plan = fleet.plan();
    assert!(
        plan.stdout
            .contains(&format!("-/+ service {}", fleet.n("b-ssh"))),
        "{plan:?}"
    );
    assert!(plan.stdout.contains("env SSH_PASSWORD changed"), "{plan:?}");
    assert!(
        !plan.stdout.contains("hunter2"),
        "env values are never shown: {plan:?}"
    );
    assert!(
        plan.stdout
            .contains("0 to add, 0 to change, 1 to replace, 0 to destroy"),
        "{plan:?}"
    );
    fleet.apply();
    let after = fleet.containers();
    for (name, c) in &after {
        if *name == fleet.n("b-ssh") {
            assert_ne!(c.id, before[name].id);
        } else {
            assert_eq!(
                (&c.id, &c.started_at),
                (&before[name].id, &before[name].started_at),
                "{name} was touched"
            );
        }
    }

    let new_image = changed.replace(
        "[services.http]\nimage = \"{image}\"",
        "[services.http]\nimage = \"{alt}\"",
    );
    fleet.write(&new_image);
    let plan = fleet.plan();
    assert!(
        plan.stdout
            .contains(&format!("image {} -> {}", common::IMAGE, common::ALT_IMAGE)),
        "{plan:?}"
    );
    assert!(
        plan.stdout
            .contains("0 to add, 0 to change, 2 to replace, 0 to destroy"),
        "{plan:?}"
    );
    fleet.apply();
    let last = fleet.containers();
    assert_eq!(last[&fleet.n("a-http")].image, common::ALT_IMAGE);
    assert_eq!(last[&fleet.n("b-ssh")].id, after[&fleet.n("b-ssh")].id);
    fleet.assert_no_changes();
}

#[test]
fn changing_a_base_replaces_it_and_every_service_on_it() {
    let fleet = Fleet::new("base");
    fleet.write(&three_deckies(r#"["http", "ssh"]"#));
    fleet.apply();
    let before = fleet.containers();

    let changed = three_deckies(r#"["http", "ssh"]"#).replace(
        "[deckies.{fleet}-b]\n",
        "[deckies.{fleet}-b]\nhostname = \"fileserver\"\n",
    );
    fleet.write(&changed);
    let plan = fleet.plan();
    assert!(
        plan.stdout.contains(&format!("-/+ decky {}", fleet.n("b"))),
        "{plan:?}"
    );
    assert!(
        plan.stdout
            .contains(&format!("hostname {} -> fileserver", fleet.n("b"))),
        "{plan:?}"
    );
    assert!(
        plan.stdout.contains(&format!(
            "replaces its services too: {}, {}",
            fleet.n("b-http"),
            fleet.n("b-ssh")
        )),
        "{plan:?}"
    );
    assert!(
        plan.stdout
            .contains(&format!("its base {} is replaced", fleet.n("b"))),
        "{plan:?}"
    );
    assert!(plan.stdout.contains("3 to replace"), "{plan:?}");
    fleet.apply();
    let after = fleet.containers();
    for name in [fleet.n("b"), fleet.n("b-http"), fleet.n("b-ssh")] {
        assert_ne!(after[&name].id, before[&name].id, "{name} should be new");
        assert_eq!(after[&name].status, "running");
    }
    for name in [fleet.n("a"), fleet.n("a-http"), fleet.n("c")] {
        assert_eq!(after[&name].id, before[&name].id, "{name} was touched");
    }
    assert_eq!(
        docker(&["exec", &fleet.n("b-http"), "hostname"]).trim(),
        "fileserver"
    );
    fleet.assert_no_changes();
}

#[test]
fn a_stopped_service_is_planned_as_start_and_started() {
    let fleet = Fleet::new("start");
    fleet.write(&three_deckies(r#"["http"]"#));
    fleet.apply();
    let id = fleet.containers()[&fleet.n("b-http")].id.clone();
    docker(&["stop", "-t", "0", &fleet.n("b-http")]);

    let plan = fleet.plan();
    assert!(
        plan.stdout
            .contains(&format!("~ start service {}", fleet.n("b-http"))),
        "{plan:?}"
    );
    assert!(plan.stdout.contains("exited live"), "{plan:?}");
    assert!(plan.stdout.contains("0 to add, 1 to change"), "{plan:?}");
    fleet.apply();
    let c = &fleet.containers()[&fleet.n("b-http")];
    assert_eq!((c.id.as_str(), c.status.as_str()), (id.as_str(), "running"));
    fleet.assert_no_changes();
}

/// The fleet `plan_never_mutates…` applies first: a decky with bait files,
/// one with a service to replace, one to destroy.
const BEFORE_DRY: &str = r#"
[deckies.{fleet}-a]
services = ["http"]

[deckies.{fleet}-a.files."/srv/keep"]
content = "v1\n"

[deckies.{fleet}-a.files."/srv/gone"]
content = "to be deleted\n"

[deckies.{fleet}-b]
services = ["http", "ssh"]

[deckies.{fleet}-b.files."/srv/b"]
content = "in ssh\n"

[deckies.{fleet}-c]
services = []
"#;

/// Every kind of change pending against [`BEFORE_DRY`]: a network, a base on
/// it, a singleton, a service created, replaced (with its file dropped again)
/// and started, a decky destroyed, files created, updated and deleted.
const PENDING_DRY: &str = concat!(
    sniffer_singleton!(),
    r#"
[networks.{fleet}_net]
driver = "bridge"

[deckies.{fleet}-a]
services = ["http"]

[deckies.{fleet}-a.files."/srv/keep"]
content = "v2\n"

[deckies.{fleet}-a.files."/srv/new"]
content = "new\n"

[deckies.{fleet}-b]
services = ["http", "ssh", "ftp"]

[deckies.{fleet}-b.files."/srv/b"]
content = "in ssh\n"

[deckies.{fleet}-d]
services = []
network = "{fleet}_net"
"#
);

#[test]
fn plan_never_mutates_the_engine_even_with_every_kind_of_change_pending() {
    let fleet = Fleet::new("dry");
    fleet.write(&format!("{CATALOG}{BEFORE_DRY}"));
    fleet.apply();
    docker(&["stop", "-t", "0", &fleet.n("a-http")]);
    let pending = format!("{CATALOG}{PENDING_DRY}")
        .replace(
            "base_image = \"{image}\"\n",
            "base_image = \"{image}\"\nservices = [\"sniffer\"]\n",
        )
        .replace("SSH_PASSWORD = \"admin\"", "SSH_PASSWORD = \"changed\"");
    fleet.write(&pending);
    // Other tests run alongside: compare everything this fleet owns, deeply.
    let before = fleet.deep_state();
    for seen in ["/srv/keep", "/srv/gone", "/srv/b", "running"] {
        assert!(
            before.contains(seen),
            "the snapshot misses {seen}: {before}"
        );
    }
    for format in ["text", "json", "markdown"] {
        let plan = fleet.deckhand(&["plan", "--format", format, "--detailed-exitcode"]);
        assert_eq!(plan.code, 2, "{plan:?}");
    }
    let saved = fleet.deckhand(&["plan", "--out", "p.plan"]);
    assert_eq!(saved.code, 0, "{saved:?}");
    let plan = fleet.plan();
    assert_eq!(fleet.deep_state(), before, "plan changed the engine");
    for expected in [
        "+ network",
        "+ decky",
        "+ singleton",
        "+ service",
        "-/+ service",
        "- decky",
        "~ start service",
        "+ file",
        "~ file",
        "- file",
    ] {
        assert!(
            plan.stdout.contains(expected),
            "missing {expected}: {plan:?}"
        );
    }
}

#[test]
fn a_foreign_container_with_a_managed_name_stops_plan_and_apply() {
    let fleet = Fleet::new("foreign");
    fleet.write(&three_deckies(r#"["http"]"#));
    let squatter = fleet.n("b-http");
    docker(&[
        "create",
        "--name",
        &squatter,
        "--label",
        "owner=someone-else",
        common::IMAGE,
        "sleep",
        "1",
    ]);
    let squatter_id = docker(&["inspect", "-f", "{{.Id}}", &squatter]);

    let plan = fleet.plan();
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(
        plan.stderr.contains(&squatter) && plan.stderr.contains("not this fleet's"),
        "{plan:?}"
    );
    let apply = fleet.deckhand(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 1, "{apply:?}");
    assert!(apply.stderr.contains(&squatter), "{apply:?}");
    assert!(
        fleet.containers().is_empty(),
        "apply created containers despite the conflict"
    );
    assert_eq!(
        docker(&["inspect", "-f", "{{.Id}}", &squatter]),
        squatter_id,
        "the foreign container was touched"
    );
    docker(&["rm", "-f", &squatter]);
}

#[test]
fn detailed_exitcode_is_two_with_changes_and_zero_without() {
    let fleet = Fleet::new("exit");
    fleet.write(&three_deckies("[]"));
    assert_eq!(fleet.deckhand(&["plan", "--detailed-exitcode"]).code, 2);
    assert_eq!(fleet.deckhand(&["plan"]).code, 0);
    fleet.apply();
    assert_eq!(fleet.deckhand(&["plan", "--detailed-exitcode"]).code, 0);
}

#[test]
fn apply_without_a_terminal_refuses_unless_auto_approved() {
    let fleet = Fleet::new("tty");
    fleet.write(&three_deckies("[]"));
    let run = fleet.deckhand(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("--auto-approve"), "{run:?}");
    assert!(fleet.containers().is_empty());
}

#[test]
fn target_limits_plan_and_apply_to_the_named_deckies() {
    let fleet = Fleet::new("target");
    fleet.write(&three_deckies(r#"["http"]"#));
    let a = fleet.n("a");
    let run = fleet.deckhand(&["apply", "--auto-approve", "--target", &a]);
    assert_eq!(run.code, 0, "{run:?}");
    let names: Vec<String> = fleet.containers().into_keys().collect();
    assert_eq!(names, vec![fleet.n("a"), fleet.n("a-http")]);
    let unknown = fleet.deckhand(&["plan", "--target", "nope"]);
    assert_eq!(unknown.code, 1);
    assert!(
        unknown.stderr.contains("unknown target decky 'nope'") && unknown.stderr.contains(&a),
        "{unknown:?}"
    );
}

#[test]
fn a_second_apply_fails_fast_while_the_fleet_is_locked() {
    let fleet = Fleet::new("lock");
    fleet.write(&three_deckies("[]"));
    // A lock held by a live process on another host.
    let lock = format!("deckhand.lock.{}", fleet.name);
    docker(&[
        "create",
        "--name",
        &lock,
        "--label",
        &format!("deckhand.fleet={}", fleet.name),
        "--label",
        "deckhand.holder=lock",
        "--label",
        "deckhand.lock.owner=alice",
        "--label",
        "deckhand.lock.host=laptop-7",
        "--label",
        "deckhand.lock.pid=4242",
        "--label",
        "deckhand.lock.command=deckhand apply",
        "--label",
        "deckhand.lock.since=2026-11-26T10:00:00Z",
        common::IMAGE,
        "true",
    ]);
    let run = fleet.deckhand(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("locked by alice@laptop-7 (pid 4242")
            && run.stderr.contains("since 2026-11-26T10:00:00Z"),
        "{run:?}"
    );
    assert!(fleet.containers().is_empty());

    let unlock = fleet.deckhand(&["unlock"]);
    assert_eq!(unlock.code, 0, "{unlock:?}");
    assert!(unlock.stdout.contains("alice@laptop-7"), "{unlock:?}");
    assert!(!docker_try(&["inspect", &lock]).0);
    fleet.apply();
}

#[test]
fn a_lock_left_by_a_dead_process_on_this_host_is_taken_over() {
    let fleet = Fleet::new("stale");
    fleet.write(&three_deckies("[]"));
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    // A pid that cannot be alive: above the kernel's maximum.
    docker(&[
        "create",
        "--name",
        &format!("deckhand.lock.{}", fleet.name),
        "--label",
        &format!("deckhand.fleet={}", fleet.name),
        "--label",
        "deckhand.holder=lock",
        "--label",
        &format!("deckhand.lock.host={}", host.trim()),
        "--label",
        "deckhand.lock.pid=99999999",
        common::IMAGE,
        "true",
    ]);
    let run = fleet.deckhand(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("taking over the lock"), "{run:?}");
}

#[test]
fn networks_are_created_and_static_addresses_given() {
    let fleet = Fleet::new("net");
    // A subnet no other network or test holds.
    let subnet = common::net::reserve(&[213]);
    let third = subnet.third;
    let toml = format!(
        "{CATALOG}
[fleet.network_placeholder]
"
    )
    .replace("[fleet.network_placeholder]\n", "")
    .replace(
        "base_image = \"{image}\"",
        "base_image = \"{image}\"\nnetwork = \"{fleet}-lan\"",
    ) + &format!(
        "
[networks.{{fleet}}-lan]
subnet = \"10.213.{third}.0/24\"
gateway = \"10.213.{third}.1\"

[deckies.{{fleet}}-a]
services = [\"http\"]
ip = \"10.213.{third}.10\"
"
    );
    fleet.write(&toml);
    let plan = fleet.plan();
    assert!(
        plan.stdout
            .contains(&format!("+ network {}", fleet.n("lan"))),
        "{plan:?}"
    );
    fleet.apply();
    let ip = docker(&[
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
        &fleet.n("a"),
    ]);
    assert_eq!(ip.trim(), format!("10.213.{third}.10"));
    fleet.assert_no_changes();
}

#[test]
fn a_failed_step_is_reported_and_other_deckies_proceed_then_a_rerun_converges() {
    let fleet = Fleet::new("fail");
    let broken = three_deckies(r#"["ssh"]"#).replace(
        "[services.ssh]\nimage = \"{image}\"",
        "[services.ssh]\nimage = \"127.0.0.1:1/deckhand/no-such-image:0\"",
    );
    fleet.write(&broken);
    let run = fleet.deckhand(&["apply", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("service {}: failed", fleet.n("b-ssh"))),
        "{run:?}"
    );
    assert!(
        run.stdout.contains("127.0.0.1:1/deckhand/no-such-image:0"),
        "the engine's message is shown: {run:?}"
    );
    assert!(run.stdout.contains("Apply finished: 1 failed, "), "{run:?}");
    let live = fleet.containers();
    for name in [fleet.n("a"), fleet.n("a-http"), fleet.n("b"), fleet.n("c")] {
        assert_eq!(
            live.get(&name).map(|c| c.status.as_str()),
            Some("running"),
            "{name}"
        );
    }
    fleet.write(&three_deckies(r#"["ssh"]"#));
    fleet.apply();
    fleet.assert_no_changes();
}

#[test]
fn a_failed_base_skips_its_services_and_files_and_nothing_else() {
    let fleet = Fleet::new("skip");
    let config = format!(
        "{CATALOG}
[deckies.{{fleet}}-a]
services = [\"http\"]

[deckies.{{fleet}}-b]
services = [\"http\"]
image = \"127.0.0.1:1/deckhand/no-such-image:0\"

[deckies.{{fleet}}-b.files.\"/srv/bait\"]
content = \"x\"
target = \"base\"
"
    );
    fleet.write(&config);
    let run = fleet.deckhand(&["apply", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 1, "{run:?}");
    let b = fleet.n("b");
    for expected in [
        format!("decky {b}: failed"),
        format!("service {b}-http: skipped: its base {b} failed"),
        format!("file {b}:/srv/bait: skipped: container {b} failed"),
    ] {
        assert!(
            run.stdout.contains(&expected),
            "missing {expected}: {run:?}"
        );
    }
    let live = fleet.containers();
    assert_eq!(live[&fleet.n("a-http")].status, "running", "{run:?}");
    assert!(!live.contains_key(&format!("{b}-http")), "{live:?}");
}
