//! Rules for what makes a decky believable as DECNET builds it (SPEC §7):
//! OS personas and sysctls, capabilities, bind mounts, logging, and the
//! placeholders that fill a catalog entry in for each decky.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use super::merge::Named;
use super::raw::{RawDecky, RawService};
use super::validate::Validator;
use crate::desired::Logging;
use crate::persona;

/// Every placeholder, in the order messages list them.
pub const PLACEHOLDERS: [&str; 6] = ["fleet", "decky", "service", "hostname", "ip", "ports"];

/// What each placeholder stands for in one container.
pub struct Values<'a> {
    pub fleet: &'a str,
    pub decky: &'a str,
    pub service: &'a str,
    pub hostname: &'a str,
    pub ip: &'a str,
    /// The decky's service ports, as DECNET's `DECNET_OPEN_PORTS` ([`open_ports`]).
    pub ports: &'a str,
}

/// `text` with `{fleet}` `{decky}` `{service}` `{hostname}` `{ip}` `{ports}`
/// filled in; any other braces are left as they are.
pub fn expand(text: &str, v: &Values<'_>) -> String {
    let pairs = [
        ("{fleet}", v.fleet),
        ("{decky}", v.decky),
        ("{service}", v.service),
        ("{hostname}", v.hostname),
        ("{ip}", v.ip),
        ("{ports}", v.ports),
    ];
    pairs
        .iter()
        .fold(text.to_string(), |t, (k, val)| t.replace(k, val))
}

/// The ports the decky's services listen on, as DECNET's composer gives
/// them to its cloak (`DECNET_OPEN_PORTS`): every listed service's `ports`,
/// de-duplicated, ascending, joined by commas without spaces ("22,80,443").
pub(super) fn open_ports(
    raw: &RawDecky,
    catalog: &BTreeMap<String, Named<'_, RawService>>,
) -> String {
    let listed = raw.services.as_ref().map(|s| s.get_ref().as_slice());
    let ports: std::collections::BTreeSet<u16> = listed
        .unwrap_or_default()
        .iter()
        .filter_map(|s| catalog.get(s.get_ref()))
        .flat_map(|entry| entry.value.get_ref().ports.iter().flatten())
        .filter_map(|p| u16::try_from(*p.get_ref()).ok().filter(|p| *p > 0))
        .collect();
    let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
    ports.join(",")
}

/// The `{word}`s of `text` that are not placeholders.
fn unknown_placeholders(text: &str, allowed: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let word = &after[..close];
        let is_word = !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        if is_word && !allowed.contains(&word) {
            out.push(format!("{{{word}}}"));
        }
        rest = &after[close + 1..];
    }
    out
}

/// Host paths a bind mount must never reach: the engine's socket and
/// directories, and the host's kernel interfaces. A decky that has them hands
/// the intruder the host.
const REFUSED_SOURCES: [&str; 11] = [
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/run/docker",
    "/run/docker",
    "/var/lib/docker",
    "/etc/docker",
    "/run/containerd",
    "/var/lib/containerd",
    "/proc",
    "/sys",
    "/dev",
];

/// A bind mount `host:container[:ro|rw]`, checked.
pub fn check_volume(v: &str) -> Result<(), String> {
    let parts: Vec<&str> = v.split(':').collect();
    let (host, dest, mode) = match parts.as_slice() {
        [h, d] => (*h, *d, "rw"),
        [h, d, m] => (*h, *d, *m),
        _ => return Err(format!("volume '{v}' is not host:container[:ro|rw]")),
    };
    for (what, path) in [("host path", host), ("container path", dest)] {
        let normal = path.starts_with('/')
            && path != "/"
            && path[1..]
                .split('/')
                .all(|s| !s.is_empty() && s != "." && s != "..");
        if !normal {
            return Err(format!("volume '{v}': the {what} must be absolute and normalised (no ., .., empty segment, not /)"));
        }
    }
    if !["rw", "ro"].contains(&mode) {
        return Err(format!("volume '{v}': mode '{mode}' is neither ro nor rw"));
    }
    // The source is one of them, inside one, or a directory above one.
    let reaches = |r: &str| {
        host == r || host.starts_with(&format!("{r}/")) || r.starts_with(&format!("{host}/"))
    };
    if let Some(r) = REFUSED_SOURCES.iter().find(|r| reaches(r)) {
        return Err(format!(
            "volume '{v}' reaches {r} on the host: a decky with it hands the intruder the host"
        ));
    }
    Ok(())
}

/// A published port `[ip:]host:container[/tcp|udp]`, checked, with its
/// protocol made explicit (as the engine reports it back).
pub fn check_publish(p: &str) -> Result<String, String> {
    let (ports, proto) = p.rsplit_once('/').unwrap_or((p, "tcp"));
    if !["tcp", "udp"].contains(&proto) {
        return Err(format!(
            "publish '{p}': protocol '{proto}' is neither tcp nor udp"
        ));
    }
    let parts: Vec<&str> = ports.split(':').collect();
    let (ip, host, container) = match parts.as_slice() {
        [h, c] => (None, *h, *c),
        [ip, h, c] => (Some(*ip), *h, *c),
        _ => {
            return Err(format!(
                "publish '{p}' is not [ip:]host:container[/tcp|udp]"
            ))
        }
    };
    if ip.is_some_and(|ip| ip.parse::<std::net::IpAddr>().is_err()) {
        return Err(format!(
            "publish '{p}': '{}' is not an address",
            ip.unwrap_or_default()
        ));
    }
    for port in [host, container] {
        if !port.parse::<u16>().is_ok_and(|n| n > 0) {
            return Err(format!(
                "publish '{p}': '{port}' is not a port between 1 and 65535"
            ));
        }
    }
    Ok(match ip {
        Some(ip) => format!("{ip}:{host}:{container}/{proto}"),
        None => format!("{host}:{container}/{proto}"),
    })
}

impl Validator<'_> {
    /// A decky's `publish`: host ports bound on its base.
    pub fn publish(&mut self, name: &str, src: usize, d: &RawDecky) -> Vec<String> {
        let mut out = Vec::new();
        for p in &d.publish {
            match check_publish(p.get_ref()) {
                Ok(p) => out.push(p),
                Err(m) => self.ctx.err_help(
                    src,
                    &p.span(),
                    format!("decky '{name}': {m}"),
                    "like \"2222:22/tcp\" or \"127.0.0.1:8080:80\"",
                ),
            }
        }
        out.sort();
        out
    }

    /// `logging = { driver, options }`, or `"engine"` (the engine's default).
    pub fn logging(
        &mut self,
        src: usize,
        raw: &Spanned<toml::Value>,
        place: &str,
    ) -> Option<Logging> {
        let Some(l) = super::catalog::logging_of(raw.get_ref()) else {
            let message =
                format!("{place}: logging is neither \"engine\" nor {{ driver, options }}");
            let help = "write logging = { driver = \"json-file\", options = { max-size = \"10m\" } }, or logging = \"engine\" for the engine's default";
            self.ctx.err_help(src, &raw.span(), message, help);
            return None;
        };
        let driver = &l.driver;
        let valid = !driver.is_empty()
            && driver
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:/".contains(c));
        if !valid {
            let message = format!("{place}: logging driver '{driver}' is not a driver name");
            self.ctx.err_help(
                src,
                &raw.span(),
                message,
                "like json-file, local, syslog, journald",
            );
            return None;
        }
        Some(l)
    }

    /// Capability names: upper case and underscores (`NET_ADMIN`).
    pub fn caps(&mut self, src: usize, caps: &[Spanned<String>], place: &str) -> Vec<String> {
        for c in caps.iter().filter(|c| {
            c.get_ref().is_empty()
                || !c
                    .get_ref()
                    .chars()
                    .all(|ch| ch.is_ascii_uppercase() || ch == '_')
        }) {
            let message = format!("{place}: '{}' is not a capability name", c.get_ref());
            self.ctx.err_help(
                src,
                &c.span(),
                message,
                "like NET_ADMIN, NET_RAW, NET_BIND_SERVICE, SYS_ADMIN",
            );
        }
        caps.iter().map(|c| c.get_ref().clone()).collect()
    }

    /// Every `{word}` of `text` must be a placeholder of `allowed`.
    pub fn placeholders(
        &mut self,
        src: usize,
        span: &Range<usize>,
        text: &str,
        allowed: &[&str],
        place: &str,
    ) {
        for word in unknown_placeholders(text, allowed) {
            let message = format!("{place}: unknown placeholder {word}");
            let help = format!(
                "placeholders here: {}",
                allowed
                    .iter()
                    .map(|a| format!("{{{a}}}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            self.ctx.err_help(src, span, message, help);
        }
    }

    /// A decky's persona and sysctls: the persona's values, the decky's own over them.
    pub fn sysctls(
        &mut self,
        name: &str,
        src: usize,
        d: &RawDecky,
    ) -> (Option<String>, BTreeMap<String, String>) {
        let mut sysctls = BTreeMap::new();
        let persona = d
            .persona
            .as_ref()
            .and_then(|p| match persona::sysctls(p.get_ref()) {
                Some(values) => {
                    sysctls = values;
                    Some(p.get_ref().clone())
                }
                None => {
                    let message = format!("decky '{name}': unknown persona '{}'", p.get_ref());
                    let help = format!("personas: {}", persona::names().join(", "));
                    self.ctx.err_help(src, &p.span(), message, help);
                    None
                }
            });
        for (key, value) in &d.sysctls {
            let k = key.get_ref();
            if !persona::is_namespaced(k) {
                let message = format!("decky '{name}': sysctl {k} is not kept per container, so the engine refuses it");
                self.ctx.err_help(src, &key.span(), message, "use net.* (or the IPC ones: kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)");
            }
            let value = match value.get_ref() {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                other => {
                    let message = format!(
                        "decky '{name}': sysctl {k} = {other} is neither a string nor an integer"
                    );
                    self.ctx.err(src, &value.span(), message);
                    continue;
                }
            };
            sysctls.insert(k.clone(), value);
        }
        (persona, sysctls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_fill_in_and_other_braces_stay() {
        let v = Values {
            fleet: "corp",
            decky: "web-01",
            service: "ssh",
            hostname: "www",
            ip: "10.0.0.5",
            ports: "22,80",
        };
        assert_eq!(
            expand("DECNET_OPEN_PORTS={ports}", &v),
            "DECNET_OPEN_PORTS=22,80"
        );
        assert_eq!(
            expand("/var/lib/decnet/artifacts/{decky}/{service}", &v),
            "/var/lib/decnet/artifacts/web-01/ssh"
        );
        assert_eq!(expand("{hostname}@{ip} {json}", &v), "www@10.0.0.5 {json}");
        assert_eq!(
            unknown_placeholders("{decky} {nope} {X} {}", &PLACEHOLDERS),
            ["{nope}"]
        );
    }

    #[test]
    fn published_ports_are_checked_and_made_explicit() {
        assert_eq!(check_publish("2222:22").unwrap(), "2222:22/tcp");
        assert_eq!(
            check_publish("127.0.0.1:8080:80/tcp").unwrap(),
            "127.0.0.1:8080:80/tcp"
        );
        for bad in ["22", "0:22", "2222:22/sctp", "x.y:1:2", "70000:22"] {
            assert!(check_publish(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bind_mounts_never_reach_the_engine_or_the_hosts_kernel() {
        assert!(
            check_volume("/var/lib/decnet/artifacts/a/ssh:/var/lib/systemd/coredump:rw").is_ok()
        );
        assert!(check_volume("/srv/q:/q:ro").is_ok());
        for bad in [
            "/var/run/docker.sock:/var/run/docker.sock",
            "/var/lib/docker/volumes:/x",
            "/var:/x",
            "/proc:/host/proc",
            "/:/host",
            "relative:/x",
            "/srv/../etc:/x",
            "/srv/q:/q:rx",
            "/srv/q",
        ] {
            assert!(check_volume(bad).is_err(), "{bad}");
        }
    }
}
