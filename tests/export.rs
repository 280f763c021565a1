//! `deckhand export compose`, on the real engine: a full redeploy by
//! docker-compose from the exported file gives containers deckhand finds
//! matching; only the bait files are left for apply.

mod common;

use common::{cat, docker, docker_compose, Fleet};

#[test]
fn docker_compose_up_of_the_export_gives_the_containers_plan_expects() {
    let fleet = Fleet::new("export");
    let subnet = common::net::reserve(&[213]);
    let third = subnet.third;
    fleet.write(
        &concat!(
            fleet_table!("network = \"{fleet}-lan\"", "services = [\"sniffer\"]"),
            r#"
[networks.{fleet}-lan]
driver = "bridge"
subnet = "10.213.THIRD.0/24"
gateway = "10.213.THIRD.1"

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
ip = "10.213.THIRD.10"

[deckies.{fleet}-a.service_config.ssh]
SSH_PASSWORD = "admin"

[deckies.{fleet}-a.files."/etc/motd"]
content = "welcome\n"
"#
        )
        .replace("THIRD", &third.to_string()),
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
    assert_eq!(ip.trim(), format!("10.213.{third}.10"));

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

#[test]
fn a_disguised_fleet_round_trips_through_the_export() {
    let fleet = Fleet::new("expdisg");
    let subnets = common::net::reserve(&[217, 218]);
    let third = subnets.third;
    // A port free now, not one derived from the pid.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    let q = fleet.dir.path().join("q").display().to_string();
    let dockerfile = "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nARG FLAVOUR\nENV FLAVOUR=${FLAVOUR}\n";
    fleet.write_file("images/ssh/Dockerfile", dockerfile.as_bytes());
    fleet.write(
        &concat!(
            fleet_table!(
                "network = \"{fleet}-lana\"",
                "logging = { driver = \"json-file\", options = { max-size = \"10m\", max-file = \"5\" } }"
            ),
            r#"
[networks.{fleet}-lana]
subnet = "10.217.THIRD.0/24"

[networks.{fleet}-lanb]
subnet = "10.218.THIRD.0/24"

[services.ssh]
build = { context = "images/ssh", args = { BASE_IMAGE = "{image}", FLAVOUR = "bookworm" } }
command = ["sleep", "infinity"]
cap_add = ["NET_BIND_SERVICE"]
cap_drop = ["MKNOD"]
volumes = ["Q/{decky}/ssh:/var/lib/systemd/coredump:rw"]
env = { HOSTNAME = "{hostname}" }

[deckies.{fleet}-w]
services = ["ssh"]
persona = "windows"
sysctls = { "net.ipv4.tcp_timestamps" = "0" }
cap_add = ["NET_ADMIN"]
env = { DECNET_NMAP_OS = "windows" }
publish = ["127.0.0.1:PORT:22/tcp"]
networks = { "{fleet}-lana" = "10.217.THIRD.10", "{fleet}-lanb" = "" }
"#
        )
        .replace("THIRD", &third.to_string())
        .replace("PORT", &port.to_string())
        .replace("Q/", &format!("{q}/")),
    );
    let out = fleet.dir.path().join("docker-compose.json");
    let run = fleet.deckhand(&["export", "compose", "--out", out.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    let image = {
        let compose: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        compose["services"][fleet.n("w-ssh")]["image"]
            .as_str()
            .unwrap()
            .to_string()
    };
    docker_compose(&fleet.name, &out, &["up", "-d"]);
    // What compose made is what deckhand would have made: nothing to do.
    fleet.assert_no_changes();
    let w = fleet.n("w");
    let seen = |name: &str, f: &str| docker(&["inspect", "-f", f, name]).trim().to_string();
    assert_eq!(
        seen(
            &w,
            "{{index .HostConfig.Sysctls \"net.ipv4.ip_default_ttl\"}} {{.HostConfig.CapAdd}}"
        ),
        "128 [NET_ADMIN]"
    );
    let nets = seen(
        &w,
        "{{range $n, $e := .NetworkSettings.Networks}}{{$n}} {{end}}",
    );
    assert_eq!(nets, format!("{} {}", fleet.n("lana"), fleet.n("lanb")));
    let ssh = fleet.n("w-ssh");
    assert!(
        seen(&ssh, "{{.Config.Env}}").contains("FLAVOUR=bookworm"),
        "the build args reached the build"
    );
    assert_eq!(
        seen(
            &ssh,
            "{{.HostConfig.Binds}} {{index .HostConfig.LogConfig.Config \"max-file\"}}"
        ),
        format!("[{q}/{w}/ssh:/var/lib/systemd/coredump:rw] 5")
    );
    drop(fleet);
    let _ = common::docker_try(&["rmi", "-f", &image]);
}
