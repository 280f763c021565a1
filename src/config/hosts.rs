//! The `[hosts.NAME]` tables (SPEC §6): an engine URL and, for `tcp://`,
//! optional TLS client certificates.

use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use super::raw::{RawHost, RawTls};
use super::values;
use crate::engine::TlsFiles;
use crate::hosts::HostSpec;

/// One thing wrong with a host table.
#[derive(Debug, PartialEq, Eq)]
pub struct Problem {
    pub span: Range<usize>,
    pub message: String,
    pub help: Option<String>,
}

fn problem(span: Range<usize>, message: String, help: &str) -> Problem {
    Problem {
        span,
        message,
        help: Some(help.to_string()),
    }
}

/// Checks one `[hosts.NAME]` table; `dir` is the directory of the file that
/// declares it (certificate paths are relative to it).
pub fn host(
    name: &str,
    key_span: Range<usize>,
    raw: &Spanned<RawHost>,
    dir: &Path,
) -> Result<HostSpec, Vec<Problem>> {
    let mut problems = Vec::new();
    if let Err(m) = values::host_name(name) {
        problems.push(problem(
            key_span.clone(),
            m,
            "name hosts like edge-a or dc1.rack2",
        ));
    }
    let table = raw.get_ref();
    let url = match &table.docker_host {
        None => {
            problems.push(problem(
                key_span.clone(),
                format!("host '{name}' has no docker_host"),
                "add docker_host = \"tcp://10.0.0.5:2376\" (or ssh://user@host, unix:///path)",
            ));
            None
        }
        Some(url) => match scheme(url.get_ref()) {
            Ok(s) => Some((s, url)),
            Err(m) => {
                problems.push(problem(
                    url.span(),
                    format!("host '{name}': {m}"),
                    "use tcp://HOST:PORT, ssh://USER@HOST[:PORT] or unix:///path/to/docker.sock",
                ));
                None
            }
        },
    };
    let tls = table.tls.as_ref().and_then(|tls| {
        if let Some((s, _)) = &url {
            if *s != "tcp" {
                problems.push(problem(
                    tls.span(),
                    format!("host '{name}': tls is for tcp:// engines only"),
                    "remove tls, or use a tcp:// docker_host",
                ));
            }
        }
        certificates(name, tls, dir, &mut problems)
    });
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(HostSpec {
        name: name.to_string(),
        docker_host: url.map(|(_, u)| u.get_ref().clone()),
        tls,
    })
}

/// The URL's scheme, once the rest of the URL is known to fit it.
fn scheme(url: &str) -> Result<&'static str, String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!("docker_host '{url}' is not a URL"));
    };
    match scheme {
        "unix" if rest.starts_with('/') && rest.len() > 1 => Ok("unix"),
        "unix" => Err(format!("docker_host '{url}' needs an absolute socket path")),
        "tcp" => {
            let port = rest
                .rsplit_once(':')
                .map(|(h, p)| (h, p.trim_end_matches('/')));
            match port {
                Some((h, p)) if !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0) => Ok("tcp"),
                _ => Err(format!("docker_host '{url}' needs a host and a port")),
            }
        }
        "ssh" if !rest.is_empty() && !rest.contains('/') => Ok("ssh"),
        "ssh" => Err(format!(
            "docker_host '{url}' needs a host and nothing after it"
        )),
        other => Err(format!("docker_host '{url}': unknown scheme '{other}'")),
    }
}

fn certificates(
    name: &str,
    tls: &Spanned<RawTls>,
    dir: &Path,
    problems: &mut Vec<Problem>,
) -> Option<TlsFiles> {
    let raw = tls.get_ref();
    let mut file = |key: &str, value: &Option<Spanned<String>>| {
        let Some(value) = value else {
            problems.push(problem(
                tls.span(),
                format!("host '{name}': tls has no {key}"),
                "give all three: tls = { ca = \"ca.pem\", cert = \"cert.pem\", key = \"key.pem\" }",
            ));
            return None;
        };
        let path = dir.join(value.get_ref());
        if path.is_file() {
            Some(path)
        } else {
            problems.push(problem(
                value.span(),
                format!(
                    "host '{name}': tls {key} '{}' is not a readable file",
                    path.display()
                ),
                "paths are relative to the file that declares the host",
            ));
            None
        }
    };
    let ca = file("ca", &raw.ca);
    let cert = file("cert", &raw.cert);
    let key = file("key", &raw.key);
    Some(TlsFiles {
        ca: ca?,
        cert: cert?,
        key: key?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_for_their_scheme() {
        assert_eq!(scheme("tcp://10.0.0.5:2376"), Ok("tcp"));
        assert_eq!(scheme("tcp://edge.example:2376/"), Ok("tcp"));
        assert_eq!(scheme("ssh://ops@edge"), Ok("ssh"));
        assert_eq!(scheme("ssh://ops@edge:2222"), Ok("ssh"));
        assert_eq!(scheme("unix:///run/docker.sock"), Ok("unix"));
        assert!(scheme("tcp://10.0.0.5")
            .unwrap_err()
            .contains("a host and a port"));
        assert!(scheme("tcp://:2376").is_err());
        assert!(scheme("tcp://h:0").is_err());
        assert!(scheme("unix://run/docker.sock")
            .unwrap_err()
            .contains("absolute"));
        assert!(scheme("ssh://ops@edge/x").is_err());
        assert!(scheme("https://h:1")
            .unwrap_err()
            .contains("unknown scheme 'https'"));
        assert!(scheme("10.0.0.5:2376").unwrap_err().contains("not a URL"));
    }

    #[test]
    fn host_names_are_short_and_plain() {
        assert!(values::host_name("edge-a").is_ok());
        assert!(values::host_name("Edge")
            .unwrap_err()
            .contains("invalid host name"));
        assert!(values::host_name("").is_err());
        assert!(values::host_name(&"a".repeat(33)).is_err());
    }
}
