//! A base's LANs as the file names them against those it joins live: what
//! to join, what to leave, and why in words.

use std::collections::BTreeMap;

/// The joins and leaves that make `live` into `want`.
#[derive(Debug, PartialEq, Eq)]
pub struct LanDiff {
    pub attach: BTreeMap<String, String>,
    pub detach: Vec<String>,
    pub reasons: Vec<String>,
}

/// `want` and `live` map each network to the address asked for on it ("" =
/// the engine's choice). A changed address leaves and joins again.
pub fn compare(
    want: &BTreeMap<String, String>,
    live: &BTreeMap<String, String>,
) -> Option<LanDiff> {
    let mut diff = LanDiff {
        attach: BTreeMap::new(),
        detach: Vec::new(),
        reasons: Vec::new(),
    };
    for (net, ip) in want {
        match live.get(net) {
            None => {
                diff.reasons
                    .push(format!("network {net} attached{}", at(ip)));
                diff.attach.insert(net.clone(), ip.clone());
            }
            Some(was) if was != ip => {
                diff.reasons.push(format!(
                    "network {net} address {} -> {}",
                    shown(was),
                    shown(ip)
                ));
                diff.detach.push(net.clone());
                diff.attach.insert(net.clone(), ip.clone());
            }
            Some(_) => {}
        }
    }
    for net in live.keys().filter(|n| !want.contains_key(*n)) {
        diff.reasons.push(format!("network {net} detached"));
        diff.detach.push(net.clone());
    }
    (!diff.reasons.is_empty()).then_some(diff)
}

fn at(ip: &str) -> String {
    match ip {
        "" => String::new(),
        ip => format!(" at {ip}"),
    }
}

fn shown(ip: &str) -> &str {
    match ip {
        "" => "(engine's choice)",
        ip => ip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lans(items: &[(&str, &str)]) -> BTreeMap<String, String> {
        items
            .iter()
            .map(|(n, ip)| (n.to_string(), ip.to_string()))
            .collect()
    }

    #[test]
    fn equal_lans_need_nothing() {
        let l = lans(&[("lan_a", "10.1.0.5"), ("lan_b", "")]);
        assert_eq!(compare(&l, &l), None);
    }

    #[test]
    fn a_new_lan_is_joined_a_gone_one_left_and_a_new_address_is_both() {
        let want = lans(&[("lan_a", "10.1.0.6"), ("lan_c", "")]);
        let live = lans(&[("lan_a", "10.1.0.5"), ("lan_b", "")]);
        let diff = compare(&want, &live).expect("they differ");
        assert_eq!(diff.attach, lans(&[("lan_a", "10.1.0.6"), ("lan_c", "")]));
        assert_eq!(diff.detach, vec!["lan_a".to_string(), "lan_b".to_string()]);
        assert_eq!(
            diff.reasons,
            vec![
                "network lan_a address 10.1.0.5 -> 10.1.0.6",
                "network lan_c attached",
                "network lan_b detached",
            ]
        );
    }
}
