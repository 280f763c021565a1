//! `deckhand watch` as a child process, for the watch and several-hosts tests.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::Fleet;

/// The `deckhand` that runs watch: the one built, or `DECKHAND_TEST_WATCH_BIN`
/// (to check that a test fails on an older build).
fn bin() -> String {
    std::env::var("DECKHAND_TEST_WATCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_deckhand").to_string())
}

/// A running `deckhand watch`, its output in a file; killed on drop (before
/// the fleet's own cleanup, as it is declared after the fleet).
pub struct Watch {
    pub child: Child,
    log: PathBuf,
}

impl Watch {
    pub fn start(fleet: &Fleet, interval_secs: u32) -> Watch {
        Watch::start_with(fleet, interval_secs, &[])
    }

    pub fn start_with(fleet: &Fleet, interval_secs: u32, extra: &[&str]) -> Watch {
        Watch::start_env(fleet, interval_secs, extra, &[])
    }

    /// With extra arguments and environment.
    pub fn start_env(
        fleet: &Fleet,
        interval_secs: u32,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Watch {
        let log = fleet.dir.path().join("watch.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(bin())
            .args([
                "watch",
                "--no-color",
                "--interval",
                &interval_secs.to_string(),
            ])
            .args(extra)
            .envs(env.iter().copied())
            .current_dir(fleet.dir.path())
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("start deckhand watch");
        let watch = Watch { child, log };
        let first = match extra.contains(&"--json") {
            true => "\"status\":\"ended\"",
            false => "pass 1 done",
        };
        watch.wait_for(first, Duration::from_secs(120));
        watch
    }

    /// `watch --json`: NDJSON events instead of log lines.
    pub fn start_json(fleet: &Fleet, interval_secs: u32) -> Watch {
        Watch::start_with(fleet, interval_secs, &["--json"])
    }

    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the output contains `text`; panics with the output if it does not in time.
    pub fn wait_for(&self, text: &str, limit: Duration) -> Duration {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.output().contains(text) {
                return start.elapsed();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no {text:?} within {limit:?}:\n{}", self.output());
    }

    pub fn passes(&self) -> usize {
        self.output().matches(" done in ").count()
    }

    /// Waits until every pass started so far is done (a heal is seen in the
    /// container before its pass says so); returns how many are done.
    pub fn settled(&self, limit: Duration) -> usize {
        let started = |out: &str| {
            out.lines()
                .filter_map(|l| l.split_once(' ').map(|(_, rest)| rest))
                .filter(|rest| rest.starts_with("pass ") && rest.contains(" ("))
                .count()
        };
        let settled = || {
            let out = self.output();
            started(&out) == out.matches(" done in ").count()
        };
        within(limit, settled)
            .unwrap_or_else(|| panic!("a pass still running after {limit:?}:\n{}", self.output()));
        self.passes()
    }

    pub fn assert_running(&mut self) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "watch exited:\n{}",
            self.output()
        );
    }
}

impl Drop for Watch {
    /// SIGTERM first, so that a pass in flight finishes and releases the lock
    /// before the fleet is cleaned up; SIGKILL if it has not exited in 5 s.
    fn drop(&mut self) {
        // Already gone (a test stopped it): nothing to signal, and no
        // `kill: (N): No such process` in the test output.
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let pid = self.child.id().to_string();
        let _ = Command::new("kill")
            .args(["-TERM", &pid])
            .stderr(std::process::Stdio::null())
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` every 20 ms until it holds; the time it took, or `None`.
pub fn within(limit: Duration, mut check: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}
