//! Every setting of SPEC §7 on the real engine: it reaches the container (read
//! back with inspect), a change replaces only the container carrying it and
//! names the field, a replace keeps the others, and a DECNET-made container
//! carrying them imports and plans `No changes.`.

mod common;

use common::{docker, Fleet};

/// One setting: where it goes (`base` or `ssh`), its line, the inspect
/// format reading it back and what that shows, another value of it, and
/// what the plan then says.
struct Case {
    on: &'static str,
    line: &'static str,
    format: &'static str,
    shows: &'static str,
    changed: &'static str,
    reason: &'static str,
}

const CASES: &[Case] = &[
    Case { on: "base", line: "restart = \"on-failure:3\"", format: "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}", shows: "on-failure:3", changed: "restart = \"always\"", reason: "restart on-failure:3 -> always" },
    Case { on: "base", line: "mem_limit = \"64m\"", format: "{{.HostConfig.Memory}}", shows: "67108864", changed: "mem_limit = \"128m\"", reason: "mem_limit 67108864 -> 134217728" },
    Case { on: "base", line: "cpus = 0.5", format: "{{.HostConfig.NanoCpus}}", shows: "500000000", changed: "cpus = 1", reason: "cpus 0.5 -> 1" },
    Case { on: "base", line: "pids_limit = 100", format: "{{.HostConfig.PidsLimit}}", shows: "100", changed: "pids_limit = 200", reason: "pids_limit 100 -> 200" },
    Case { on: "base", line: "ulimits = { nofile = { soft = 1024, hard = 2048 } }", format: "{{range .HostConfig.Ulimits}}{{.Name}}={{.Soft}}:{{.Hard}}{{end}}", shows: "nofile=1024:2048", changed: "ulimits = { nofile = 512 }", reason: "ulimit nofile" },
    Case { on: "base", line: "security_opt = [\"no-new-privileges\"]", format: "{{.HostConfig.SecurityOpt}}", shows: "[no-new-privileges]", changed: "security_opt = [\"no-new-privileges:true\"]", reason: "security_opt [\"no-new-privileges\"] -> [\"no-new-privileges:true\"]" },
    Case { on: "base", line: "tmpfs = [\"/run:size=1m\"]", format: "{{.HostConfig.Tmpfs}}", shows: "map[/run:size=1m]", changed: "tmpfs = [\"/run:size=2m\"]", reason: "tmpfs [\"/run:size=1m\"] -> [\"/run:size=2m\"]" },
    Case { on: "base", line: "extra_hosts = [\"db.corp.local:10.0.0.5\"]", format: "{{.HostConfig.ExtraHosts}}", shows: "[db.corp.local:10.0.0.5]", changed: "extra_hosts = [\"db.corp.local:10.0.0.6\"]", reason: "extra_hosts [" },
    Case { on: "base", line: "dns = [\"9.9.9.9\"]", format: "{{.HostConfig.Dns}}", shows: "[9.9.9.9]", changed: "dns = [\"1.1.1.1\"]", reason: "dns [\"9.9.9.9\"] -> [\"1.1.1.1\"]" },
    Case { on: "base", line: "dns_search = [\"corp.local\"]", format: "{{.HostConfig.DnsSearch}}", shows: "[corp.local]", changed: "dns_search = [\"lab.local\"]", reason: "dns_search [\"corp.local\"] -> [\"lab.local\"]" },
    Case { on: "base", line: "mac_address = \"02:aa:bb:cc:dd:01\"", format: "{{.Config.MacAddress}}", shows: "02:aa:bb:cc:dd:01", changed: "mac_address = \"02:aa:bb:cc:dd:02\"", reason: "mac_address 02:aa:bb:cc:dd:01 -> 02:aa:bb:cc:dd:02" },
    Case { on: "base", line: "domainname = \"corp.local\"", format: "{{.Config.Domainname}}", shows: "corp.local", changed: "domainname = \"lab.local\"", reason: "domainname corp.local -> lab.local" },
    Case { on: "base", line: "entrypoint = [\"/bin/env\"]", format: "{{.Config.Entrypoint}}", shows: "[/bin/env]", changed: "entrypoint = [\"/bin/env\", \"-u\", \"X\"]", reason: "entrypoint [\"/bin/env\"] -> [\"/bin/env\", \"-u\", \"X\"]" },
    Case { on: "base", line: "cap_drop = [\"MKNOD\"]", format: "{{.HostConfig.CapDrop}}", shows: "[MKNOD]", changed: "cap_drop = [\"MKNOD\", \"NET_RAW\"]", reason: "cap_drop [\"MKNOD\"] -> [\"MKNOD\",\"NET_RAW\"]" },
    Case { on: "base", line: "volumes = [\"/tmp/h-settings-sets/a:/mnt/a\"]", format: "{{.HostConfig.Binds}}", shows: "[/tmp/h-settings-sets/a:/mnt/a]", changed: "volumes = [\"/tmp/h-settings-sets/a:/mnt/a:ro\"]", reason: "volume added: /tmp/h-settings-sets/a:/mnt/a:ro" },
    Case { on: "ssh", line: "read_only = true", format: "{{.HostConfig.ReadonlyRootfs}}", shows: "true", changed: "read_only = false", reason: "read_only true -> (none)" },
    Case { on: "ssh", line: "user = \"1000\"", format: "{{.Config.User}}", shows: "1000", changed: "user = \"1001\"", reason: "user 1000 -> 1001" },
    Case { on: "ssh", line: "working_dir = \"/tmp\"", format: "{{.Config.WorkingDir}}", shows: "/tmp", changed: "working_dir = \"/var\"", reason: "working_dir /tmp -> /var" },
    Case { on: "ssh", line: "labels = { team = \"red\" }", format: "{{index .Config.Labels \"team\"}}", shows: "red", changed: "labels = { team = \"blue\" }", reason: "label team red -> blue" },
    Case { on: "ssh", line: "privileged = true", format: "{{.HostConfig.Privileged}}", shows: "true", changed: "privileged = false", reason: "privileged true -> (none)" },
    Case { on: "ssh", line: "devices = [\"/dev/null:/dev/decoy\"]", format: "{{range .HostConfig.Devices}}{{.PathOnHost}}:{{.PathInContainer}}:{{.CgroupPermissions}}{{end}}", shows: "/dev/null:/dev/decoy:rwm", changed: "devices = [\"/dev/zero:/dev/decoy\"]", reason: "devices [\"/dev/null:/dev/decoy\"] -> [\"/dev/zero:/dev/decoy\"]" },
    Case { on: "ssh", line: "healthcheck = { test = [\"CMD\", \"true\"], interval = \"30s\" }", format: "{{.Config.Healthcheck.Test}} {{.Config.Healthcheck.Interval}}", shows: "[CMD true] 30s", changed: "healthcheck = { test = [\"CMD\", \"true\"], interval = \"10s\" }", reason: "healthcheck interval 30s -> 10s" },
];

/// A fleet with every case on `a` (its base or its ssh), and `b` beside it
/// carrying none; `changed` swaps one case's line for its other value.
fn config(changed: Option<&Case>) -> String {
    let lines = |on: &str| {
        let each = CASES.iter().filter(|c| c.on == on).map(|c| match changed {
            Some(x) if x.line == c.line => c.changed,
            _ => c.line,
        });
        each.collect::<Vec<_>>().join("\n")
    };
    format!(
        "{}\n[services.ssh]\nimage = \"{{image}}\"\ncommand = [\"sleep\", \"infinity\"]\n{}\n\n[deckies.{{fleet}}-a]\nservices = [\"ssh\"]\n{}\n\n[deckies.{{fleet}}-b]\nservices = []\n",
        fleet_table!(),
        lines("ssh"),
        lines("base")
    )
}

fn inspect(name: &str, format: &str) -> String {
    docker(&["inspect", "-f", format, name]).trim().to_string()
}

fn container(fleet: &Fleet, case: &Case) -> String {
    match case.on {
        "base" => fleet.n("a"),
        _ => fleet.n("a-ssh"),
    }
}

#[test]
fn every_setting_reaches_its_container_and_a_change_replaces_only_it() {
    let fleet = Fleet::new("sets");
    fleet.write(&config(None));
    let run = fleet.apply();
    assert!(
        run.stderr.contains("privileged gives an intruder"),
        "{run:?}"
    );
    for case in CASES {
        let shown = inspect(&container(&fleet, case), case.format);
        assert_eq!(shown, case.shows, "{} as inspected", case.line);
    }
    fleet.assert_no_changes();

    for case in CASES {
        fleet.write(&config(Some(case)));
        let plan = fleet.plan();
        let target = container(&fleet, case);
        let kind = if case.on == "base" {
            "decky"
        } else {
            "service"
        };
        let replaced: Vec<&str> = plan.stdout.lines().filter(|l| l.contains("-/+ ")).collect();
        // A base's services go with it; nothing of decky b moves.
        let others = replaced.iter().filter(|l| !l.contains(&fleet.n("a")));
        assert_eq!(others.count(), 0, "{}: {plan:?}", case.changed);
        let expected = if case.on == "base" { 2 } else { 1 };
        assert_eq!(replaced.len(), expected, "{}: {plan:?}", case.changed);
        let first = format!("-/+ {kind} {target}");
        assert!(plan.stdout.contains(&first), "{}: {plan:?}", case.changed);
        assert!(
            plan.stdout.contains(case.reason),
            "{}: want '{}' in {plan:?}",
            case.changed,
            case.reason
        );
    }

    // A replace keeps every other setting.
    let case = &CASES[0];
    fleet.write(&config(Some(case)));
    fleet.apply();
    assert_eq!(inspect(&fleet.n("a"), CASES[0].format), "always:0");
    for other in &CASES[1..] {
        assert_eq!(
            inspect(&container(&fleet, other), other.format),
            other.shows,
            "{} after a replace",
            other.line
        );
    }
    fleet.assert_no_changes();
}

/// Containers and networks made by hand, removed on drop (deckhand's
/// replacements carry the same names).
struct Made(Vec<String>, String);

impl Drop for Made {
    fn drop(&mut self) {
        for c in &self.0 {
            let _ = common::docker_try(&["rm", "-f", c]);
        }
        let _ = common::docker_try(&["network", "rm", &self.1]);
    }
}

/// An image whose HEALTHCHECK its containers inherit.
fn image_with_health_check() -> &'static str {
    let tag = "h-settings-health:1";
    let dockerfile = format!(
        "FROM {}\nHEALTHCHECK --interval=45s CMD true\n",
        common::IMAGE
    );
    let mut child = std::process::Command::new("docker")
        .args(["build", "-q", "-t", tag, "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("docker build");
    use std::io::Write;
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(dockerfile.as_bytes()).unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success(), "docker build failed");
    tag
}

/// What inspect shows of every setting, by container: read before and after a replace.
const SHOWN: &[(&str, &str)] = &[
    ("w", "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}} {{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}"),
    ("w", "{{range .HostConfig.Ulimits}}{{.Name}}={{.Soft}}:{{.Hard}}{{end}} {{.HostConfig.SecurityOpt}} {{.HostConfig.Tmpfs}}"),
    ("w", "{{.HostConfig.ExtraHosts}} {{.HostConfig.Dns}} {{.HostConfig.DnsSearch}} {{.Config.MacAddress}}"),
    ("w", "{{.Config.Entrypoint}} {{.HostConfig.CapAdd}} {{.HostConfig.CapDrop}} {{.HostConfig.Binds}}"),
    ("w", "{{.HostConfig.Sysctls}} {{index .Config.Labels \"team\"}} {{.Config.Healthcheck.Test}} {{.Config.Healthcheck.Interval}}"),
    ("w", "{{.HostConfig.LogConfig.Type}} {{.HostConfig.LogConfig.Config}} {{.Config.Hostname}} {{.Config.Domainname}}"),
    ("w-ssh", "{{.HostConfig.ReadonlyRootfs}} {{.Config.User}} {{.Config.WorkingDir}} {{.HostConfig.Privileged}}"),
    ("w-ssh", "{{range .HostConfig.Devices}}{{.PathOnHost}}:{{.PathInContainer}}{{end}} {{index .Config.Labels \"team\"}}"),
    ("w-ssh", "{{.Config.Healthcheck.Test}} {{.Config.Healthcheck.Interval}} {{.HostConfig.LogConfig.Config}}"),
];

fn shown(fleet: &Fleet) -> Vec<String> {
    let each = SHOWN.iter().map(|(c, f)| inspect(&fleet.n(c), f));
    each.collect()
}

/// The imported file less the deckies other tests' DECNET containers gave it.
fn only_mine(fleet: &Fleet, imported: &str) -> String {
    let mut t: toml::Table = toml::from_str(imported).expect("imported TOML");
    let deckies = t["deckies"].as_table_mut().unwrap();
    deckies.retain(|k, _| k.starts_with(&fleet.name));
    toml::to_string(&t).unwrap()
}

/// Decky `w` as DECNET makes it on `lan` at `ip`: a base carrying every
/// setting a base can, created as API 1.41 takes a MAC address (the docker
/// CLI sends one where only 1.44 takes it), and an ssh service in its network
/// namespace carrying the rest and inheriting its image's health check.
fn decnet_decky(fleet: &Fleet, lan: &str, ip: &str) {
    let (w, ssh) = (fleet.n("w"), fleet.n("w-ssh"));
    let bind = format!("/tmp/h-settings-all/{w}:/mnt/w");
    let body = serde_json::json!({
        "Image": common::IMAGE, "Hostname": "w-host", "Domainname": "corp.local", "MacAddress": "02:aa:bb:cc:dd:10",
        "Entrypoint": ["/bin/env"], "Cmd": ["sleep", "infinity"], "Labels": {"team": "red"},
        "Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 30_000_000_000u64},
        "HostConfig": {
            "NetworkMode": lan, "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3},
            "Memory": 64 << 20, "NanoCpus": 500_000_000, "PidsLimit": 100,
            "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}],
            "SecurityOpt": ["no-new-privileges"], "Tmpfs": {"/run": "size=1m"},
            "Dns": ["9.9.9.9"], "DnsSearch": ["corp.local"], "ExtraHosts": ["db.corp.local:10.0.0.5"],
            "CapAdd": ["NET_ADMIN"], "CapDrop": ["MKNOD"], "Binds": [bind],
            "Sysctls": {"net.ipv4.tcp_timestamps": "0"},
            "LogConfig": {"Type": "json-file", "Config": {"max-size": "1m"}},
        },
        "NetworkingConfig": {"EndpointsConfig": {lan: {"IPAMConfig": {"IPv4Address": ip}}}},
    });
    let url = format!("http://engine/v1.41/containers/create?name={w}");
    let out = std::process::Command::new("curl")
        .args([
            "-sf",
            "--unix-socket",
            "/var/run/docker.sock",
            "-H",
            "Content-Type: application/json",
            "-d",
        ])
        .arg(body.to_string())
        .arg(&url)
        .output()
        .expect("curl");
    assert!(out.status.success(), "create {w}: {out:?}");
    docker(&["start", &w]);
    let image = image_with_health_check();
    let net = format!("container:{w}");
    let decky = format!("decnet.fleet.decky={w}");
    docker(&[
        "run",
        "-d",
        "--name",
        &ssh,
        "--network",
        &net,
        "--label",
        &decky,
        "--label",
        "decnet.fleet.service_name=ssh",
        "--label",
        "decnet.fleet.service=true",
        "--read-only",
        "--user",
        "1000",
        "--workdir",
        "/tmp",
        "--privileged",
        "--device",
        "/dev/null:/dev/decoy",
        "--label",
        "team=blue",
        "--log-driver",
        "json-file",
        "--log-opt",
        "max-size=1m",
        image,
        "sleep",
        "infinity",
    ]);
}

#[test]
fn a_decnet_decky_with_every_setting_imports_adopts_as_it_is_and_keeps_them_across_a_replace() {
    let fleet = Fleet::new("setsall");
    let subnets = common::net::reserve(&[219]);
    let (lan, w, ssh) = (fleet.n("lan"), fleet.n("w"), fleet.n("w-ssh"));
    let _made = Made(vec![ssh.clone(), w.clone()], lan.clone());
    let third = subnets.third;
    docker(&[
        "network",
        "create",
        "--subnet",
        &format!("10.219.{third}.0/24"),
        &lan,
    ]);
    decnet_decky(&fleet, &lan, &format!("10.219.{third}.10"));
    let before = shown(&fleet);

    // import writes it (refusing nothing), and the plan finds it matching.
    let run = fleet.deckhand(&["import", "--fleet", &fleet.name]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stderr.contains(&format!("{w} left out")), "{run:?}");
    for line in [
        "mac_address = \"02:aa:bb:cc:dd:10\"",
        "entrypoint = [\"/bin/env\"]",
        "cap_drop = [\"MKNOD\"]",
        "privileged = true",
    ] {
        assert!(run.stdout.contains(line), "{line} not in {run:?}");
    }
    assert!(
        !run.stdout.contains("interval = \"45s\""),
        "the image's health check: {run:?}"
    );
    std::fs::write(fleet.path(), only_mine(&fleet, &run.stdout)).unwrap();
    fleet.assert_no_changes();

    // Adoption recreates nothing.
    let started = |c: &str| inspect(c, "{{.Id}} {{.State.StartedAt}}");
    let (w_was, ssh_was) = (started(&w), started(&ssh));
    let adopted = fleet.deckhand(&["apply", "--auto-approve", "--adopt", "--no-color"]);
    assert_eq!(adopted.code, 0, "{adopted:?}");
    assert_eq!(
        (started(&w), started(&ssh)),
        (w_was.clone(), ssh_was.clone())
    );
    fleet.assert_no_changes();

    // A replace (another hostname) keeps every setting.
    let text = std::fs::read_to_string(fleet.path()).unwrap();
    std::fs::write(fleet.path(), text.replace("\"w-host\"", "\"w-host2\"")).unwrap();
    let run = fleet.apply();
    assert!(run.stdout.contains("replaced"), "{run:?}");
    assert_ne!(started(&w), w_was, "the base was not replaced");
    assert_ne!(started(&ssh), ssh_was, "the service was not replaced");
    let after = shown(&fleet);
    let hostname = |v: &[String]| {
        v.iter()
            .map(|l| l.replace("w-host2", "w-host"))
            .collect::<Vec<_>>()
    };
    assert_eq!(hostname(&after), before, "settings after the replace");
    fleet.assert_no_changes();
}
