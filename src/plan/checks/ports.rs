//! Host ports: published by another container, or bound by a process of
//! the host.

use crate::live::LiveState;

use super::{created, decky_of, Change, Problem};

/// `[ip:]host:container/proto` (as the config writes it) as
/// `(host ip, host port, proto)`; `None` when it is not that.
pub fn parse_publish(p: &str) -> Option<(String, u16, String)> {
    let (ports, proto) = p.rsplit_once('/').unwrap_or((p, "tcp"));
    let parts: Vec<&str> = ports.split(':').collect();
    let (ip, host) = match parts.as_slice() {
        [ip, host, _] => (ip.to_string(), *host),
        [host, _] => (String::new(), *host),
        _ => return None,
    };
    Some((ip, host.parse().ok()?, proto.to_string()))
}

/// The problems of the host ports `change` publishes.
pub fn check(live: &LiveState, change: &Change) -> Vec<Problem> {
    let Some(spec) = created(change) else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    for (ip, port, proto) in spec.publish.iter().filter_map(|p| parse_publish(p)) {
        let clash = |(their_ip, their_port, their_proto): &(String, u16, String)| {
            *their_port == port && *their_proto == proto && overlaps(&ip, their_ip)
        };
        let holder = live
            .engine
            .others
            .iter()
            .find(|n| n.published.iter().any(clash));
        let port_words = format!("{port}/{proto}");
        if let Some(holder) = holder {
            problems.push(Problem::PortPublished {
                decky: decky_of(change),
                container: spec.name.clone(),
                port: port_words,
                holder: holder.name.clone(),
            });
        } else if live.engine.host_bound.contains(&(port, proto.clone())) {
            problems.push(Problem::PortBound {
                decky: decky_of(change),
                container: spec.name.clone(),
                port: port_words,
            });
        }
    }
    problems
}

/// Whether two host addresses of a binding meet: equal, or either is any.
fn overlaps(a: &str, b: &str) -> bool {
    let any = |ip: &str| matches!(ip, "" | "0.0.0.0" | "::");
    a == b || any(a) || any(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_ports_are_read_with_and_without_an_address() {
        assert_eq!(
            parse_publish("2222:22/tcp"),
            Some((String::new(), 2222, "tcp".into()))
        );
        assert_eq!(
            parse_publish("127.0.0.1:53:53/udp"),
            Some(("127.0.0.1".into(), 53, "udp".into()))
        );
        assert_eq!(parse_publish("22"), None);
    }

    #[test]
    fn a_binding_on_any_address_meets_every_other() {
        assert!(overlaps("", "127.0.0.1"));
        assert!(overlaps("::", "10.0.0.1"));
        assert!(!overlaps("127.0.0.1", "10.0.0.1"));
    }
}
