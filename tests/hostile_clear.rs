//! A hostile decky cannot hang deckhand through its own programs (issue 20,
//! finding 3; SPEC §8): deletes and clears act from the host beneath the
//! verified root, and only otherwise run `rm` in the container, with a
//! timeout (10 s) and an output cap (64 KiB). The intruder replaces
//! `/bin/rm` (a busybox symlink) with a script of its own.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{docker, docker_try, Fleet, Run};

/// Long enough for a run on a busy machine; a hang is far longer.
const BOUND: Duration = Duration::from_secs(60);

const TWO: &str = concat!(
    fleet_table!(),
    r#"
[deckies.{fleet}-a]
services = []

[deckies.{fleet}-a.files."/srv/a/bait"]
content = "a\n"

[deckies.{fleet}-a.files."/srv/a/dir/bait"]
content = "a2\n"

[deckies.{fleet}-b]
services = []

[deckies.{fleet}-b.files."/srv/b/bait"]
content = "b\n"
"#,
);

/// A `rm` that never ends.
const SLEEPING_RM: &str = "#!/bin/sh\nsleep 100000\n";
/// A `rm` that prints forever.
const CHATTY_RM: &str = "#!/bin/sh\nwhile :; do echo aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; done\n";
/// A `rm` that says it removed everything and removes nothing.
const LYING_RM: &str = "#!/bin/sh\nexit 0\n";

/// One run of deckhand, watched while it runs.
struct Watched {
    run: Run,
    /// It ended by itself within the bound (else it was killed).
    ended: bool,
    seconds: f64,
    /// Its peak resident memory (VmHWM), in KiB, as last read.
    peak_kib: u64,
}

fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `deckhand apply --auto-approve` with `env`, killed if it runs past [`BOUND`].
fn apply_watched(fleet: &Fleet, env: &[(&str, &str)]) -> Watched {
    let out = fleet.dir.path().join("apply.out");
    let err = fleet.dir.path().join("apply.err");
    let mut child = Command::new(env!("CARGO_BIN_EXE_deckhand"))
        .args(["apply", "--auto-approve", "--no-color"])
        .current_dir(fleet.dir.path())
        .env_remove("NO_COLOR")
        .envs(env.iter().copied())
        .stdout(Stdio::from(std::fs::File::create(&out).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&err).unwrap()))
        .spawn()
        .expect("run deckhand");
    let started = Instant::now();
    let mut peak = 0;
    let status = loop {
        peak = peak_kib(child.id()).unwrap_or(peak).max(peak);
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > BOUND {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    Watched {
        run: Run {
            code: status.and_then(|s| s.code()).unwrap_or(-1),
            stdout: read(&out),
            stderr: read(&err),
        },
        ended: status.is_some(),
        seconds: started.elapsed().as_secs_f64(),
        peak_kib: peak,
    }
}

/// Replaces `/bin/rm` in `container` with a script.
fn hostile_rm(container: &str, script: &str) {
    let cmd = format!("rm /bin/rm && printf '%s' '{script}' > /bin/rm && chmod 755 /bin/rm");
    docker(&["exec", container, "sh", "-c", &cmd]);
    let (_, now) = docker_try(&["exec", container, "cat", "/bin/rm"]);
    assert_eq!(now, script, "the intruder's rm is in place");
}

/// Plants a tree at decky a's bait: directories, a file, a FIFO, a device
/// node and a symlink to the container's /etc.
fn plant_tree(container: &str) {
    let cmd = "rm /srv/a/bait && mkdir -p /srv/a/bait/loot/deep && echo x > /srv/a/bait/loot/y \
               && mkfifo /srv/a/bait/fifo && mknod /srv/a/bait/null c 1 3 && ln -s /etc /srv/a/bait/etc";
    docker(&["exec", container, "sh", "-c", cmd]);
}

fn cat(container: &str, path: &str) -> (bool, String) {
    docker_try(&["exec", container, "cat", path])
}

/// Whether a process of `container` runs `what` (as the host's `ps` shows it).
fn runs(container: &str, what: &str) -> bool {
    docker(&["top", container]).contains(what)
}

#[test]
fn a_planted_tree_is_cleared_from_the_host_without_the_containers_rm() {
    let fleet = Fleet::new("hcl");
    fleet.write(TWO);
    fleet.apply();
    let a = fleet.n("a");
    plant_tree(&a);
    hostile_rm(&a, SLEEPING_RM);
    let ran = apply_watched(&fleet, &[]);
    assert!(ran.ended, "apply hung: {:?}", ran.run);
    assert_eq!(ran.run.code, 0, "{:?}", ran.run);
    assert_eq!(
        cat(&a, "/srv/a/bait"),
        (true, "a\n".into()),
        "the bait is back"
    );
    assert!(!runs(&a, "sleep 100000"), "no rm was run in the container");
    assert!(cat(&a, "/etc/passwd").0, "the link's target stays");
    fleet.assert_no_changes();
}

#[test]
fn where_rm_must_run_in_the_container_it_is_given_up_on_after_10_s() {
    let fleet = Fleet::new("hclx");
    fleet.write(TWO);
    fleet.apply();
    let (a, b) = (fleet.n("a"), fleet.n("b"));
    plant_tree(&a);
    hostile_rm(&a, SLEEPING_RM);
    docker(&["exec", &b, "sh", "-c", "echo tampered > /srv/b/bait"]);
    let ran = apply_watched(&fleet, &[("DECKHAND_READ", "engine")]);
    eprintln!("apply gave up on rm after {:.1} s", ran.seconds);
    assert!(ran.ended, "apply hung: {:?}", ran.run);
    assert_eq!(ran.run.code, 1, "{:?}", ran.run);
    assert!(
        ran.run
            .stdout
            .contains(&format!("rm in {a} did not finish within 10 s")),
        "{:?}",
        ran.run
    );
    assert!(ran.seconds >= 10.0, "gave up after {} s", ran.seconds);
    assert_eq!(
        cat(&b, "/srv/b/bait"),
        (true, "b\n".into()),
        "{:?}",
        ran.run
    );
    assert!(
        runs(&a, "sleep 100000"),
        "the container's rm was the one run"
    );

    // The lock was released: the next run goes on, from the host.
    let again = apply_watched(&fleet, &[]);
    assert!(again.ended, "{:?}", again.run);
    assert!(!again.run.all().contains("is locked"), "{:?}", again.run);
    assert_eq!(again.run.code, 0, "{:?}", again.run);
    assert_eq!(cat(&a, "/srv/a/bait"), (true, "a\n".into()));
}

#[test]
fn an_rm_that_prints_forever_is_read_only_up_to_the_cap() {
    let fleet = Fleet::new("hclo");
    fleet.write(TWO);
    fleet.apply();
    let a = fleet.n("a");
    plant_tree(&a);
    hostile_rm(&a, CHATTY_RM);
    let ran = apply_watched(&fleet, &[("DECKHAND_READ", "engine")]);
    let peak_mib = ran.peak_kib / 1024;
    eprintln!("peak RSS {peak_mib} MiB in {:.1} s", ran.seconds);
    assert!(ran.ended, "apply hung: {:?}", ran.run);
    assert_eq!(ran.run.code, 1, "{:?}", ran.run);
    assert!(
        ran.run.stdout.contains("printed more than 64 KiB"),
        "{:?}",
        ran.run
    );
    assert!(ran.peak_kib > 0, "the peak was read");
    assert!(peak_mib < 200, "peak RSS {peak_mib} MiB");
}

#[test]
fn a_symlink_planted_in_a_directorys_place_is_removed_itself() {
    let fleet = Fleet::new("hcll");
    fleet.write(TWO);
    fleet.apply();
    let a = fleet.n("a");
    // A directory of the host, and a link in the decky that names it: from
    // the host, the link would lead there if it were followed.
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("keep"), "host\n").unwrap();
    let link = format!(
        "rm -r /srv/a/dir && ln -s {} /srv/a/dir",
        host.path().display()
    );
    docker(&["exec", &a, "sh", "-c", &link]);
    hostile_rm(&a, SLEEPING_RM);
    let plan = fleet.plan();
    assert!(
        plan.stdout
            .contains("a symlink at /srv/a/dir stands where a directory belongs"),
        "{plan:?}"
    );
    let ran = apply_watched(&fleet, &[]);
    assert!(ran.ended, "apply hung: {:?}", ran.run);
    assert_eq!(ran.run.code, 0, "{:?}", ran.run);
    assert_eq!(cat(&a, "/srv/a/dir/bait"), (true, "a2\n".into()));
    let (_, kind) = docker_try(&["exec", &a, "stat", "-c", "%F", "/srv/a/dir"]);
    assert_eq!(kind.trim(), "directory");
    let left: Vec<_> = std::fs::read_dir(host.path()).unwrap().flatten().collect();
    assert_eq!(left.len(), 1, "the host directory is untouched");
    assert_eq!(
        std::fs::read_to_string(host.path().join("keep")).unwrap(),
        "host\n"
    );
    assert!(!runs(&a, "sleep 100000"), "no rm was run in the container");
}

#[test]
fn a_file_ensured_absent_is_deleted_from_the_host() {
    let fleet = Fleet::new("hcld");
    fleet.write(TWO);
    fleet.apply();
    let a = fleet.n("a");
    let host = tempfile::tempdir().unwrap();
    let plant = format!(
        "echo intruder > /srv/a/gone && ln -s {} /srv/a/link",
        host.path().display()
    );
    docker(&["exec", &a, "sh", "-c", &plant]);
    hostile_rm(&a, LYING_RM);
    let absent = "\n[deckies.{fleet}-a.files.\"/srv/a/gone\"]\nensure = \"absent\"\n\n[deckies.{fleet}-a.files.\"/srv/a/link\"]\nensure = \"absent\"\n";
    fleet.write(&format!("{TWO}{absent}"));
    let ran = apply_watched(&fleet, &[]);
    assert!(ran.ended, "apply hung: {:?}", ran.run);
    assert_eq!(ran.run.code, 0, "{:?}", ran.run);
    for path in ["/srv/a/gone", "/srv/a/link"] {
        let (there, _) = docker_try(&[
            "exec",
            &a,
            "sh",
            "-c",
            &format!("test -e {path} -o -L {path}"),
        ]);
        assert!(!there, "{path} is deleted: {:?}", ran.run);
    }
    assert!(host.path().exists(), "the link's target stays");
    fleet.assert_no_changes();
}

#[test]
fn a_tree_over_the_removal_budget_fails_its_step_naming_container_and_path() {
    let fleet = Fleet::new("hclb");
    fleet.write(TWO);
    fleet.apply();
    let (a, b) = (fleet.n("a"), fleet.n("b"));
    // 300 directories deep: past the 256 levels one removal descends.
    let deep = "/d".repeat(300);
    let plant = format!("rm /srv/a/bait && mkdir -p /srv/a/bait{deep}");
    docker(&["exec", &a, "sh", "-c", &plant]);
    hostile_rm(&a, SLEEPING_RM);
    docker(&["exec", &b, "sh", "-c", "echo tampered > /srv/b/bait"]);
    let ran = apply_watched(&fleet, &[]);
    assert!(ran.ended, "apply hung: {:?}", ran.run);
    assert_eq!(ran.run.code, 1, "{:?}", ran.run);
    let said = format!("/srv/a/bait could not be removed first: in {a} (from the host): ");
    assert!(ran.run.stdout.contains(&said), "{:?}", ran.run);
    assert!(
        ran.run.stdout.contains("is deeper than 256 directories"),
        "{:?}",
        ran.run
    );
    assert_eq!(
        cat(&b, "/srv/b/bait"),
        (true, "b\n".into()),
        "{:?}",
        ran.run
    );
    assert_eq!(cat(&a, "/srv/a/dir/bait"), (true, "a2\n".into()));
    assert!(!runs(&a, "sleep 100000"), "no rm was run in the container");
}
