//! `ssh://[user@]host[:port]` engines, the way the docker CLI reaches them:
//! the system's `ssh` runs `docker system dial-stdio` on the host, and the
//! Engine API is spoken over its standard input and output.
//!
//! One master connection is opened (`ssh -M`), so authentication happens once;
//! each API connection is then one multiplexed `ssh -S … docker system
//! dial-stdio`, behind a [`Bridge`] socket that bollard connects to.
//! The user's ssh configuration, keys, agent and known hosts apply; set
//! `DECKHAND_SSH_COMMAND` (like git's `GIT_SSH_COMMAND`) to add options.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::process::{Child, Command};

use super::bridge::{Bridge, Connect, Duplex, Guard};

/// How long the master connection may take to authenticate.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(20);

/// A running bridge; dropping it closes the socket and the master connection.
pub struct SshBridge {
    pub bridge: Bridge,
    master: Child,
    _dir: tempfile::TempDir,
}

impl Drop for SshBridge {
    fn drop(&mut self) {
        let _ = self.master.start_kill();
    }
}

/// `ssh://[user@]host[:port]` as the arguments ssh takes.
fn destination(url: &str) -> Result<Vec<String>, String> {
    let rest = url
        .strip_prefix("ssh://")
        .ok_or_else(|| format!("'{url}' is not an ssh:// URL"))?;
    let rest = rest.trim_end_matches('/');
    let (user, host_port) = match rest.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, rest),
    };
    let (host, port) = match host_port.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() => (h, Some(p)),
        _ => (host_port, None),
    };
    if host.is_empty() {
        return Err(format!("'{url}' names no host"));
    }
    let mut args = Vec::new();
    if let Some(p) = port {
        args.extend(["-p".to_string(), p.to_string()]);
    }
    if let Some(u) = user {
        args.extend(["-l".to_string(), u.to_string()]);
    }
    args.extend(["--".to_string(), host.to_string()]);
    Ok(args)
}

/// The ssh program and its extra options: `DECKHAND_SSH_COMMAND`, split on
/// whitespace, else plain `ssh`.
fn ssh_command() -> Vec<String> {
    std::env::var("DECKHAND_SSH_COMMAND")
        .ok()
        .map(|c| c.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| vec!["ssh".to_string()])
}

fn command(control: &std::path::Path, extra: &[&str], dest: &[String]) -> Command {
    let ssh = ssh_command();
    let mut cmd = Command::new(&ssh[0]);
    cmd.args(&ssh[1..])
        .args(["-o", "BatchMode=yes", "-S"])
        .arg(control)
        .args(extra)
        .args(dest)
        .kill_on_drop(true);
    cmd
}

impl SshBridge {
    /// Logs in to `url` and starts serving the bridge socket.
    pub async fn start(url: &str) -> Result<SshBridge, String> {
        let dest = destination(url)?;
        let dir = tempfile::Builder::new()
            .prefix("deckhand-ssh-")
            .tempdir()
            .map_err(|e| format!("cannot make a directory for the ssh bridge: {e}"))?;
        let control = dir.path().join("master");
        let mut master = command(&control, &["-M", "-N", "-o", "ControlPersist=no"], &dest)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run ssh: {e}"))?;
        // Ready once the control socket exists; a failed login ends the process.
        let started = std::time::Instant::now();
        while !control.exists() {
            if let Ok(Some(_)) = master.try_wait() {
                let mut err = String::new();
                if let Some(mut stderr) = master.stderr.take() {
                    use tokio::io::AsyncReadExt as _;
                    let _ = stderr.read_to_string(&mut err).await;
                }
                return Err(format!("ssh could not log in: {}", err.trim()));
            }
            if started.elapsed() > LOGIN_TIMEOUT {
                let _ = master.start_kill();
                return Err(format!(
                    "ssh did not log in within {} s",
                    LOGIN_TIMEOUT.as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let connect: Connect = Arc::new(move || {
            let (control, dest) = (control.clone(), dest.clone());
            Box::pin(async move {
                let mut child = command(&control, &[], &dest)
                    .args(["docker", "system", "dial-stdio"])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()?;
                let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
                    return Err(std::io::Error::other("ssh gave no pipes"));
                };
                let stream: Box<dyn Duplex> = Box::new(tokio::io::join(stdout, stdin));
                let guard: Guard = Box::new(child);
                Ok((stream, guard))
            })
        });
        Ok(SshBridge {
            bridge: Bridge::start(connect)?,
            master,
            _dir: dir,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_urls_become_ssh_arguments() {
        assert_eq!(destination("ssh://edge").unwrap(), ["--", "edge"]);
        assert_eq!(
            destination("ssh://ops@edge:2222").unwrap(),
            ["-p", "2222", "-l", "ops", "--", "edge"]
        );
        assert_eq!(
            destination("ssh://ops@10.0.0.5").unwrap(),
            ["-l", "ops", "--", "10.0.0.5"]
        );
        assert!(destination("ssh://ops@").is_err());
        assert!(destination("tcp://edge:1").is_err());
    }
}
