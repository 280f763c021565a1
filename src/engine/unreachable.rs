//! Why an engine could not be reached, told in plain words with what to do:
//! nothing listening, a socket deckhand may not open, no socket at all, a URL
//! that is not one, TLS, ssh. hyper's and the OS's wording never reaches the
//! operator as the message; the innermost cause is kept only where it is the
//! fact itself (a certificate's verdict, ssh's own complaint).

use std::fmt;

/// What went wrong on the way to an engine: a closed set, each with its help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreachable {
    /// Nothing listens at that address.
    Refused,
    /// The socket is there but deckhand's user may not open it.
    PermissionDenied { socket: Option<String> },
    /// No socket file at that path.
    SocketMissing { path: String },
    /// The URL itself is not one deckhand can use.
    BadUrl { problem: String },
    /// The TLS files or the handshake failed.
    Tls { problem: String },
    /// ssh could not log in or reach the engine.
    Ssh { problem: String },
    /// No answer within the probe's time.
    TimedOut { seconds: u64 },
    /// Something answered, but not as a Docker engine does.
    NotAnEngine { detail: String },
}

/// Where the engine's URL came from, so the help points at the right place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlFrom<'a> {
    /// `--docker-host`, `DOCKER_HOST` or the default socket.
    Flag,
    /// `docker_host` under `[hosts.NAME]`.
    Host(&'a str),
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unreachable::Refused => write!(f, "nothing is listening there (connection refused)"),
            Unreachable::PermissionDenied { socket: Some(s) } => {
                write!(f, "permission denied on the socket {s}")
            }
            Unreachable::PermissionDenied { socket: None } => write!(f, "permission denied"),
            Unreachable::SocketMissing { path } => write!(f, "there is no socket at {path}"),
            Unreachable::BadUrl { problem } => write!(f, "{problem}"),
            Unreachable::Tls { problem } => write!(f, "{problem}"),
            Unreachable::Ssh { problem } => write!(f, "{problem}"),
            Unreachable::TimedOut { seconds } => write!(f, "no answer within {seconds} s"),
            Unreachable::NotAnEngine { detail } => {
                write!(f, "what answered is not a Docker engine ({detail})")
            }
        }
    }
}

impl Unreachable {
    /// What the operator can do about it, one line.
    pub fn help(&self, from: UrlFrom<'_>) -> String {
        let elsewhere = match from {
            UrlFrom::Flag => {
                "point deckhand at the right engine with --docker-host URL or DOCKER_HOST"
                    .to_string()
            }
            UrlFrom::Host(h) => format!("correct docker_host in [hosts.{h}]"),
        };
        match self {
            Unreachable::Refused => format!("start the engine (`systemctl start docker`), or {elsewhere}"),
            Unreachable::PermissionDenied { .. } => "the engine's socket belongs to root and the docker group: run deckhand as root (sudo), or add your user to the docker group (`sudo usermod -aG docker $USER`, then log in again)".to_string(),
            Unreachable::SocketMissing { .. } => format!("no engine runs on this machine: start one (`systemctl start docker`), or {elsewhere}"),
            Unreachable::BadUrl { .. } => match from {
                UrlFrom::Flag => "write --docker-host or DOCKER_HOST as unix:///path/to/docker.sock, tcp://host:port or ssh://user@host".to_string(),
                UrlFrom::Host(h) => format!("write docker_host in [hosts.{h}] as unix:///path/to/docker.sock, tcp://host:port or ssh://user@host"),
            },
            Unreachable::Tls { .. } => match from {
                UrlFrom::Flag => "TLS certificates are set per engine: declare it under [hosts.NAME] with docker_host and tls = { ca, cert, key }".to_string(),
                UrlFrom::Host(h) => format!("check tls in [hosts.{h}]: the engine's certificate must be signed by that ca and name the host, and cert and key must be the client's pair"),
            },
            Unreachable::Ssh { .. } => "check that `ssh USER@HOST docker version` works from this shell (key, known_hosts, the docker CLI on that host); DECKHAND_SSH_COMMAND adds ssh options".to_string(),
            Unreachable::TimedOut { .. } => format!("check the address and that no firewall drops the traffic, or {elsewhere}"),
            Unreachable::NotAnEngine { .. } => format!("check that the URL names a Docker engine, or {elsewhere}"),
        }
    }

    /// Classifies the error of the first call to an engine reached at
    /// `endpoint` by the OS error under it (hyper wraps it several layers deep).
    pub fn of_error(endpoint: &str, e: &(dyn std::error::Error + 'static)) -> Unreachable {
        let socket = socket_path(endpoint).map(str::to_string);
        let mut innermost = e.to_string();
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(c) = cause {
            if let Some(io) = c.downcast_ref::<std::io::Error>() {
                if let Some(kind) = Unreachable::of_io(io.kind(), socket.as_deref()) {
                    return kind;
                }
            }
            innermost = c.to_string();
            cause = c.source();
        }
        Unreachable::of_text(&innermost, socket.as_deref())
    }

    pub(super) fn of_io(kind: std::io::ErrorKind, socket: Option<&str>) -> Option<Unreachable> {
        use std::io::ErrorKind;
        Some(match kind {
            ErrorKind::ConnectionRefused => Unreachable::Refused,
            ErrorKind::PermissionDenied => Unreachable::PermissionDenied {
                socket: socket.map(str::to_string),
            },
            ErrorKind::NotFound => Unreachable::SocketMissing {
                path: socket.unwrap_or("that path").to_string(),
            },
            ErrorKind::TimedOut => Unreachable::TimedOut { seconds: 10 },
            _ => return None,
        })
    }

    /// The last resort when no OS error is found in the chain: its numbers.
    fn of_text(text: &str, socket: Option<&str>) -> Unreachable {
        use std::io::ErrorKind;
        let kind = if text.contains("os error 111") {
            Some(ErrorKind::ConnectionRefused)
        } else if text.contains("os error 13") {
            Some(ErrorKind::PermissionDenied)
        } else if text.contains("os error 2)") {
            Some(ErrorKind::NotFound)
        } else {
            None
        };
        kind.and_then(|k| Unreachable::of_io(k, socket))
            .unwrap_or_else(|| Unreachable::NotAnEngine {
                detail: text.to_string(),
            })
    }
}

/// The socket file of a `unix://` or bare-path endpoint.
pub fn socket_path(endpoint: &str) -> Option<&str> {
    match endpoint.strip_prefix("unix://") {
        Some(path) => Some(path),
        None if endpoint.starts_with('/') => Some(endpoint),
        None => None,
    }
}

/// Refuses a URL deckhand cannot use, before anything is tried.
pub fn check_url(endpoint: &str) -> Result<(), Unreachable> {
    let bad = |problem: String| Err(Unreachable::BadUrl { problem });
    let Some((scheme, rest)) = endpoint.split_once("://") else {
        if endpoint.starts_with('/') {
            return Ok(());
        }
        return bad(format!("'{endpoint}' is not a URL"));
    };
    match scheme {
        "unix" if rest.starts_with('/') => Ok(()),
        "unix" => bad(format!("'{endpoint}' names no absolute socket path")),
        "tcp" | "http" => check_host_port(endpoint, rest),
        "ssh" => {
            if rest
                .trim_end_matches('/')
                .rsplit('@')
                .next()
                .unwrap_or("")
                .is_empty()
            {
                return bad(format!("'{endpoint}' names no host"));
            }
            Ok(())
        }
        "npipe" => bad(format!(
            "'{endpoint}' is a Windows named pipe; deckhand runs on Linux"
        )),
        other => bad(format!(
            "'{endpoint}': the scheme '{other}' is not one deckhand speaks"
        )),
    }
}

fn check_host_port(endpoint: &str, rest: &str) -> Result<(), Unreachable> {
    let bad = |problem: String| Err(Unreachable::BadUrl { problem });
    let rest = rest.trim_end_matches('/');
    if rest.contains('/') {
        return bad(format!("'{endpoint}' has a path; give only host:port"));
    }
    let Some((host, port)) = rest.rsplit_once(':') else {
        return bad(format!(
            "'{endpoint}' names no port (the engine's is usually 2375, or 2376 with TLS)"
        ));
    };
    if host.is_empty() || host == "[]" {
        return bad(format!("'{endpoint}' names no host"));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => bad(format!(
            "'{endpoint}': '{port}' is not a port number (1-65535)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Error, ErrorKind};

    /// hyper's own wrapping: the OS error several sources deep.
    #[derive(Debug)]
    struct Wrapped(Error);
    impl fmt::Display for Wrapped {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "client error (Connect)")
        }
    }
    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    fn classify(kind: ErrorKind) -> Unreachable {
        Unreachable::of_error("unix:///run/docker.sock", &Wrapped(Error::from(kind)))
    }

    #[test]
    fn an_os_error_deep_in_the_chain_decides_the_kind() {
        assert_eq!(classify(ErrorKind::ConnectionRefused), Unreachable::Refused);
        assert_eq!(
            classify(ErrorKind::PermissionDenied),
            Unreachable::PermissionDenied {
                socket: Some("/run/docker.sock".to_string())
            }
        );
        assert_eq!(
            classify(ErrorKind::NotFound),
            Unreachable::SocketMissing {
                path: "/run/docker.sock".to_string()
            }
        );
    }

    #[test]
    fn without_an_os_error_the_innermost_words_are_kept_not_hypers() {
        let e = Wrapped(Error::other("connection closed before message completed"));
        let why = Unreachable::of_error("tcp://127.0.0.1:80", &e);
        assert_eq!(
            why.to_string(),
            "what answered is not a Docker engine (connection closed before message completed)"
        );
    }

    #[test]
    fn permission_denied_says_how_to_get_the_right() {
        let help = classify(ErrorKind::PermissionDenied).help(UrlFrom::Flag);
        assert!(
            help.contains("docker group") && help.contains("root"),
            "{help}"
        );
    }

    #[test]
    fn malformed_urls_are_refused_before_any_connection() {
        for (url, problem) in [
            ("localhost:2375", "'localhost:2375' is not a URL"),
            (
                "tcp://127.0.0.1",
                "'tcp://127.0.0.1' names no port (the engine's is usually 2375, or 2376 with TLS)",
            ),
            (
                "tcp://127.0.0.1:x",
                "'tcp://127.0.0.1:x': 'x' is not a port number (1-65535)",
            ),
            ("tcp://:2375", "'tcp://:2375' names no host"),
            (
                "unix://run/docker.sock",
                "'unix://run/docker.sock' names no absolute socket path",
            ),
            (
                "htp://h:1",
                "'htp://h:1': the scheme 'htp' is not one deckhand speaks",
            ),
        ] {
            assert_eq!(
                check_url(url),
                Err(Unreachable::BadUrl {
                    problem: problem.to_string()
                }),
                "{url}"
            );
        }
        for url in [
            "unix:///var/run/docker.sock",
            "/var/run/docker.sock",
            "tcp://10.0.0.5:2376/",
            "ssh://ops@edge:22",
        ] {
            assert_eq!(check_url(url), Ok(()), "{url}");
        }
    }

    #[test]
    fn a_bad_url_is_not_told_to_start_the_engine() {
        let why = check_url("tcp://h").unwrap_err();
        assert!(!why.help(UrlFrom::Flag).contains("start"));
        assert!(why.help(UrlFrom::Host("edge")).contains("[hosts.edge]"));
    }
}
