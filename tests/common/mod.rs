//! The harness of the end-to-end tests: a uniquely named fleet in a temp
//! directory, the built `deckhand` run on it, the real engine inspected with
//! the docker CLI, and everything the fleet made removed on drop.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

pub mod engine2;
pub mod net;
pub mod proxy;
pub mod sshd;
pub mod toml;
pub mod watch;

pub const IMAGE: &str = "deckhand/busybox:1.35";
pub const ALT_IMAGE: &str = "deckhand/busybox:alt";

static IMAGES: Once = Once::new();
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Builds the test images (and starts the engine) once per test binary.
fn ensure_images() {
    IMAGES.call_once(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/images.sh");
        let status = Command::new("bash")
            .arg(script)
            .status()
            .expect("run scripts/images.sh");
        assert!(status.success(), "scripts/images.sh failed");
    });
}

/// A test fleet: its own name, its own directory, cleaned up on drop.
pub struct Fleet {
    /// Fleet name and prefix of every decky name, unique per test.
    pub name: String,
    pub dir: tempfile::TempDir,
}

/// What one run of `deckhand` did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Fleet {
    /// A new fleet named `t<pid><n><hint>`; write its config with [`Fleet::write`].
    pub fn new(hint: &str) -> Fleet {
        ensure_images();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("t{}{n}{hint}", std::process::id());
        Fleet {
            name,
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("deckhand.toml")
    }

    /// Writes `deckhand.toml`, replacing `{fleet}` with the fleet name (use it
    /// to prefix decky names) and `{image}` / `{alt}` with the test images.
    pub fn write(&self, toml: &str) {
        let text = toml
            .replace("{fleet}", &self.name)
            .replace("{image}", IMAGE)
            .replace("{alt}", ALT_IMAGE);
        std::fs::write(self.path(), text).expect("write config");
    }

    /// Writes a file next to the config (for `source`).
    pub fn write_file(&self, rel: &str, bytes: &[u8]) {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    /// `.deckhand/seed` (`[fleet] seed_file`): 32 bytes of `byte`, with `mode`.
    pub fn write_seed(&self, byte: u8, mode: u32) {
        use std::os::unix::fs::PermissionsExt as _;
        self.write_file(".deckhand/seed", &[byte; 32]);
        let seed = self.dir.path().join(".deckhand/seed");
        std::fs::set_permissions(&seed, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// A container or decky name of this fleet: `<fleet>-<suffix>`.
    pub fn n(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.name)
    }

    pub fn deckhand(&self, args: &[&str]) -> Run {
        deckhand_in(self.dir.path(), args, &[])
    }

    pub fn plan(&self) -> Run {
        self.deckhand(&["plan", "--no-color"])
    }

    /// `apply --auto-approve`, asserting success.
    pub fn apply(&self) -> Run {
        let run = self.deckhand(&["apply", "--auto-approve", "--no-color"]);
        assert_eq!(run.code, 0, "apply failed: {run:?}");
        run
    }

    pub fn assert_no_changes(&self) {
        let run = self.plan();
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            run.stdout.contains("No changes."),
            "expected No changes.: {run:?}"
        );
    }

    /// Every container of this fleet (deckhand's own holders excluded): name -> (id, state, started at).
    pub fn containers(&self) -> BTreeMap<String, Container> {
        let mut out = BTreeMap::new();
        for id in &self.ids() {
            // Gone between the listing and the inspect (a watch at work): skip it.
            let Some(c) = try_inspect(id) else { continue };
            if !c.labels.contains_key("deckhand.holder") {
                out.insert(c.name.clone(), c);
            }
        }
        out
    }
}

impl Fleet {
    /// Ids of every container of this fleet, holders included.
    fn ids(&self) -> Vec<String> {
        docker(&[
            "ps",
            "-aq",
            "--no-trunc",
            "--filter",
            &format!("label=deckhand.fleet={}", self.name),
        ])
        .split_whitespace()
        .map(str::to_string)
        .collect()
    }

    /// Everything this fleet owns on the engine, holders included: each
    /// container's id, name, state and labels, then the fleet's networks.
    /// Equal before and after a command means the command changed nothing.
    pub fn engine_state(&self) -> String {
        let label = format!("label=deckhand.fleet={}", self.name);
        let containers = docker(&[
            "ps",
            "-a",
            "--no-trunc",
            "--filter",
            &label,
            "--format",
            "{{.ID}} {{.Names}} {{.State}} {{.Labels}}",
        ]);
        let networks = docker(&["network", "ls", "--no-trunc", "-q", "--filter", &label]);
        format!("{containers}--- networks\n{networks}")
    }
}

impl Fleet {
    /// Deeper than [`Fleet::engine_state`]: every container's id, name, state,
    /// start time and labels, its writable layer's changes (`docker diff`) with
    /// a sha256 and mode of every changed regular file of a running one, then
    /// the engine's networks. Equal before and after means nothing was touched.
    pub fn deep_state(&self) -> String {
        let mut out = String::new();
        for id in self.ids() {
            let Some(c) = try_inspect(&id) else { continue };
            out += &format!(
                "{} {} {} {} {:?}\n",
                c.id, c.name, c.status, c.started_at, c.labels
            );
            if c.labels.contains_key("deckhand.holder") {
                continue;
            }
            // The engine lists changes in no stable order.
            let mut diff: Vec<String> =
                docker(&["diff", &id]).lines().map(str::to_string).collect();
            diff.sort();
            let diff = diff.join("\n") + "\n";
            out += &diff;
            if c.status == "running" {
                let files: Vec<&str> = diff
                    .lines()
                    .filter_map(|l| l.strip_prefix("A ").or(l.strip_prefix("C ")))
                    .collect();
                let script = "for f in \"$@\"; do [ -f \"$f\" ] && { stat -c '%a %u:%g %Y' \"$f\"; sha256sum \"$f\"; }; done; true";
                let mut args = vec!["exec", id.as_str(), "sh", "-c", script, "sh"];
                args.extend(files);
                out += &docker(&args);
            }
        }
        // Networks named after this fleet (other tests make and remove their own).
        let networks = docker(&["network", "ls", "--format", "{{.ID}} {{.Name}}"]);
        let ours: Vec<&str> = networks
            .lines()
            .filter(|l| l.contains(&self.name))
            .collect();
        out + "--- networks\n" + &ours.join("\n")
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let ids = self.ids();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids.iter().map(String::as_str));
            docker(&args);
        }
        let nets = docker(&[
            "network",
            "ls",
            "-q",
            "--filter",
            &format!("label=deckhand.fleet={}", self.name),
        ]);
        for net in nets.split_whitespace() {
            docker(&["network", "rm", net]);
        }
    }
}

/// Runs the built deckhand in `dir` with extra environment.
pub fn deckhand_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deckhand"));
    cmd.args(args).current_dir(dir).env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out: Output = cmd.output().expect("run deckhand");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the docker CLI; panics when it fails.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("run docker");
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `docker-compose -p PROJECT -f FILE ARGS…`; panics when it fails.
pub fn docker_compose(project: &str, file: &Path, args: &[&str]) {
    let out = Command::new("docker-compose")
        .args(["-p", project, "-f"])
        .arg(file)
        .args(args)
        .output()
        .expect("run docker-compose");
    assert!(
        out.status.success(),
        "docker-compose {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the docker CLI and returns (success, stdout+stderr).
pub fn docker_try(args: &[&str]) -> (bool, String) {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("run docker");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A container as `docker inspect` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub id: String,
    pub name: String,
    pub status: String,
    pub started_at: String,
    pub image: String,
    pub labels: BTreeMap<String, String>,
}

pub fn inspect(id: &str) -> Container {
    try_inspect(id).unwrap_or_else(|| panic!("no container {id}"))
}

/// The container, or `None` when the engine has no such object.
pub fn try_inspect(id: &str) -> Option<Container> {
    let (ok, json) = docker_try(&["inspect", id]);
    if !ok {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&json).expect("inspect json");
    let c = &v[0];
    Some(Container {
        id: c["Id"].as_str().unwrap_or_default().to_string(),
        name: c["Name"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        status: c["State"]["Status"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        started_at: c["State"]["StartedAt"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        image: c["Config"]["Image"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        labels: serde_json::from_value(c["Config"]["Labels"].clone()).unwrap_or_default(),
    })
}

/// `stat` of a path inside a container: "mode uid:gid mtime size".
pub fn stat(container: &str, path: &str) -> String {
    docker(&["exec", container, "stat", "-c", "%a %u:%g %Y %s", path])
        .trim()
        .to_string()
}

/// The bytes of a file inside a container.
pub fn cat(container: &str, path: &str) -> Vec<u8> {
    let out = Command::new("docker")
        .args(["exec", container, "cat", path])
        .output()
        .expect("docker exec cat");
    assert!(
        out.status.success(),
        "cat {path} in {container}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
