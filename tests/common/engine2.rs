//! A second Docker engine for the several-hosts tests, started by
//! `scripts/second-engine.sh` in its own network namespace and stopped (its
//! namespace and data deleted) on drop.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct SecondEngine {
    name: String,
    dir: PathBuf,
    /// `unix://…/docker.sock`, for the test's own docker CLI calls.
    pub unix: String,
    /// `tcp://ADDR:2376`, TLS with client certificates.
    pub tcp: String,
    /// Holds ca.pem, cert.pem and key.pem (the client's).
    pub certs: PathBuf,
    /// The host side of the veth pair that carries `tcp`.
    link: String,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/second-engine.sh")
}

impl SecondEngine {
    /// Starts an engine named `name` (short: it names a network namespace).
    pub fn start(name: &str) -> SecondEngine {
        let dir = std::env::temp_dir().join(format!("deckhand-engine-{name}"));
        let out = Command::new("bash")
            .arg(script())
            .args(["start", name])
            .arg(&dir)
            .output()
            .expect("run scripts/second-engine.sh");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "second engine did not start: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let value = |key: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .unwrap_or_else(|| panic!("no {key}= in {stdout}"))
                .to_string()
        };
        SecondEngine {
            name: name.to_string(),
            unix: value("unix"),
            tcp: value("tcp"),
            certs: PathBuf::from(value("certs")),
            link: value("link"),
            dir,
        }
    }

    /// The docker CLI against this engine; panics when it fails.
    pub fn docker(&self, args: &[&str]) -> String {
        let out = Command::new("docker")
            .arg("-H")
            .arg(&self.unix)
            .args(args)
            .output()
            .expect("run docker");
        assert!(
            out.status.success(),
            "docker -H {} {args:?} failed: {}",
            self.unix,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Names of the containers with `label` (`key=value`), sorted.
    pub fn names(&self, label: &str) -> Vec<String> {
        let out = self.docker(&[
            "ps",
            "-a",
            "--filter",
            &format!("label={label}"),
            "--format",
            "{{.Names}}",
        ]);
        let mut names: Vec<String> = out.lines().map(str::to_string).collect();
        names.sort();
        names
    }

    /// Cuts the TCP endpoint off (the link goes down), as a network partition would.
    pub fn cut(&self) {
        self.link("down");
    }

    /// Brings the link back after [`SecondEngine::cut`].
    pub fn restore(&self) {
        self.link("up");
    }

    fn link(&self, state: &str) {
        let ok = Command::new("ip")
            .args(["link", "set", &self.link, state])
            .status()
            .expect("ip link")
            .success();
        assert!(ok, "could not set {} {state}", self.link);
    }

    /// Stops the engine as its host's shutdown would (SIGTERM; it stops its
    /// containers first), and waits for it to exit.
    pub fn stop(&self) {
        let pid = std::fs::read_to_string(self.dir.join("docker.pid")).expect("pid file");
        let pid = pid.trim().to_string();
        let ok = Command::new("kill")
            .arg(&pid)
            .status()
            .expect("kill")
            .success();
        assert!(ok, "could not signal dockerd {pid}");
        for _ in 0..600 {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the second engine did not stop within 60 s");
    }
}

impl Drop for SecondEngine {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .args(["stop", &self.name])
            .arg(&self.dir)
            .status();
    }
}
