//! A decky's disguise read back as the file would say it: the persona its
//! sysctls amount to, and values that name the decky written as placeholders.

use std::collections::BTreeMap;

/// The persona whose every sysctl the base carries, with the most values
/// equal, and the sysctls the file must still give over it. No persona when
/// none is carried whole.
pub fn persona_of(live: &BTreeMap<String, String>) -> (Option<String>, BTreeMap<String, String>) {
    let mut best: Option<(&str, usize)> = None;
    for name in crate::persona::names() {
        let values = crate::persona::sysctls(name).unwrap_or_default();
        if !values.keys().all(|k| live.contains_key(k)) {
            continue;
        }
        let equal = values
            .iter()
            .filter(|(k, v)| live.get(*k) == Some(v))
            .count();
        if best.is_none_or(|(_, n)| equal > n) {
            best = Some((name, equal));
        }
    }
    let Some((name, _)) = best else {
        return (None, live.clone());
    };
    let values = crate::persona::sysctls(name).unwrap_or_default();
    let own = live
        .iter()
        .filter(|(k, v)| values.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (Some(name.to_string()), own)
}

/// What names one decky, for placeholders.
pub struct Names<'a> {
    pub decky: &'a str,
    pub hostname: &'a str,
    pub ip: &'a str,
}

/// An environment value as a placeholder when it is exactly the decky's
/// hostname, name or address; else as it is.
pub fn env_value(value: &str, n: &Names<'_>) -> String {
    match value {
        v if v == n.hostname => "{hostname}".into(),
        v if v == n.decky => "{decky}".into(),
        v if !n.ip.is_empty() && v == n.ip => "{ip}".into(),
        v => v.into(),
    }
}

/// A bind mount whose host path has the decky's name as a component, with
/// `{decky}` there (DECNET's `/var/lib/decnet/artifacts/<decky>/ssh`).
pub fn volume(bind: &str, n: &Names<'_>) -> String {
    let (host, rest) = bind.split_once(':').unwrap_or((bind, ""));
    let host: Vec<&str> = host
        .split('/')
        .map(|part| if part == n.decky { "{decky}" } else { part })
        .collect();
    match rest {
        "" => host.join("/"),
        rest => format!("{}:{rest}", host.join("/")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_persona_is_found_under_the_decky_own_sysctls() {
        let mut live = crate::persona::sysctls("linux").unwrap();
        live.insert("net.ipv4.ip_forward".into(), "1".into());
        live.insert("net.ipv4.tcp_fin_timeout".into(), "61".into());
        let (persona, own) = persona_of(&live);
        assert_eq!(persona.as_deref(), Some("linux"));
        let own: Vec<(&str, &str)> = own.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            own,
            [
                ("net.ipv4.ip_forward", "1"),
                ("net.ipv4.tcp_fin_timeout", "61")
            ]
        );
        let lone = BTreeMap::from([("net.ipv4.ip_forward".to_string(), "1".to_string())]);
        assert_eq!(persona_of(&lone), (None, lone.clone()));
    }

    #[test]
    fn values_naming_the_decky_become_placeholders() {
        let n = Names {
            decky: "web-01",
            hostname: "www",
            ip: "10.0.0.5",
        };
        assert_eq!(env_value("www", &n), "{hostname}");
        assert_eq!(env_value("web-01", &n), "{decky}");
        assert_eq!(env_value("10.0.0.5", &n), "{ip}");
        assert_eq!(env_value("web-01x", &n), "web-01x");
        assert_eq!(
            volume(
                "/var/lib/decnet/artifacts/web-01/ssh:/var/lib/systemd/coredump:rw",
                &n
            ),
            "/var/lib/decnet/artifacts/{decky}/ssh:/var/lib/systemd/coredump:rw"
        );
        assert_eq!(volume("/srv/web-01x:/x", &n), "/srv/web-01x:/x");
    }
}
