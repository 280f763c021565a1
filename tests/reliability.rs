//! One writer at a time, kill -9 at any moment, the engine lost mid-apply:
//! whatever happens, the next apply converges and leaves nothing stray.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::proxy::Proxy;
use common::{docker, Fleet};

/// `deckies` deckies, each with services and two files; `version` changes
/// file contents, one service's env (a replace) and which deckies run ftp.
fn fleet_config(deckies: usize, version: usize) -> String {
    let mut toml = format!(
        r#"{fleet_table}
[services.http]
image = "{{image}}"
command = ["httpd", "-f", "-p", "80"]

[services.ssh]
image = "{{image}}"
command = ["sleep", "infinity"]
env = {{ BANNER = "v{banner}" }}

[services.ftp]
image = "{{image}}"
command = ["sleep", "infinity"]
"#,
        banner = version / 3,
        fleet_table = fleet_table!(),
    );
    for d in 0..deckies {
        let ftp = if (d + version).is_multiple_of(2) {
            ", \"ftp\""
        } else {
            ""
        };
        toml += &format!(
            r#"
[deckies.{{fleet}}-d{d:02}]
services = ["http", "ssh"{ftp}]

[deckies.{{fleet}}-d{d:02}.files."/home/admin/.bash_history"]
content = "ls\ncat /etc/passwd # {version}\n"
mode = 0o600
owner = "1000:1000"

[deckies.{{fleet}}-d{d:02}.files."/root/creds-{version}.txt"]
content = "admin:Hunter{d}-{version}\n"
target = "base"
sensitive = true
"#
        );
    }
    toml
}

/// Every container of the fleet, holders included, by name.
fn all_names(fleet: &Fleet) -> Vec<String> {
    let out = docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=deckhand.fleet={}", fleet.name),
        "--format",
        "{{.Names}}",
    ]);
    let mut names: Vec<String> = out.lines().map(str::to_string).collect();
    names.sort();
    names
}

/// The containers a converged fleet of `deckies` has at `version`, plus one record.
fn expected_names(fleet: &Fleet, deckies: usize, version: usize) -> Vec<String> {
    let mut names = Vec::new();
    for d in 0..deckies {
        let decky = fleet.n(&format!("d{d:02}"));
        names.push(format!("{decky}-http"));
        names.push(format!("{decky}-ssh"));
        if (d + version).is_multiple_of(2) {
            names.push(format!("{decky}-ftp"));
        }
        names.push(decky);
    }
    names.sort();
    names
}

fn assert_converged(fleet: &Fleet, deckies: usize, version: usize) {
    fleet.assert_no_changes();
    let names = all_names(fleet);
    let (records, rest): (Vec<String>, Vec<String>) = names
        .into_iter()
        .partition(|n| n.starts_with("deckhand.record."));
    assert_eq!(
        rest,
        expected_names(fleet, deckies, version),
        "stray or missing containers"
    );
    assert_eq!(records.len(), 1, "one file record expected: {records:?}");
}

/// A small deterministic generator, so that a failure can be replayed from its seed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// `deckhand apply --auto-approve EXTRA...` as a child, its output piped.
fn spawn_apply(fleet: &Fleet, extra: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_deckhand"))
        .args(["apply", "--auto-approve", "--no-color"])
        .args(extra)
        .current_dir(fleet.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// `deckhand apply --auto-approve` running as a child, its output read as it comes.
struct RunningApply {
    child: std::process::Child,
    stdout: BufReader<std::process::ChildStdout>,
    seen: String,
}

impl RunningApply {
    fn start(fleet: &Fleet, extra: &[&str]) -> RunningApply {
        let mut child = spawn_apply(fleet, extra);
        let stdout = BufReader::new(child.stdout.take().unwrap());
        RunningApply {
            child,
            stdout,
            seen: String::new(),
        }
    }

    /// Reads the output until `n` steps have printed `created`.
    fn wait_created(&mut self, n: usize) {
        self.wait_for(": created", n);
    }

    /// Reads the output until `what` has been printed `n` times.
    fn wait_for(&mut self, what: &str, n: usize) {
        let mut line = String::new();
        while self.stdout.read_line(&mut line).unwrap() > 0 {
            self.seen += &line;
            line.clear();
            if self.seen.matches(what).count() >= n {
                return;
            }
        }
        panic!("apply ended before {n} × {what:?}:\n{}", self.seen);
    }

    /// Sends SIGINT, then waits for the exit.
    fn interrupt(self) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-INT", &pid]).status();
        assert!(sent.unwrap().success(), "kill -INT {pid}");
        self.finish()
    }

    /// Waits for the exit; its code and all it printed.
    fn finish(mut self) -> (Option<i32>, String) {
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.stdout, &mut rest).unwrap();
        let status = self.child.wait().unwrap();
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut self.child.stderr.take().unwrap(), &mut stderr).unwrap();
        (status.code(), format!("{}{rest}{stderr}", self.seen))
    }
}

#[test]
fn kill_9_at_random_moments_of_ten_applies_always_converges() {
    const DECKIES: usize = 20;
    let fleet = Fleet::new("kill");
    let seed = std::env::var("DECKHAND_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::process::id() as u64);
    eprintln!("kill trials seed {seed} (set DECKHAND_KILL_SEED to replay)");
    let mut rng = Lcg(seed);
    for version in 1..=10 {
        fleet.write(&fleet_config(DECKIES, version));
        // Killed after a random number of its own steps ended (every version
        // has at least 40: two files per decky): mid-way whatever the
        // machine's speed, never at a moment a clock chose.
        let steps = 1 + rng.below(30) as usize;
        let mut apply = RunningApply::start(&fleet, &[]);
        apply.wait_for("s)\n", steps);
        assert!(
            apply.child.try_wait().unwrap().is_none(),
            "trial {version}: the apply ended before it was killed"
        );
        apply.child.kill().unwrap(); // SIGKILL
        apply.child.wait().unwrap();
        eprintln!("trial {version}: kill -9 after {steps} steps");

        let run = fleet.deckhand(&["apply", "--auto-approve", "--no-color"]);
        assert_eq!(
            run.code, 0,
            "trial {version}, killed after {steps} steps: {run:?}"
        );
        assert!(!run.all().contains("Hunter"), "sensitive content in output");
        assert_converged(&fleet, DECKIES, version);
        let creds = common::cat(&fleet.n("d07"), &format!("/root/creds-{version}.txt"));
        assert_eq!(creds, format!("admin:Hunter7-{version}\n").as_bytes());
    }
}

#[test]
fn two_concurrent_applies_one_wins_and_the_other_names_the_holder() {
    const DECKIES: usize = 12;
    let fleet = Fleet::new("race");
    fleet.write(&fleet_config(DECKIES, 0));
    // Started 150 ms apart. Which one wins is the engine's to decide (a loaded
    // machine can start the second first); the other must fail fast, naming it.
    let (a, b) = std::thread::scope(|s| {
        let run = |delay: Duration| {
            let fleet = &fleet;
            s.spawn(move || {
                std::thread::sleep(delay);
                let out = spawn_apply(fleet, &[]).wait_with_output().unwrap();
                (out, Instant::now())
            })
        };
        let a = run(Duration::ZERO);
        let b = run(Duration::from_millis(150));
        (a.join().unwrap(), b.join().unwrap())
    });
    let ((winner, winner_ended), (loser, loser_ended)) = if a.0.status.code() == Some(0) {
        (a, b)
    } else {
        (b, a)
    };
    assert_eq!(
        winner.status.code(),
        Some(0),
        "neither apply succeeded: {}",
        String::from_utf8_lossy(&winner.stderr)
    );
    assert_eq!(loser.status.code(), Some(1), "both applies succeeded");
    assert_names_the_holder(
        &fleet,
        &String::from_utf8_lossy(&loser.stderr),
        "apply --auto-approve",
    );
    // Failing fast is a fact, not a time: the loser ended while the winner
    // still held the lock (a lock that blocked, then ran, ends after it).
    assert!(
        loser_ended < winner_ended,
        "the loser waited for the winner to finish"
    );
    assert_converged(&fleet, DECKIES, 0);
}

fn assert_names_the_holder(fleet: &Fleet, err: &str, command: &str) {
    assert!(
        err.contains(&format!("fleet '{}' is locked by", fleet.name)),
        "{err}"
    );
    assert!(
        err.contains("(pid ") && err.contains(command) && err.contains(" since "),
        "{err}"
    );
}

/// `deckhand apply --no-color` on a terminal of its own (`script` gives it a
/// pty): it plans, takes the lock, and waits for `yes` holding it.
struct AskingApply {
    child: std::process::Child,
    output: std::sync::Arc<std::sync::Mutex<String>>,
}

impl AskingApply {
    fn start(fleet: &Fleet) -> AskingApply {
        let command = format!("{} apply --no-color", env!("CARGO_BIN_EXE_deckhand"));
        let mut child = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .current_dir(fleet.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("script (util-linux)");
        let output = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (mut from, into) = (child.stdout.take().unwrap(), output.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = std::io::Read::read(&mut from, &mut buf) {
                into.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        AskingApply { child, output }
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }
}

#[test]
fn five_applies_started_at_once_make_one_winner_and_four_that_name_it() {
    let fleet = Fleet::new("herd");
    for round in 0..3 {
        // A new version each round, so that every round has work to do.
        fleet.write(&fleet_config(4, round));
        // Each asks for `yes` on its terminal, and the winner asks holding the
        // lock: every other one must fail fast, naming it, whatever the
        // machine's speed. A lock that blocked would leave it waiting here.
        let mut applies: Vec<AskingApply> = (0..5).map(|_| AskingApply::start(&fleet)).collect();
        let asked = "Only 'yes' will be accepted: ";
        common::watch::within(Duration::from_secs(60), || {
            let mut ended = 0;
            for a in applies.iter_mut() {
                ended += usize::from(a.child.try_wait().unwrap().is_some());
            }
            ended == 4 && applies.iter().any(|a| a.output().contains(asked))
        })
        .unwrap_or_else(|| {
            let all: Vec<String> = applies.iter().map(AskingApply::output).collect();
            panic!("round {round}: not four losers and one asking winner:\n{all:#?}")
        });
        let (mut winner, losers): (Vec<_>, Vec<_>) = applies
            .into_iter()
            .partition(|a| a.output().contains(asked));
        for mut loser in losers {
            assert_eq!(
                loser.child.wait().unwrap().code(),
                Some(1),
                "{}",
                loser.output()
            );
            assert_names_the_holder(&fleet, &loser.output(), "apply --no-color");
        }
        let mut winner = winner.pop().unwrap();
        std::io::Write::write_all(winner.child.stdin.as_mut().unwrap(), b"yes\n").unwrap();
        let code = winner.child.wait().unwrap().code();
        // The reader thread has the rest once the pty is closed.
        common::watch::within(Duration::from_secs(60), || {
            winner.output().contains("Apply complete")
        })
        .unwrap_or_else(|| panic!("round {round}: {}", winner.output()));
        assert_eq!(code, Some(0), "{}", winner.output());
        assert_converged(&fleet, 4, round);
    }
}

#[test]
fn the_engine_lost_mid_apply_fails_clearly_and_a_rerun_converges() {
    const DECKIES: usize = 20;
    let fleet = Fleet::new("lost");
    fleet.write(&fleet_config(DECKIES, 0));
    let proxy = Proxy::start(&fleet.dir.path().join("engine.sock"));
    let url = proxy.url();
    let mut apply = RunningApply::start(&fleet, &["--docker-host", &url]);
    // Cut the engine off once the first steps are done.
    apply.wait_created(3);
    proxy.kill();
    let (code, all) = apply.finish();

    assert_eq!(code, Some(1), "{all}");
    assert!(all.contains("failed"), "{all}");
    assert!(all.contains("Fix the cause and run apply again"), "{all}");
    assert!(!all.contains("panicked"), "{all}");

    // Against the real socket: the lock of the dead run is taken over, and it converges.
    let run = fleet.deckhand(&["apply", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_converged(&fleet, DECKIES, 0);
}

/// Every container of the fleet (holders left out): name -> (state, spec digest).
fn specs(fleet: &Fleet) -> std::collections::BTreeMap<String, (String, String)> {
    fleet
        .containers()
        .into_iter()
        .map(|(name, c)| {
            let digest = c.labels.get("deckhand.spec-digest").cloned();
            (name, (c.status, digest.unwrap_or_default()))
        })
        .collect()
}

/// What an interrupted apply left: every step it said it started, it also
/// said it finished (`done`); and the summary says it was interrupted.
fn assert_steps_closed(all: &str) {
    let events: Vec<serde_json::Value> = all
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let key = |e: &serde_json::Value| {
        let k = ["action", "kind", "decky", "service", "path"];
        k.map(|f| e[f].to_string()).join(" ")
    };
    let steps = |status: &str| -> Vec<String> {
        let mut found: Vec<String> = events
            .iter()
            .filter(|e| e["type"] == "step" && e["status"] == status)
            .map(key)
            .collect();
        found.sort();
        found
    };
    let (started, done) = (steps("started"), steps("done"));
    assert!(!started.is_empty(), "{all}");
    assert_eq!(started, done, "a step started and not done:\n{all}");
    let summary = events.iter().find(|e| e["type"] == "summary");
    assert_eq!(
        summary.map(|s| &s["interrupted"]),
        Some(&serde_json::json!(true)),
        "{all}"
    );
}

/// Every container the interrupt left runs, with the spec it had before the
/// apply (`old`) or the one it has once the apply is finished (`new`).
fn assert_old_or_new(
    mid: &std::collections::BTreeMap<String, (String, String)>,
    old: &std::collections::BTreeMap<String, (String, String)>,
    new: &std::collections::BTreeMap<String, (String, String)>,
) {
    for (name, (state, digest)) in mid {
        assert_eq!(state, "running", "{name} left {state} by the interrupt");
        let spec_of = |m: &std::collections::BTreeMap<String, (String, String)>| {
            m.get(name).map(|(_, d)| d.clone())
        };
        assert!(
            [spec_of(old), spec_of(new)].contains(&Some(digest.clone())),
            "{name} runs a spec that is neither the old nor the new one"
        );
    }
}

#[test]
fn sigint_during_apply_finishes_the_steps_in_flight_and_releases_the_lock() {
    const DECKIES: usize = 20;
    let fleet = Fleet::new("sigint");
    fleet.write(&fleet_config(DECKIES, 0));
    let mut apply = RunningApply::start(&fleet, &["--json"]);
    apply.wait_for("\"status\":\"done\"", 1);
    let (code, all) = apply.interrupt();

    assert_eq!(code, Some(1), "{all}");
    assert!(all.contains("not started: interrupted"), "{all}");
    assert_steps_closed(&all);
    let (locked, _) = common::docker_try(&["inspect", &format!("deckhand.lock.{}", fleet.name)]);
    assert!(!locked, "the lock was left behind");
    let mid = specs(&fleet);
    let run = fleet.deckhand(&["apply", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stderr.contains("taking over"), "{run:?}");
    assert_converged(&fleet, DECKIES, 0);
    assert_old_or_new(&mid, &Default::default(), &specs(&fleet));
}

#[test]
fn sigint_during_replaces_still_creates_the_containers_in_flight() {
    const DECKIES: usize = 12;
    let fleet = Fleet::new("intrep");
    fleet.write(&fleet_config(DECKIES, 0));
    fleet.apply();
    let old = specs(&fleet);
    // Version 3 changes every ssh banner: one replace per decky.
    fleet.write(&fleet_config(DECKIES, 3));
    let mut apply = RunningApply::start(&fleet, &["--json"]);
    // A replace step's own event (a plan's change names its host after
    // its kind; a step's before its action): one replace under way.
    apply.wait_for("\"action\":\"replace\",\"kind\":\"service\",\"decky\"", 1);
    let (code, all) = apply.interrupt();
    assert_eq!(code, Some(1), "{all}");
    assert!(all.contains("not started: interrupted"), "{all}");
    assert_steps_closed(&all);
    // A replace is one step: none was left half done (removed, not created).
    let mid = specs(&fleet);
    for d in 0..DECKIES {
        let ssh = format!("{}-ssh", fleet.n(&format!("d{d:02}")));
        assert!(
            mid.contains_key(&ssh),
            "{ssh} was lost by the interrupt:\n{all}"
        );
    }
    let run = fleet.deckhand(&["apply", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_converged(&fleet, DECKIES, 3);
    assert_old_or_new(&mid, &old, &specs(&fleet));
}
