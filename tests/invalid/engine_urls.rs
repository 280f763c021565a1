//! An engine that cannot be reached is told in plain words, each kind with its
//! own help: refused, permission denied, no socket, a bad URL, TLS, ssh. Only
//! loopback and local sockets are used.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use super::common;

const CONFIG: &str = "[fleet]\nname = \"x\"\nbase_image = \"i:1\"\n";

fn plan_at(dir: &Path, url: &str) -> common::Run {
    std::fs::write(dir.join("deckhand.toml"), CONFIG).unwrap();
    common::deckhand_in(dir, &["plan", "--no-color", "--docker-host", url], &[])
}

/// A loopback port that nothing listens on (bound, then let go).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn assert_says(run: &common::Run, message: &str, help: &str) {
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        format!("error: {message}\n  help: {help}\n"),
        "{run:?}"
    );
}

const ELSEWHERE: &str = "point deckhand at the right engine with --docker-host URL or DOCKER_HOST";

#[test]
fn a_closed_port_is_refused_in_plain_words() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("tcp://127.0.0.1:{}", closed_port());
    let run = plan_at(dir.path(), &url);
    assert_says(
        &run,
        &format!("cannot reach the Docker engine at {url}: nothing is listening there (connection refused)"),
        &format!("start the engine (`systemctl start docker`), or {ELSEWHERE}"),
    );
    assert!(!run.stderr.contains("hyper") && !run.stderr.contains("os error"));
}

#[test]
fn a_missing_socket_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let run = plan_at(dir.path(), "unix:///nonexistent/docker.sock");
    assert_says(
        &run,
        "cannot reach the Docker engine at unix:///nonexistent/docker.sock: there is no socket at /nonexistent/docker.sock",
        &format!("no engine runs on this machine: start one (`systemctl start docker`), or {ELSEWHERE}"),
    );
}

#[test]
fn a_malformed_url_is_not_told_to_start_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let help = "write --docker-host or DOCKER_HOST as unix:///path/to/docker.sock, tcp://host:port or ssh://user@host";
    for (url, problem) in [
        (
            "tcp://127.0.0.1",
            "'tcp://127.0.0.1' names no port (the engine's is usually 2375, or 2376 with TLS)",
        ),
        (
            "tcp://127.0.0.1:http",
            "'tcp://127.0.0.1:http': 'http' is not a port number (1-65535)",
        ),
        ("docker.sock", "'docker.sock' is not a URL"),
        ("/etc/hostname", "/etc/hostname is not a socket"),
    ] {
        let run = plan_at(dir.path(), url);
        assert_says(
            &run,
            &format!("cannot reach the Docker engine at {url}: {problem}"),
            help,
        );
    }
}

/// A socket of mode 000, tried as a user who is not root (nobody, through
/// setpriv) when this runs as root; as any other user the mode alone refuses.
#[test]
fn a_socket_without_permission_says_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = dir.path().join("docker.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::write(dir.path().join("deckhand.toml"), CONFIG).unwrap();
    let url = format!("unix://{}", socket.display());
    let args = ["plan", "--no-color", "--docker-host", url.as_str()];
    let out = if rustix::process::geteuid().is_root() {
        std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_deckhand"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("setpriv")
    } else {
        std::process::Command::new(env!("CARGO_BIN_EXE_deckhand"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let run = common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_says(
        &run,
        &format!("cannot reach the Docker engine at {url}: permission denied on the socket {}", socket.display()),
        "the engine's socket belongs to root and the docker group: run deckhand as root (sudo), or add your user to the docker group (`sudo usermod -aG docker $USER`, then log in again)",
    );
}

#[test]
fn an_ssh_engine_that_cannot_be_reached_says_ssh() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let url = format!("ssh://nobody@127.0.0.1:{port}");
    let run = plan_at(dir.path(), &url);
    assert_says(
        &run,
        &format!("cannot reach the Docker engine at {url}: ssh could not log in: ssh: connect to host 127.0.0.1 port {port}: Connection refused"),
        "check that `ssh USER@HOST docker version` works from this shell (key, known_hosts, the docker CLI on that host); DECKHAND_SSH_COMMAND adds ssh options",
    );
}

/// A loopback server that answers a TLS hello with plain HTTP.
#[test]
fn a_tls_engine_that_does_not_speak_tls_says_tls() {
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("self.pem");
    let key = dir.path().join("self-key.pem");
    let ok = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&pem)
        .output()
        .expect("openssl")
        .status
        .success();
    assert!(ok);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read as _, Write as _};
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 512];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        }
    });
    std::fs::write(
        dir.path().join("deckhand.toml"),
        format!("{CONFIG}\n[hosts.local]\ndocker_host = \"tcp://127.0.0.1:{port}\"\ntls = {{ ca = \"self.pem\", cert = \"self.pem\", key = \"self-key.pem\" }}\n"),
    )
    .unwrap();
    let run = common::deckhand_in(dir.path(), &["plan", "--no-color"], &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "cannot reach the Docker engine at tcp://127.0.0.1:{port}: the TLS handshake failed: "
        )),
        "{run:?}"
    );
    assert!(
        run.stderr.contains("\n  help: check tls in [hosts.local]: the engine's certificate must be signed by that ca and name the host, and cert and key must be the client's pair\n"),
        "{run:?}"
    );
}
