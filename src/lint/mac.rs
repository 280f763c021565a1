//! Giveaways in MAC addresses: a LAN where several deckies show one vendor.
//! deckhand sets no MAC yet (README: Not there yet), so the engine's are
//! what is seen: on macvlan, `02:42:…` (Docker's locally administered
//! prefix, no vendor at all) for every decky; on ipvlan, the parent
//! interface's one MAC for every address. On a bridge LAN only a peer on
//! the same bridge sees them, which the intruder inside already knows.

use std::collections::BTreeMap;

use crate::desired::{DesiredState, Role};

use super::{listed, Finding, Kind};

pub fn findings(desired: &DesiredState) -> Vec<Finding> {
    let mut on: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for c in desired.containers.iter().filter(|c| c.role == Role::Base) {
        let Some(decky) = &c.decky else { continue };
        let lans = c
            .lans
            .keys()
            .map(String::as_str)
            .chain(c.network.as_deref());
        for lan in lans {
            on.entry(lan).or_default().push(decky.clone());
        }
    }
    let mut out = Vec::new();
    for (lan, deckies) in on {
        let driver = desired.networks.get(lan).map(|n| n.driver.as_str());
        let (seen, fix) = match driver {
            Some("macvlan") => (
                "Docker's MAC prefix 02:42 (no vendor: a container)",
                "put one decky per macvlan LAN until deckhand sets a vendor's MAC per decky",
            ),
            Some("ipvlan") => (
                "one MAC, the parent interface's, for every address",
                "use macvlan for deckies that share a LAN, or one decky per ipvlan LAN",
            ),
            _ => continue,
        };
        let mut deckies = deckies;
        deckies.dedup();
        if deckies.len() < 2 {
            continue;
        }
        for d in &deckies {
            let others: Vec<String> = deckies.iter().filter(|o| *o != d).cloned().collect();
            out.push(Finding {
                decky: d.clone(),
                file: None,
                kind: Kind::SameMacVendor,
                message: format!(
                    "on LAN {lan} it shows {seen}, like {}: an ARP scan lists them as one vendor",
                    listed(&others)
                ),
                fix: fix.to_string(),
            });
        }
    }
    out
}
