//! Living beside DECNET (SPEC §7): its canaries as `on_drift = "seed"`
//! files, `{ports}`, artifact directories its collector reads, a container
//! recreated behind watch's back, and DECNET's state file.

mod common;

use std::path::{Path, PathBuf};

use common::{docker, Fleet};

/// Every copy kept under the fleet's evidence directory (sidecars aside).
fn copies(fleet: &Fleet) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_none_or(|x| x != "json") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&fleet.dir.path().join(".deckhand/evidence"), &mut out);
    out
}

const SEEDED: &str = r#"
[fleet]
name = "{fleet}"
base_image = "{image}"

[deckies.{fleet}-a]
services = []
env = { ROUND = "1" }

[deckies.{fleet}-a.files."/root/.aws/credentials"]
content = "aws_access_key_id = AKIA-SEEDED\n"
mode = 0o600
on_drift = "seed"

[deckies.{fleet}-a.files."/root/notes.txt"]
content = "todo\n"
"#;

#[test]
fn a_seed_is_written_when_absent_and_then_left_to_whoever_changes_it() {
    let fleet = Fleet::new("dnseed");
    fleet.write(SEEDED);
    fleet.apply();
    let base = fleet.n("a");
    let canary = "/root/.aws/credentials";
    assert_eq!(
        common::cat(&base, canary),
        b"aws_access_key_id = AKIA-SEEDED\n"
    );

    // DECNET (or an intruder) rewrites and chmods it: nothing to do, nothing kept.
    let theirs = "echo 'aws_access_key_id = AKIA-DECNET-TOKEN' > /root/.aws/credentials; chmod 644 /root/.aws/credentials";
    docker(&["exec", &base, "sh", "-c", theirs]);
    fleet.assert_no_changes();
    let status = fleet.deckhand(&["status", "--detailed-exitcode", "--no-color"]);
    assert_eq!(
        status.code, 0,
        "a seed changed is not a difference: {status:?}"
    );

    // Gone: written again.
    docker(&["exec", &base, "rm", canary]);
    let plan = fleet.plan();
    assert!(
        plan.stdout.contains(&format!("+ file {base}:{canary}")),
        "{plan:?}"
    );
    fleet.apply();
    assert_eq!(
        common::cat(&base, canary),
        b"aws_access_key_id = AKIA-SEEDED\n"
    );

    // Changed again, then the base is replaced: the seed is not evidence of
    // its layer, an intruder's file is; the new base gets the seed.
    docker(&["exec", &base, "sh", "-c", theirs]);
    docker(&["exec", &base, "sh", "-c", "echo loot > /root/loot.txt"]);
    fleet.write(&SEEDED.replace("ROUND = \"1\"", "ROUND = \"2\""));
    let run = fleet.apply();
    let kept = copies(&fleet);
    assert_eq!(kept.len(), 1, "one layer capture: {kept:?}\n{run:?}");
    let listing = std::fs::read_to_string(format!("{}.json", kept[0].display())).unwrap();
    assert!(
        listing.contains("/root/loot.txt") && !listing.contains(".aws/credentials"),
        "a seed is never evidence: {listing}"
    );
    assert_eq!(
        common::cat(&base, canary),
        b"aws_access_key_id = AKIA-SEEDED\n"
    );
    fleet.assert_no_changes();

    // Out of the file: left in place, like anything else someone else owns.
    docker(&["exec", &base, "sh", "-c", theirs]);
    let seed = "[deckies.{fleet}-a.files.\"/root/.aws/credentials\"]\ncontent = \"aws_access_key_id = AKIA-SEEDED\\n\"\nmode = 0o600\non_drift = \"seed\"\n";
    assert!(SEEDED.contains(seed));
    fleet.write(
        &SEEDED
            .replace("ROUND = \"1\"", "ROUND = \"2\"")
            .replace(seed, ""),
    );
    fleet.assert_no_changes();
    assert_eq!(
        common::cat(&base, canary),
        b"aws_access_key_id = AKIA-DECNET-TOKEN\n"
    );
    assert_eq!(copies(&fleet).len(), 1, "{:?}", copies(&fleet));
}

#[test]
fn watch_heals_a_bait_beside_a_seed_and_leaves_the_seed_as_found() {
    let fleet = Fleet::new("dnseedw");
    fleet.write(SEEDED);
    fleet.apply();
    let base = fleet.n("a");
    let watch = common::watch::Watch::start(&fleet, 2);
    let both = "echo DECNET > /root/.aws/credentials; echo tampered > /root/notes.txt";
    docker(&["exec", &base, "sh", "-c", both]);
    let healed = common::watch::within(std::time::Duration::from_secs(60), || {
        common::cat(&base, "/root/notes.txt") == b"todo\n"
    });
    assert!(healed.is_some(), "{}", watch.output());
    watch.settled(std::time::Duration::from_secs(60));
    assert_eq!(common::cat(&base, "/root/.aws/credentials"), b"DECNET\n");
    // Its opens are still told (a canary touched is news); never a step or evidence.
    let out = watch.output();
    let acted = |l: &&str| ["file ", "evidence", "drift"].iter().any(|w| l.contains(w));
    assert!(
        !out.lines()
            .filter(|l| l.contains("credentials"))
            .any(|l| acted(&l)),
        "{out}"
    );
}

#[test]
fn a_seed_cannot_be_the_fleets_default_nor_go_with_ensure_absent() {
    let fleet = Fleet::new("dnseedbad");
    fleet.write(&SEEDED.replace(
        "base_image = \"{image}\"",
        "base_image = \"{image}\"\non_drift = \"seed\"",
    ));
    let run = fleet.deckhand(&["validate"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("deckhand.toml:5:"), "{run:?}");
    assert!(
        run.stderr.contains("cannot be every file's default"),
        "{run:?}"
    );
    fleet.write(&SEEDED.replace(
        "content = \"todo\\n\"",
        "ensure = \"absent\"\non_drift = \"seed\"",
    ));
    let run = fleet.deckhand(&["validate"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("cannot go with ensure = \"absent\""),
        "{run:?}"
    );
}

const PORTS: &str = r#"
[fleet]
name = "{fleet}"
base_image = "{image}"

[services.smb]
image = "{image}"
command = ["sleep", "infinity"]
ports = [445, 139]
env = { OPEN = "{ports}" }

[services.rdp]
image = "{image}"
command = ["sleep", "infinity"]
ports = [3389, 445]

[deckies.{fleet}-win]
services = ["smb", "rdp"]
env = { DECNET_OPEN_PORTS = "{ports}" }
"#;

/// The environment of `container`, as the engine holds it.
fn env_of(container: &str) -> Vec<String> {
    let json = docker(&["inspect", "-f", "{{json .Config.Env}}", container]);
    serde_json::from_str(json.trim()).unwrap()
}

#[test]
fn ports_expands_to_the_deckys_service_ports_as_decnet_writes_them() {
    let fleet = Fleet::new("dnports");
    fleet.write(PORTS);
    fleet.apply();
    let base = fleet.n("win");
    // DECNET's composer: sorted, once each, commas (its test: smb + rdp = "139,445,3389").
    assert!(env_of(&base).contains(&"DECNET_OPEN_PORTS=139,445,3389".to_string()));
    assert!(env_of(&fleet.n("win-smb")).contains(&"OPEN=139,445,3389".to_string()));
    fleet.assert_no_changes();

    fleet.write(&PORTS.replace("services = [\"smb\", \"rdp\"]", "services = [\"smb\"]"));
    let plan = fleet.plan();
    assert!(
        plan.stdout.contains(&format!("-/+ decky {base}"))
            && plan.stdout.contains("env DECNET_OPEN_PORTS changed"),
        "{plan:?}"
    );
    fleet.apply();
    assert!(env_of(&base).contains(&"DECNET_OPEN_PORTS=139,445".to_string()));
    fleet.assert_no_changes();
}

const ARTIFACTS: &str = r#"
[fleet]
name = "{fleet}"
base_image = "{image}"
artifacts = { mode = "2775", group = "daemon" }

[services.ssh]
image = "{image}"
command = ["sleep", "infinity"]
volumes = ["{dir}/artifacts/{decky}/ssh:/var/lib/systemd/coredump:rw"]

[deckies.{fleet}-a]
services = ["ssh"]
"#;

/// The gid of `name` in this host's /etc/group.
fn gid(name: &str) -> u32 {
    let groups = std::fs::read_to_string("/etc/group").unwrap();
    let line = groups.lines().find(|l| l.starts_with(&format!("{name}:")));
    line.and_then(|l| l.split(':').nth(2)?.parse().ok())
        .unwrap_or_else(|| panic!("no group {name} on this host"))
}

#[test]
fn artifact_directories_get_the_mode_and_group_decnets_collector_reads() {
    use std::os::unix::fs::MetadataExt as _;
    let fleet = Fleet::new("dnart");
    let dir = fleet.dir.path().display().to_string();
    fleet.write(&ARTIFACTS.replace("{dir}", &dir));
    fleet.apply();
    let decky = fleet.dir.path().join("artifacts").join(fleet.n("a"));
    for made in [decky.clone(), decky.join("ssh")] {
        let m = std::fs::metadata(&made).unwrap();
        assert_eq!(
            (m.mode() & 0o7777, m.gid()),
            (0o2775, gid("daemon")),
            "{made:?}"
        );
    }
    // The container writes there, and the setgid directory hands on its group.
    let ssh = fleet.n("a-ssh");
    docker(&[
        "exec",
        &ssh,
        "sh",
        "-c",
        "echo core > /var/lib/systemd/coredump/core.1",
    ]);
    let core = std::fs::metadata(decky.join("ssh/core.1")).unwrap();
    assert_eq!(core.gid(), gid("daemon"));
    fleet.assert_no_changes();

    // Without artifacts: 0700 root, as before.
    let other = Fleet::new("dnart0");
    let dir = other.dir.path().display().to_string();
    other.write(
        &ARTIFACTS
            .replace("{dir}", &dir)
            .replace("artifacts = { mode = \"2775\", group = \"daemon\" }\n", ""),
    );
    other.apply();
    let m = std::fs::metadata(
        other
            .dir
            .path()
            .join("artifacts")
            .join(other.n("a"))
            .join("ssh"),
    )
    .unwrap();
    assert_eq!((m.mode() & 0o7777, m.gid()), (0o700, 0));
}

#[test]
fn an_artifacts_group_that_does_not_exist_is_refused_at_its_line() {
    let fleet = Fleet::new("dnartbad");
    fleet.write(
        &ARTIFACTS
            .replace("{dir}", "/tmp")
            .replace("\"daemon\"", "\"no-such-group-dh\""),
    );
    let run = fleet.deckhand(&["validate"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("deckhand.toml:5:")
            && run.stderr.contains("no group 'no-such-group-dh'")
            && run.stderr.contains("groupadd no-such-group-dh"),
        "{run:?}"
    );
    fleet.write(
        &ARTIFACTS
            .replace("{dir}", "/tmp")
            .replace("mode = \"2775\", ", ""),
    );
    let run = fleet.deckhand(&["validate"]);
    assert!(
        run.code == 1 && run.stderr.contains("artifacts has no mode"),
        "{run:?}"
    );
}

const RECREATED: &str = r#"
[fleet]
name = "{fleet}"
base_image = "{image}"

[services.ssh]
image = "{image}"
command = ["sleep", "infinity"]

[deckies.{fleet}-a]
services = ["ssh"]
"#;

/// The RECREATED fleet applied: its ssh service's name and id.
fn applied_ssh(hint: &str) -> (Fleet, String, String) {
    let fleet = Fleet::new(hint);
    fleet.write(RECREATED);
    fleet.apply();
    let ssh = fleet.n("a-ssh");
    let id = docker(&["inspect", "-f", "{{.Id}}", &ssh]);
    let id = id.trim().to_string();
    (fleet, ssh, id)
}

#[test]
fn watch_tells_of_a_container_someone_else_recreated_and_who() {
    let (fleet, ssh, old) = applied_ssh("dnmut");
    let watch = common::watch::Watch::start_json(&fleet, 60);
    // As DECNET's mutator would: compose recreates it, labels and all.
    let json = docker(&["inspect", "-f", "{{json .Config.Labels}}", &ssh]);
    let labels: std::collections::BTreeMap<String, String> =
        serde_json::from_str(json.trim()).unwrap();
    docker(&["rm", "-f", &ssh]);
    let mut args = vec!["run".to_string(), "-d".into(), "--name".into(), ssh.clone()];
    args.push(format!("--network=container:{}", fleet.n("a")));
    for (k, v) in &labels {
        args.extend(["--label".to_string(), format!("{k}={v}")]);
    }
    args.extend(["--label".into(), "com.docker.compose.project=decnet".into()]);
    args.extend([common::IMAGE.to_string(), "sleep".into(), "infinity".into()]);
    let new = docker(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let new = new.trim();
    watch.wait_for("\"type\":\"drift\"", std::time::Duration::from_secs(60));
    let out = watch.output();
    let drift: serde_json::Value = out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| e["type"] == "drift")
        .unwrap();
    assert_eq!(drift["container"], ssh.as_str(), "{drift}");
    assert_eq!(drift["kind"], "service", "{drift}");
    assert_eq!(drift["decky"], fleet.n("a").as_str(), "{drift}");
    let what = drift["what"].as_str().unwrap();
    assert!(
        what.contains(&format!("id {} -> {}", &old[..12], &new[..12]))
            && what.contains("by docker-compose project decnet"),
        "{drift}"
    );
    // Then reconciled as usual, and told once.
    watch.settled(std::time::Duration::from_secs(60));
    let out = watch.output();
    assert_eq!(out.matches("\"type\":\"drift\"").count(), 1, "{out}");
    fleet.assert_no_changes();
}

const STATE: &str = r#"
[fleet]
name = "{fleet}"
base_image = "{image}"
decnet_state = "decnet/decnet-state.json"

[services.ssh]
image = "{image}"
command = ["sleep", "infinity"]

[deckies.{fleet}-a]
services = ["ssh"]
hostname = "srv-a"
"#;

/// The deckies (name, services) of the state file at `path`, if it reads.
fn state_deckies(path: &Path) -> Option<Vec<(String, Vec<String>)>> {
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let deckies = state["config"]["deckies"].as_array()?;
    let names = deckies.iter().map(|d| {
        let services = d["services"].as_array().into_iter().flatten();
        let services = services
            .filter_map(|s| s.as_str().map(String::from))
            .collect();
        (d["name"].as_str().unwrap_or_default().to_string(), services)
    });
    Some(names.collect())
}

#[test]
fn export_writes_decnets_state_and_watch_keeps_it_current() {
    let fleet = Fleet::new("dnstate");
    fleet.write(STATE);
    std::fs::create_dir(fleet.dir.path().join("decnet")).unwrap();
    let path = fleet.dir.path().join("decnet/decnet-state.json");
    let run = fleet.deckhand(&["export", "decnet-state"]);
    assert_eq!(run.code, 0, "{run:?}");
    let a = (fleet.n("a"), vec!["ssh".to_string()]);
    assert_eq!(state_deckies(&path), Some(vec![a.clone()]));
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(state["config"]["deckies"][0]["hostname"], "srv-a");
    assert_eq!(state["compose_path"], "");
    std::fs::remove_file(&path).unwrap();

    let watch = common::watch::Watch::start(&fleet, 60);
    assert_eq!(
        state_deckies(&path),
        Some(vec![a.clone()]),
        "{}",
        watch.output()
    );
    fleet.write(&format!(
        "{STATE}\n[deckies.{{fleet}}-b]\nservices = [\"ssh\"]\n"
    ));
    let b = (fleet.n("b"), vec!["ssh".to_string()]);
    let current = common::watch::within(std::time::Duration::from_secs(60), || {
        state_deckies(&path) == Some(vec![a.clone(), b.clone()])
    });
    assert!(
        current.is_some(),
        "{:?}\n{}",
        state_deckies(&path),
        watch.output()
    );
    watch.settled(std::time::Duration::from_secs(60));
}

#[test]
fn watch_tells_of_a_container_someone_else_removed_and_heals_it() {
    let (fleet, ssh, old) = applied_ssh("dnrm");
    let watch = common::watch::Watch::start(&fleet, 60);
    watch.settled(std::time::Duration::from_secs(60));
    docker(&["rm", "-f", &ssh]);
    let told = format!(
        "drift service {ssh}: removed outside deckhand (id {})",
        &old[..12]
    );
    watch.wait_for(&told, std::time::Duration::from_secs(60));
    // Healed as before (a pass makes it again), and told once.
    let healed = common::watch::within(std::time::Duration::from_secs(60), || {
        watch.settled(std::time::Duration::from_secs(60));
        fleet
            .containers()
            .get(&ssh)
            .is_some_and(|c| c.status == "running")
    });
    assert!(healed.is_some(), "not made again:\n{}", watch.output());
    let out = watch.output();
    assert_eq!(out.matches(" drift ").count(), 1, "{out}");
    fleet.assert_no_changes();
}
