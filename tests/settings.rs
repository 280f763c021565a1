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
