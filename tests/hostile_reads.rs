//! Reading a hostile decky (issue 20 findings 1, 2, 5, 8, 10 and 11's bait
//! over the cap; SPEC §8's budget): the intruder is root inside one decky,
//! played by `docker exec` shell loops; deckhand must not crash, stall, be
//! blinded or open what it must not, and every other decky is planned as
//! usual. `DECKHAND_BIN` runs another build of deckhand (to see a test fail
//! on older code).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{docker, Fleet, Run};

/// Two deckies, `bad` (the intruder's) and `good`, each with `baits` files
/// `/root/b0..` in its ssh service (whose command is `ssh`), and whatever `extra`
/// adds to `[fleet]`; the bad decky's ssh has `BAD=1` in its environment.
fn two_deckies(fleet: &Fleet, extra: &str, ssh: &str, baits: usize) {
    let mut toml = format!(
        "{fleet_table}{extra}\n\
         [services.ssh]\nimage = \"{{image}}\"\ncommand = {ssh}\n",
        fleet_table = fleet_table!(),
    );
    for decky in ["bad", "good"] {
        toml += &format!("\n[deckies.{{fleet}}-{decky}]\nservices = [\"ssh\"]\n");
        if decky == "bad" {
            toml += "[deckies.{fleet}-bad.service_config.ssh]\nBAD = \"1\"\n";
        }
        for i in 0..baits {
            toml += &format!(
                "[deckies.{{fleet}}-{decky}.files.\"/root/b{i}\"]\ncontent = \"bait {i}\\n\"\n"
            );
        }
    }
    fleet.write(&toml);
}

const SLEEP: &str = "[\"sleep\", \"infinity\"]";

/// The deckhand under test.
fn bin() -> String {
    std::env::var("DECKHAND_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_deckhand").to_string())
}

/// Runs deckhand in `dir` and its peak RSS (VmHWM, KiB), read from /proc
/// until it exits.
fn measured(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Run, u64) {
    let out = tempfile::tempdir().unwrap();
    let (o, e) = (out.path().join("out"), out.path().join("err"));
    let mut cmd = Command::new(bin());
    cmd.args(args).current_dir(dir).env_remove("NO_COLOR");
    cmd.envs(env.iter().copied());
    cmd.stdout(Stdio::from(std::fs::File::create(&o).unwrap()));
    cmd.stderr(Stdio::from(std::fs::File::create(&e).unwrap()));
    let mut child = cmd.spawn().expect("run deckhand");
    let (mut peak, started) = (0u64, Instant::now());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        peak = peak.max(vm_hwm(child.id()));
        if started.elapsed() > Duration::from_secs(300) {
            // Not left running (holding the fleet's lock) past the test.
            let _ = child.kill();
            let _ = child.wait();
            panic!("deckhand hangs");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: std::fs::read_to_string(&o).unwrap_or_default(),
        stderr: std::fs::read_to_string(&e).unwrap_or_default(),
    };
    (run, peak)
}

/// The peak resident set of process `pid` so far, in KiB (0 once it is gone).
fn vm_hwm(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmHWM:"));
    let kb = line.and_then(|l| l.split_whitespace().nth(1));
    kb.and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// A plan as JSON, with --verbose.
fn plan_json(fleet: &Fleet, env: &[(&str, &str)]) -> (Run, u64) {
    measured(
        fleet.dir.path(),
        &["plan", "--format", "json", "--verbose"],
        env,
    )
}

/// The plan's changes as "path reason" lines, for the decky `decky`.
fn reasons(run: &Run, decky: &str) -> Vec<String> {
    let plan: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not a JSON plan ({e}): {run:?}"));
    let changes = plan["changes"].as_array().unwrap();
    changes
        .iter()
        .filter(|c| c["decky"] == decky)
        .map(|c| format!("{} {}", c["path"].as_str().unwrap_or("-"), c["reason"]))
        .collect()
}

/// A plan exits as a plan does: 0, nothing else (no crash, no abort).
fn assert_planned(run: &Run) {
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stderr.contains("memory allocation"), "{run:?}");
}

/// The good decky drifted (its first bait edited) and was planned normally.
fn assert_good_planned(fleet: &Fleet, run: &Run) {
    let good = reasons(run, &fleet.n("good"));
    assert!(
        good.iter()
            .any(|r| r.starts_with("/root/b0") && r.contains("content changed")),
        "the other decky was not planned normally: {good:?}\n{run:?}"
    );
}

/// Edits the good decky's first bait (what a plan must still find).
fn touch_good(fleet: &Fleet) {
    let ssh = fleet.n("good-ssh");
    docker(&["exec", &ssh, "sh", "-c", "echo edited > /root/b0"]);
}

/// Runs `script` in `container` detached: the intruder at work meanwhile.
fn intruder(container: &str, script: &str) {
    docker(&["exec", "-d", container, "sh", "-c", script]);
}

// Finding 1: the buffer was sized from fstat after the cap was checked on
// an earlier stat: a bait flipping between 7 bytes and 1 TiB aborted plan.
#[test]
fn a_bait_flipping_between_7_bytes_and_1_tib_crashes_nothing() {
    const BAITS: usize = 8;
    let fleet = Fleet::new("flip");
    two_deckies(&fleet, "", SLEEP, BAITS);
    fleet.apply();
    touch_good(&fleet);
    let bad = fleet.n("bad-ssh");
    for i in 1..BAITS {
        intruder(
            &bad,
            &format!(
                "while :; do truncate -s 7 /root/b{i}; truncate -s 1099511627776 /root/b{i}; done"
            ),
        );
    }
    for _ in 0..12 {
        let (run, peak) = plan_json(&fleet, &[]);
        assert_planned(&run);
        assert!(peak < 200 * 1024, "peak RSS {peak} KiB");
        assert_good_planned(&fleet, &run);
    }
}

// Finding 2: a text diff had no deadline: a few hundred KB of lines over a
// short bait stalled every plan for seconds.
#[test]
fn a_long_text_over_a_short_bait_is_shown_by_size_and_digest_in_bounded_time() {
    let fleet = Fleet::new("diff");
    two_deckies(&fleet, "", SLEEP, 1);
    fleet.apply();
    touch_good(&fleet);
    // 250 KB of distinct lines: under diff_max_kb, so only the deadline helps.
    let script = "i=0; while [ $i -lt 25000 ]; do echo \"line $i of the intruder\"; i=$((i+1)); done | head -c 256000 > /root/b0";
    docker(&["exec", &fleet.n("bad-ssh"), "sh", "-c", script]);
    let started = Instant::now();
    let (run, _) = plan_json(&fleet, &[]);
    let took = started.elapsed();
    assert_planned(&run);
    assert!(took < Duration::from_secs(60), "plan took {took:?}");
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let step = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["decky"] == fleet.n("bad").as_str() && c["path"] == "/root/b0")
        .expect("a step for the long bait")
        .clone();
    assert!(
        step["reason"].as_str().unwrap().contains("content changed"),
        "{step}"
    );
    assert_eq!(step["content"]["before"]["size"], 256000, "{step}");
    assert!(
        step["content"]["diff"].is_null(),
        "a diff was made: {took:?}"
    );
    assert_good_planned(&fleet, &run);
}

// Finding 5: the host reader proved the pid's cgroup, not its root: a
// chrooted first process showed a fake tree and plans said `No changes.`
#[test]
fn a_chrooted_first_process_cannot_show_deckhand_a_fake_tree() {
    let fleet = Fleet::new("chroot");
    // The bad decky's first process lives in a fake tree of its making.
    let chrooted = "[\"sh\", \"-c\", \"[ \\\"$BAD\\\" = 1 ] || exec sleep 2147483647; mkdir -p /fake/bin /fake/root && cp /bin/busybox /fake/bin/busybox && printf 'bait 0\\\\n' > /fake/root/b0 && exec chroot /fake /bin/busybox sleep 2147483647\"]";
    two_deckies(&fleet, "", chrooted, 1);
    fleet.apply();
    let bad = fleet.n("bad-ssh");
    // The fake tree shows the declared bait; the real one is tampered.
    let fake = docker(&["exec", &bad, "cat", "/fake/root/b0"]);
    assert_eq!(fake, "bait 0\n");
    docker(&["exec", &bad, "sh", "-c", "echo tampered > /root/b0"]);
    touch_good(&fleet);
    let (host, _) = plan_json(&fleet, &[]);
    let (engine, _) = plan_json(&fleet, &[("DECKHAND_READ", "engine")]);
    assert_planned(&host);
    let tampered = reasons(&host, &fleet.n("bad"));
    assert!(
        tampered
            .iter()
            .any(|r| r.starts_with("/root/b0") && r.contains("content changed")),
        "the host read was blinded: {host:?}"
    );
    assert!(
        host.stderr
            .contains(&format!("read {bad}: through the engine"))
            && host.stderr.contains("chroot"),
        "--verbose does not say why: {host:?}"
    );
    assert_eq!(
        host.stdout, engine.stdout,
        "the host and the engine disagree"
    );
    assert_good_planned(&fleet, &host);
    assert!(
        host.stderr
            .contains(&format!("read {}: from the host", fleet.n("good-ssh"))),
        "{host:?}"
    );
}

// Finding 8: every bait was held whole, up to 1 GiB each: two 1000 MiB
// sparse baits gave a plan 4.1 GB of memory.
#[test]
fn two_1000_mib_baits_cost_a_plan_little_memory_both_ways() {
    let fleet = Fleet::new("mem");
    two_deckies(&fleet, "", SLEEP, 2);
    fleet.apply();
    touch_good(&fleet);
    let bad = fleet.n("bad-ssh");
    docker(&[
        "exec", &bad, "truncate", "-s", "1000M", "/root/b0", "/root/b1",
    ]);
    for env in [&[][..], &[("DECKHAND_READ", "engine")][..]] {
        let (run, peak) = plan_json(&fleet, env);
        assert_planned(&run);
        assert!(peak < 150 * 1024, "peak RSS {peak} KiB ({env:?})");
        let bad = reasons(&run, &fleet.n("bad"));
        assert_eq!(
            bad.iter().filter(|r| r.contains("content changed")).count(),
            2,
            "{bad:?} {run:?}"
        );
        assert_good_planned(&fleet, &run);
    }
}

// Finding 10: between a stat and the open, a FIFO or device renamed over the
// bait was opened. A writer blocked on the FIFO must stay blocked.
#[test]
fn a_fifo_renamed_over_a_bait_is_never_opened() {
    const BAITS: usize = 16;
    let fleet = Fleet::new("fifo");
    two_deckies(&fleet, "", SLEEP, BAITS);
    fleet.apply();
    touch_good(&fleet);
    let bad = fleet.n("bad-ssh");
    docker(&["exec", &bad, "mkfifo", "/tmp/fifo"]);
    intruder(
        &bad,
        "trap '' PIPE; echo $$ > /tmp/writer; echo x > /tmp/fifo; touch /tmp/opened",
    );
    wait_for(&bad, "[ -s /tmp/writer ]");
    // Four loops, each swapping a hard link of the FIFO and a regular file
    // over a quarter of the baits, as fast as a shell can.
    for quarter in 0..4 {
        let swap: String = (quarter * BAITS / 4..(quarter + 1) * BAITS / 4)
            .map(|i| format!("ln /tmp/fifo /tmp/l{i}; mv /tmp/l{i} /root/b{i}; echo x > /tmp/r{i}; mv /tmp/r{i} /root/b{i}; "))
            .collect();
        intruder(&bad, &format!("while :; do {swap}done"));
    }
    // The race is won in a few of every thousand reads: many plans.
    let check =
        "[ -e /tmp/opened ] && echo opened; kill -0 $(cat /tmp/writer) && echo blocked; true";
    for n in 1..=300 {
        let (run, _) = plan_json(&fleet, &[]);
        assert_planned(&run);
        assert_good_planned(&fleet, &run);
        if n % 25 == 0 {
            let opened = docker(&["exec", &bad, "sh", "-c", check]);
            assert_eq!(opened, "blocked\n", "the FIFO was opened");
        }
    }
}

/// Waits until `test` (a shell test) holds in `container`.
fn wait_for(container: &str, test: &str) {
    let started = Instant::now();
    while !common::docker_try(&["exec", container, "sh", "-c", test]).0 {
        assert!(started.elapsed() < Duration::from_secs(60), "never: {test}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

// Finding 11: a bait over the read cap was never restored (unreadable).
#[test]
fn a_bait_over_the_cap_is_restored() {
    let fleet = Fleet::new("overcap");
    two_deckies(&fleet, "evidence_max_mb = 1", SLEEP, 1);
    fleet.apply();
    let bad = fleet.n("bad-ssh");
    // Past any cap deckhand ever had (1 GiB before, 64 MiB now).
    docker(&["exec", &bad, "truncate", "-s", "2048M", "/root/b0"]);
    let (apply, peak) = measured(
        fleet.dir.path(),
        &["apply", "--auto-approve", "--no-color"],
        &[],
    );
    // Its size first: a 2 GiB bait is never read into the test's memory.
    let size = docker(&["exec", &bad, "stat", "-c", "%s", "/root/b0"]);
    assert_eq!(size.trim(), "7", "not restored: {apply:?}");
    assert_eq!(common::cat(&bad, "/root/b0"), b"bait 0\n");
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(peak < 150 * 1024, "peak RSS {peak} KiB");
    fleet.assert_no_changes();
}

// SPEC §8: each decky's reads run under a budget; one over it is named,
// its steps skipped, and every other decky planned and applied as usual.
#[test]
fn a_decky_slow_to_read_is_named_and_skipped_and_the_others_are_applied() {
    const BAITS: usize = 16;
    let fleet = Fleet::new("budget");
    two_deckies(&fleet, "decky_budget_s = 2", SLEEP, BAITS);
    fleet.apply();
    touch_good(&fleet);
    // Every bait grown past the cap: the decky takes long to read, for real.
    let bad = fleet.n("bad-ssh");
    let all: Vec<String> = (0..BAITS).map(|i| format!("/root/b{i}")).collect();
    let mut args = vec!["exec", bad.as_str(), "truncate", "-s", "1099511627776"];
    args.extend(all.iter().map(String::as_str));
    docker(&args);
    let (run, _) = plan_json(&fleet, &[]);
    assert_planned(&run);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let degraded = &plan["degraded"];
    assert_eq!(degraded.as_array().map(Vec::len), Some(1), "{run:?}");
    assert_eq!(degraded[0]["decky"], fleet.n("bad").as_str());
    assert_eq!(degraded[0]["what"], "reads");
    assert_eq!(degraded[0]["limit"], "2s");
    assert!(reasons(&run, &fleet.n("bad")).is_empty(), "{run:?}");
    assert_good_planned(&fleet, &run);
    let text = fleet.plan();
    let note = format!(
        "decky {} is over its budget: its reads took longer than 2s",
        fleet.n("bad")
    );
    assert!(text.stdout.contains(&note), "{text:?}");
    // Apply: a `degraded` event, the other decky healed, the bad one untouched.
    let apply = fleet.deckhand(&["apply", "--auto-approve", "--json"]);
    let event = apply
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| e["type"] == "degraded")
        .unwrap_or_else(|| panic!("no degraded event: {apply:?}"));
    assert_eq!(event["decky"], fleet.n("bad").as_str());
    assert_eq!(
        (&event["what"], &event["limit"]),
        (&"reads".into(), &"2s".into())
    );
    assert_eq!(common::cat(&fleet.n("good-ssh"), "/root/b0"), b"bait 0\n");
    // A watch says so too, and still heals the other decky.
    let mut watch = common::watch::Watch::start_json(&fleet, 600);
    watch.wait_for("\"type\":\"degraded\"", Duration::from_secs(60));
    // The edit waits for the first pass to end: a bait changed after that
    // pass read it and before its watch is set is seen only on the interval
    // (a known gap, in the README's "Not there yet").
    watch.wait_for("\"status\":\"ended\"", Duration::from_secs(60));
    touch_good(&fleet);
    let healed = common::watch::within(Duration::from_secs(60), || {
        common::cat(&fleet.n("good-ssh"), "/root/b0") == b"bait 0\n"
    });
    assert!(healed.is_some(), "{}", watch.output());
    watch.assert_running();
    drop(watch);
    let size = docker(&["exec", &bad, "stat", "-c", "%s", "/root/b0"]);
    assert_eq!(
        size.trim(),
        (1u64 << 40).to_string(),
        "the skipped decky was changed"
    );
}
