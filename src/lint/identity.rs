//! Giveaways in who a decky says it is: its hostname, its services' banners
//! (environment variables named `*BANNER*`, as DECNET's services take them)
//! and its persona must claim one system.

use std::collections::BTreeMap;

use crate::desired::{ContainerSpec, Role};

use super::{Finding, Kind};

/// An operating system a name, a banner or a persona claims: a family,
/// and the distribution when it is named.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Claim {
    family: &'static str,
    distro: Option<&'static str>,
    /// What said it: `persona windows_server`, `SSH_BANNER "..."`.
    by: String,
}

/// Words that name a system, with its family and distribution.
const WORDS: [(&str, &str, Option<&str>); 14] = [
    ("windows", "Windows", None),
    ("microsoft", "Windows", None),
    ("win-", "Windows", None),
    ("desktop-", "Windows", None),
    ("ubuntu", "Linux", Some("Ubuntu")),
    ("debian", "Linux", Some("Debian")),
    ("centos", "Linux", Some("CentOS")),
    ("red hat", "Linux", Some("Red Hat")),
    ("rhel", "Linux", Some("Red Hat")),
    ("fedora", "Linux", Some("Fedora")),
    ("alpine", "Linux", Some("Alpine")),
    ("freebsd", "BSD", Some("FreeBSD")),
    ("openbsd", "BSD", Some("OpenBSD")),
    ("cisco", "Cisco", None),
];

/// The system `text` names, if one.
fn named(text: &str, by: String) -> Option<Claim> {
    let lower = text.to_ascii_lowercase();
    let (_, family, distro) = WORDS.iter().find(|(w, _, _)| lower.contains(w))?;
    Some(Claim {
        family,
        distro: *distro,
        by,
    })
}

fn persona(name: &str) -> Option<Claim> {
    let family = match name {
        "linux" => "Linux",
        "windows" | "windows_server" => "Windows",
        "bsd" => "BSD",
        "cisco" => "Cisco",
        _ => return None, // embedded: any small system
    };
    let by = format!("persona {name}");
    Some(Claim {
        family,
        distro: None,
        by,
    })
}

/// Whether two claims cannot both be true of one host.
fn disagree(a: &Claim, b: &Claim) -> bool {
    a.family != b.family || matches!((a.distro, b.distro), (Some(x), Some(y)) if x != y)
}

pub fn findings(containers: &[std::sync::Arc<ContainerSpec>]) -> Vec<Finding> {
    let mut claims: BTreeMap<&str, Vec<Claim>> = BTreeMap::new();
    for c in containers {
        let Some(decky) = c.decky.as_deref() else {
            continue;
        };
        let list = claims.entry(decky).or_default();
        if c.role == Role::Base {
            let host = c.hostname.as_deref().unwrap_or(decky);
            list.extend(named(host, format!("hostname {host}")));
            list.extend(c.settings.persona.as_deref().and_then(persona));
        }
        for (k, v) in c
            .env
            .iter()
            .filter(|(k, _)| k.to_ascii_uppercase().contains("BANNER"))
        {
            list.extend(named(v, format!("{k} \"{v}\"")));
        }
    }
    let mut out = Vec::new();
    for (decky, list) in claims {
        let pair = list.iter().enumerate().find_map(|(i, a)| {
            list[i + 1..]
                .iter()
                .find(|b| disagree(a, b))
                .map(|b| (a, b))
        });
        if let Some((a, b)) = pair {
            out.push(Finding {
                decky: decky.to_string(),
                file: None,
                kind: Kind::IdentityMismatch,
                message: format!("{} says {}, but {} says {}", a.by, says(a), b.by, says(b)),
                fix: "make the hostname, the banners (service_config) and the persona claim one system".to_string(),
            });
        }
    }
    out
}

fn says(c: &Claim) -> String {
    c.distro.unwrap_or(c.family).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(text: &str) -> Claim {
        named(text, text.to_string()).unwrap()
    }

    #[test]
    fn two_distributions_of_one_family_disagree_and_one_system_agrees() {
        let ubuntu = claim("SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6");
        assert!(disagree(
            &ubuntu,
            &claim("220 ProFTPD 1.3.5 Server (Debian)")
        ));
        assert!(disagree(&ubuntu, &persona("windows_server").unwrap()));
        assert!(!disagree(&ubuntu, &persona("linux").unwrap()));
        assert!(!disagree(
            &claim("WIN-7QK2"),
            &claim("Microsoft FTP Service")
        ));
        assert_eq!(
            named("fs01", String::new()),
            None,
            "a plain name claims nothing"
        );
        assert_eq!(persona("embedded"), None, "embedded claims no family");
    }
}
