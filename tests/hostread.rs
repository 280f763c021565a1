//! Reading deckies from the host (SPEC §10), on the real engine: the same
//! plan both ways on a fleet with every kind of drift, no link leading to a
//! host file, and a stopped container read through the engine.

mod common;

use common::{docker, Fleet};

/// Bait of every kind in one service, and a base file.
const BAITED: &str = concat!(
    fleet_table!(),
    ssh_service!(),
    r#"
[deckies.{fleet}-a]
services = ["ssh"]

[deckies.{fleet}-a.files."/home/admin/content"]
content = "declared\n"
[deckies.{fleet}-a.files."/home/admin/mode"]
content = "m\n"
mode = 0o600
[deckies.{fleet}-a.files."/home/admin/owner"]
content = "o\n"
owner = "1000:1000"
[deckies.{fleet}-a.files."/home/admin/mtime"]
content = "t\n"
mtime = "2025-01-12T09:30:00Z"
[deckies.{fleet}-a.files."/home/admin/deleted"]
content = "d\n"
[deckies.{fleet}-a.files."/home/admin/abs-link"]
content = "l\n"
[deckies.{fleet}-a.files."/home/admin/rel-link"]
content = "r\n"
[deckies.{fleet}-a.files."/home/admin/dir"]
content = "x\n"
[deckies.{fleet}-a.files."/home/admin/fifo"]
content = "f\n"
[deckies.{fleet}-a.files."/root/.aws/credentials"]
content = "[default]\n"
[deckies.{fleet}-a.files."/root/.aws/config"]
content = "[default]\n"
[deckies.{fleet}-a.files."/srv/big"]
content = "small\n"
[deckies.{fleet}-a.files."/etc/motd"]
content = "hello\n"
target = "base"
"#
);

/// A plan as JSON, read from the host (by default) or through the engine.
fn plan_json(fleet: &Fleet, engine: bool) -> common::Run {
    let env: &[(&str, &str)] = match engine {
        true => &[("DECKHAND_READ", "engine")],
        false => &[],
    };
    common::deckhand_in(
        fleet.dir.path(),
        &["plan", "--format", "json", "--verbose"],
        env,
    )
}

#[test]
fn the_host_and_the_engine_read_every_kind_of_drift_alike_and_no_link_reaches_the_host() {
    let fleet = Fleet::new("hostread");
    fleet.write(BAITED);
    fleet.apply();
    let ssh = fleet.n("a-ssh");
    // Host files that links planted inside the decky point at.
    let secret_dir = tempfile::tempdir().unwrap();
    let secret = secret_dir.path().join("secret");
    std::fs::write(&secret, "HOST SECRET\n").unwrap();
    std::fs::write(secret_dir.path().join("credentials"), "HOST SECRET\n").unwrap();
    let (secret, secret_dir_s) = (
        secret.display().to_string(),
        secret_dir.path().display().to_string(),
    );
    let script = format!(
        "cd /home/admin && echo intruder > content && chmod 644 mode && chown 0:0 owner \
         && touch mtime && rm deleted && rm abs-link && ln -s {secret} abs-link \
         && rm rel-link && ln -s ../../../../../../../..{secret} rel-link \
         && rm dir && mkdir dir && rm fifo && mkfifo fifo \
         && rm -r /root/.aws && ln -s {secret_dir_s} /root/.aws \
         && rm /srv/big && truncate -s 1100M /srv/big"
    );
    docker(&["exec", &ssh, "sh", "-c", &script]);

    let host = plan_json(&fleet, false);
    let engine = plan_json(&fleet, true);
    assert!(
        host.stderr.contains(&format!("read {ssh}: from the host")),
        "the host path was not taken: {host:?}"
    );
    assert!(engine.stderr.contains("DECKHAND_READ=engine"), "{engine:?}");
    assert_eq!(host.code, engine.code);
    assert_eq!(host.stdout, engine.stdout, "the two reads disagree");
    assert!(
        !host.stdout.contains("HOST SECRET"),
        "a link read a host file: {host:?}"
    );
    let plan: serde_json::Value = serde_json::from_str(&host.stdout).unwrap();
    let reasons: Vec<String> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{} {}", c["path"].as_str().unwrap_or("-"), c["reason"]))
        .collect();
    let all = reasons.join("\n");
    for (path, why) in [
        ("/home/admin/content", "content changed"),
        ("/home/admin/mode", "mode 0644 -> 0600"),
        ("/home/admin/owner", "owner 0:0 -> 1000:1000"),
        ("/home/admin/mtime", "mtime"),
        ("/home/admin/deleted", "not present live"),
        ("/home/admin/abs-link", "symlink"),
        ("/home/admin/rel-link", "symlink"),
        ("/home/admin/dir", "directory"),
        ("/home/admin/fifo", "special file"),
        ("/root/.aws/credentials", "symlink"),
    ] {
        assert!(
            reasons
                .iter()
                .any(|r| r.starts_with(path) && r.contains(why)),
            "{path}: no '{why}' in\n{all}"
        );
    }
    // Longer than any declared content: read no further, and restored.
    let big = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == "/srv/big")
        .expect("a step for the file over the cap");
    assert_eq!(
        big["reason"], "content changed; evidence kept first",
        "{all}"
    );
    assert!(big["content"]["before"]["sha256"].is_null(), "{big}");
}

#[test]
fn a_stopped_container_is_read_through_the_engine() {
    let fleet = Fleet::new("hoststop");
    fleet.write(concat!(
        fleet_table!(),
        ssh_service!(),
        "\n[deckies.{fleet}-a]\nservices = [\"ssh\"]\n\n[deckies.{fleet}-a.files.\"/etc/motd\"]\ncontent = \"hi\\n\"\n"
    ));
    fleet.apply();
    let ssh = fleet.n("a-ssh");
    docker(&["exec", &ssh, "sh", "-c", "echo changed > /etc/motd"]);
    docker(&["stop", "-t", "0", &ssh]);
    let run = common::deckhand_in(fleet.dir.path(), &["plan", "--no-color", "--verbose"], &[]);
    assert!(
        run.stderr
            .contains(&format!("read {ssh}: through the engine (not running)")),
        "{run:?}"
    );
    assert!(
        run.stdout.contains("content changed"),
        "the stopped container's file was read: {run:?}"
    );
}

#[test]
fn watch_heals_a_bait_edit_at_once_and_reports_reads_but_not_its_own() {
    use std::time::Duration;
    let fleet = Fleet::new("hostwatch");
    fleet.write(concat!(
        fleet_table!(),
        ssh_service!(),
        "\n[deckies.{fleet}-a]\nservices = [\"ssh\"]\n\n[deckies.{fleet}-a.files.\"/root/.aws/credentials\"]\ncontent = \"[default]\\n\"\n",
        "\n[deckies.{fleet}-a.files.\"/root/marker\"]\ncontent = \"m\\n\"\n"
    ));
    fleet.apply();
    let ssh = fleet.n("a-ssh");
    let watch = common::watch::Watch::start_json(&fleet, 600);
    // A pass of deckhand's own (it reads every bait): no bait_access.
    let config = std::fs::read_to_string(fleet.path()).unwrap();
    std::fs::write(fleet.path(), format!("{config}\n# saved again\n")).unwrap();
    watch.wait_for("\"number\":2,\"reasons\"", Duration::from_secs(60));
    watch.wait_for("\"status\":\"ended\",\"number\":2", Duration::from_secs(60));
    // Then the intruder reads the other bait: that event comes after any of
    // deckhand's own reads would have (the kernel reports them in order), so
    // none may come before it. No clock decides when to look.
    docker(&["exec", &ssh, "cat", "/root/marker"]);
    watch.wait_for("/root/marker", Duration::from_secs(60));
    let accesses = |out: &str| -> Vec<serde_json::Value> {
        out.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|e| e["type"] == "bait_access")
            .collect()
    };
    let first = accesses(&watch.output());
    assert_eq!(first[0]["path"], "/root/marker", "{}", watch.output());

    // The intruder reads the bait: one event, with what they did.
    docker(&["exec", &ssh, "cat", "/root/.aws/credentials"]);
    watch.wait_for(
        "\"path\":\"/root/.aws/credentials\"",
        Duration::from_secs(60),
    );
    let out = watch.output();
    let access: Vec<serde_json::Value> = accesses(&out)
        .into_iter()
        .filter(|e| e["path"] != "/root/marker")
        .collect();
    assert!(
        access
            .iter()
            .all(|e| e["container"] == ssh.as_str() && e["path"] == "/root/.aws/credentials"),
        "{out}"
    );
    assert!(
        access
            .iter()
            .any(|e| e["access"] == "read" || e["access"] == "open"),
        "{out}"
    );
    assert!(access.len() <= 2, "rate-limited per file: {out}");

    // The intruder edits it: healed long before the 600 s interval.
    docker(&[
        "exec",
        &ssh,
        "sh",
        "-c",
        "echo stolen > /root/.aws/credentials",
    ]);
    let healed = std::time::Instant::now();
    while healed.elapsed() < Duration::from_secs(60) {
        if common::cat(&ssh, "/root/.aws/credentials") == b"[default]\n" {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        common::cat(&ssh, "/root/.aws/credentials"),
        b"[default]\n",
        "not healed within 60 s: {}",
        watch.output()
    );
    assert!(watch.output().contains("changed"), "{}", watch.output());
    drop(watch);
}
