//! A decky is its disguise (SPEC §7): persona sysctls, capabilities, the base's
//! environment, bind-mounted quarantine and logging, on the real engine.

mod common;

use common::{docker, Fleet};

/// `{q}` is replaced by the test's quarantine directory on the host.
const DISGUISED: &str = concat!(
    fleet_table!(),
    r#"logging = { driver = "json-file", options = { max-size = "10m", max-file = "5" } }

[services.ssh]
image = "{image}"
command = ["sleep", "infinity"]
cap_add = ["NET_BIND_SERVICE"]
cap_drop = ["MKNOD"]
volumes = ["{q}/{decky}/{service}:/var/lib/systemd/coredump:rw"]
env = { NODE_NAME = "{decky}", HOSTNAME = "{hostname}" }

[deckies.{fleet}-a]
services = ["ssh"]
hostname = "win-01"
persona = "windows"
sysctls = { "net.ipv4.tcp_timestamps" = "0" }
cap_add = ["NET_ADMIN"]
env = { DECNET_NMAP_OS = "windows", DECKY_NAME = "{decky}" }
"#
);

fn inspect(name: &str, format: &str) -> String {
    docker(&["inspect", "-f", format, name]).trim().to_string()
}

#[test]
fn a_decky_carries_its_persona_caps_quarantine_and_logging() {
    use std::os::unix::fs::PermissionsExt as _;
    let fleet = Fleet::new("disg");
    let q = fleet.dir.path().join("quarantine");
    fleet.write(&DISGUISED.replace("{q}", &q.display().to_string()));
    fleet.apply();
    let (base, ssh) = (fleet.n("a"), fleet.n("a-ssh"));
    // Read from the service: it shares the base's network namespace.
    let sysctl =
        |k: &str| String::from_utf8(common::cat(&ssh, &format!("/proc/sys/net/ipv4/{k}"))).unwrap();
    assert_eq!(
        sysctl("ip_default_ttl").trim(),
        "128",
        "windows answers with TTL 128"
    );
    assert_eq!(
        sysctl("tcp_timestamps").trim(),
        "0",
        "the decky's own sysctl over the persona's"
    );
    assert_eq!(sysctl("tcp_fin_timeout").trim(), "30");
    assert_eq!(inspect(&base, "{{.HostConfig.CapAdd}}"), "[NET_ADMIN]");
    assert_eq!(
        inspect(&ssh, "{{.HostConfig.CapAdd}} {{.HostConfig.CapDrop}}"),
        "[NET_BIND_SERVICE] [MKNOD]"
    );
    assert_eq!(inspect(&ssh, "{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config \"max-size\"}} {{index .HostConfig.LogConfig.Config \"max-file\"}}"), "json-file 10m 5");
    let env = inspect(&ssh, "{{.Config.Env}}");
    assert!(
        env.contains(&format!("NODE_NAME={base}")) && env.contains("HOSTNAME=win-01"),
        "{env}"
    );
    let base_env = inspect(&base, "{{.Config.Env}}");
    assert!(
        base_env.contains("DECNET_NMAP_OS=windows")
            && base_env.contains(&format!("DECKY_NAME={base}")),
        "{base_env}"
    );
    // What the intruder drops in the quarantine lands on the host, in a 0700 directory.
    docker(&[
        "exec",
        &ssh,
        "sh",
        "-c",
        "echo core > /var/lib/systemd/coredump/core.1",
    ]);
    let dir = q.join(&base).join("ssh");
    assert_eq!(std::fs::read(dir.join("core.1")).unwrap(), b"core\n");
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    fleet.assert_no_changes();

    // Another persona replaces the base (and its service), naming the sysctl.
    fleet.write(
        &DISGUISED
            .replace("{q}", &q.display().to_string())
            .replace("persona = \"windows\"", "persona = \"linux\""),
    );
    let plan = fleet.plan();
    assert!(plan.stdout.contains("-/+ decky"), "{plan:?}");
    assert!(
        plan.stdout
            .contains("sysctl net.ipv4.ip_default_ttl 128 -> 64"),
        "{plan:?}"
    );
    assert!(plan.stdout.contains("persona windows -> linux"), "{plan:?}");
    fleet.apply();
    assert_eq!(
        String::from_utf8(common::cat(&ssh, "/proc/sys/net/ipv4/ip_default_ttl"))
            .unwrap()
            .trim(),
        "64"
    );
    fleet.assert_no_changes();
}

#[test]
fn bad_disguises_are_refused_with_file_line_and_a_hint() {
    let fleet = Fleet::new("disgbad");
    let cases = [
        (
            "persona = \"windows\"",
            "persona = \"solaris\"",
            "unknown persona 'solaris'",
            "personas: linux, windows",
        ),
        (
            "\"net.ipv4.tcp_timestamps\" = \"0\"",
            "\"kernel.hostname\" = \"x\"",
            "sysctl kernel.hostname is not kept per container",
            "use net.*",
        ),
        (
            "{q}/{decky}/{service}",
            "/var/run/docker.sock",
            "hands the intruder the host",
            "bind mounts are",
        ),
        (
            "NODE_NAME = \"{decky}\"",
            "NODE_NAME = \"{nope}\"",
            "unknown placeholder {nope}",
            "placeholders here",
        ),
        (
            "cap_add = [\"NET_ADMIN\"]",
            "cap_add = [\"net admin\"]",
            "is not a capability name",
            "like NET_ADMIN",
        ),
    ];
    for (from, to, message, hint) in cases {
        fleet.write(&DISGUISED.replace(from, to).replace("{q}", "/srv/q"));
        let run = fleet.deckhand(&["validate"]);
        assert_eq!(run.code, 1, "{to}: {run:?}");
        assert!(
            run.stderr.contains(message) && run.stderr.contains(hint),
            "{to}: {run:?}"
        );
        assert!(
            run.stderr.contains("deckhand.toml:"),
            "file and line: {run:?}"
        );
    }
}

#[test]
fn a_published_port_reaches_the_deckys_service_and_a_taken_one_fails_only_its_decky() {
    use std::io::{Read as _, Write as _};
    let fleet = Fleet::new("publish");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = concat!(
        fleet_table!(),
        http_service!(),
        r#"
[deckies.{fleet}-a]
services = ["http"]
publish = ["127.0.0.1:{port}:80"]

[deckies.{fleet}-b]
services = []
"#
    )
    .replace("{port}", &port.to_string());
    fleet.write(&config);
    fleet.apply();
    assert_eq!(
        inspect(&fleet.n("a"), "{{json .HostConfig.PortBindings}}"),
        format!("{{\"80/tcp\":[{{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"{port}\"}}]}}")
    );
    // The base publishes; the service behind it (same network namespace) answers.
    let mut answer = String::new();
    for _ in 0..50 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(b"GET / HTTP/1.0\r\n\r\n");
            let _ = s.read_to_string(&mut answer);
            if answer.starts_with("HTTP/") {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        answer.starts_with("HTTP/"),
        "no answer on 127.0.0.1:{port}: {answer:?}"
    );
    fleet.assert_no_changes();

    // Decky b asks for the same host port: its base fails with the engine's word; a stays.
    let taken = config.replace(
        "[deckies.{fleet}-b]\nservices = []",
        &format!("[deckies.{{fleet}}-b]\nservices = []\npublish = [\"127.0.0.1:{port}:81\"]"),
    );
    fleet.write(&taken);
    let run = fleet.deckhand(&["apply", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("decky {}: failed", fleet.n("b"))),
        "{run:?}"
    );
    assert!(
        run.stdout
            .to_lowercase()
            .contains("port is already allocated")
            || run.stdout.contains("address already in use"),
        "{run:?}"
    );
    assert_eq!(fleet.containers()[&fleet.n("a-http")].status, "running");
}

/// Three LANs under `10.22{1,2,3}.<third>` (reserved by the test), and a
/// decky on `lans` of them with its service.
fn lan_fleet(lans: &str, third: u32) -> String {
    let mut toml = String::from(concat!(fleet_table!(), ssh_service!()));
    for (net, second) in [("a", 221), ("b", 222), ("c", 223)] {
        toml +=
            &format!("\n[networks.{{fleet}}-lan{net}]\nsubnet = \"10.{second}.{third}.0/24\"\n");
    }
    toml + &format!(
        "\n[deckies.{{fleet}}-m]\nservices = [\"ssh\"]\nnetworks = {{ {} }}\n",
        lans.replace("{third}", &third.to_string())
    )
}

#[test]
fn a_deckys_lans_change_live_without_a_recreate_or_a_restart() {
    let fleet = Fleet::new("lans");
    let subnets = common::net::reserve(&[221, 222, 223]);
    let third = subnets.third;
    fleet.write(&lan_fleet(
        r#""{fleet}-lana" = "10.221.{third}.5", "{fleet}-lanb" = """#,
        third,
    ));
    fleet.apply();
    let base = fleet.n("m");
    let nets = || {
        inspect(
            &base,
            "{{range $n, $e := .NetworkSettings.Networks}}{{$n}}={{$e.IPAddress}} {{end}}",
        )
    };
    let joined = nets();
    assert!(
        joined.contains(&format!("{}=10.221.{third}.5", fleet.n("lana")))
            && joined.contains(&format!("{}=10.222.{third}.", fleet.n("lanb"))),
        "{joined}"
    );
    fleet.assert_no_changes();
    let before = fleet.containers();

    // lan b left, lan c joined, a new address on lan a.
    fleet.write(&lan_fleet(
        r#""{fleet}-lana" = "10.221.{third}.6", "{fleet}-lanc" = """#,
        third,
    ));
    let plan = fleet.plan();
    for reason in [
        format!(
            "network {} address 10.221.{third}.5 -> 10.221.{third}.6",
            fleet.n("lana")
        ),
        format!("network {} attached", fleet.n("lanc")),
        format!("network {} detached", fleet.n("lanb")),
    ] {
        assert!(plan.stdout.contains(&reason), "{reason}: {plan:?}");
    }
    assert!(
        plan.stdout
            .contains("1 to change, 0 to replace, 0 to destroy"),
        "{plan:?}"
    );
    fleet.apply();
    let joined = nets();
    assert!(
        joined.contains(&format!("{}=10.221.{third}.6", fleet.n("lana")))
            && joined.contains(&format!("{}=10.223.{third}.", fleet.n("lanc")))
            && !joined.contains(&fleet.n("lanb")),
        "{joined}"
    );
    assert_eq!(fleet.containers(), before, "same ids, same start times");
    fleet.assert_no_changes();
    let status = fleet.deckhand(&["status", "--no-color"]);
    assert!(
        status
            .stdout
            .contains(&format!("{} 10.221.{third}.6", fleet.n("lana"))),
        "{status:?}"
    );
}
