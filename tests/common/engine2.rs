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

    /// Cuts the TCP endpoint off (the link goes down), as a host that goes away.
    pub fn cut(&self) {
        let ok = Command::new("ip")
            .args(["link", "set", &self.link, "down"])
            .status()
            .expect("ip link")
            .success();
        assert!(ok, "could not take {} down", self.link);
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
