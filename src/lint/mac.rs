//! Giveaways in MAC addresses: a LAN where several deckies show one vendor.
//! On macvlan a decky shows its base's `mac_address` when the file sets one,
//! else the engine's `02:42:…` (Docker's locally administered prefix, no
//! vendor at all); deckies whose addresses share a vendor prefix (the first
//! three bytes) look like one make of machine. On ipvlan every address shows
//! the parent interface's one MAC. On a bridge LAN only a peer on the same
//! bridge sees them, which the intruder inside already knows.

use std::collections::BTreeMap;

use crate::desired::{ContainerSpec, DesiredState, Role};

use super::{listed, Finding, Kind};

const DOCKER_PREFIX: &str = "02:42";

pub fn findings(desired: &DesiredState) -> Vec<Finding> {
    let mut out = Vec::new();
    for (lan, bases) in by_lan(desired) {
        let driver = desired.networks.get(lan).map(|n| n.driver.as_str());
        match driver {
            Some("macvlan") => out.extend(macvlan(lan, &bases)),
            Some("ipvlan") => out.extend(ipvlan(lan, &bases)),
            _ => {}
        }
    }
    out
}

/// The bases on each LAN, one entry per decky.
fn by_lan(desired: &DesiredState) -> BTreeMap<&str, Vec<&ContainerSpec>> {
    let mut on: BTreeMap<&str, Vec<&ContainerSpec>> = BTreeMap::new();
    for c in desired.containers.iter().filter(|c| c.role == Role::Base) {
        if c.decky.is_none() {
            continue;
        }
        let lans = c
            .lans
            .keys()
            .map(String::as_str)
            .chain(c.network.as_deref());
        for lan in lans {
            let bases = on.entry(lan).or_default();
            if !bases.iter().any(|b| b.decky == c.decky) {
                bases.push(c);
            }
        }
    }
    on
}

/// The vendor prefix a decky shows: its MAC's first three bytes, or
/// Docker's prefix when the file sets none.
fn vendor(base: &ContainerSpec) -> String {
    match &base.settings.mac_address {
        Some(mac) => mac.to_ascii_lowercase().chars().take(8).collect(),
        None => DOCKER_PREFIX.to_string(),
    }
}

fn macvlan(lan: &str, bases: &[&ContainerSpec]) -> Vec<Finding> {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for b in bases {
        let decky = b.decky.clone().unwrap_or_default();
        groups.entry(vendor(b)).or_default().push(decky);
    }
    let fix = "give each decky on the LAN a mac_address (on its base) with another vendor's \
               prefix, one that fits its persona";
    let mut out = Vec::new();
    for (prefix, deckies) in groups {
        let seen = match prefix.as_str() {
            DOCKER_PREFIX => "Docker's MAC prefix 02:42 (no vendor: a container)".to_string(),
            p => format!("the MAC vendor prefix {p}"),
        };
        out.extend(shared(lan, &deckies, &seen, fix));
    }
    out
}

fn ipvlan(lan: &str, bases: &[&ContainerSpec]) -> Vec<Finding> {
    let deckies: Vec<String> = bases.iter().filter_map(|b| b.decky.clone()).collect();
    let seen = "one MAC, the parent interface's, for every address";
    let fix = "use macvlan for deckies that share a LAN, or one decky per ipvlan LAN";
    shared(lan, &deckies, seen, fix)
}

/// One finding per decky of a group of two or more that show one vendor.
fn shared(lan: &str, deckies: &[String], seen: &str, fix: &str) -> Vec<Finding> {
    if deckies.len() < 2 {
        return Vec::new();
    }
    deckies
        .iter()
        .map(|d| {
            let others: Vec<String> = deckies.iter().filter(|o| *o != d).cloned().collect();
            Finding {
                decky: d.clone(),
                file: None,
                kind: Kind::SameMacVendor,
                message: format!(
                    "on LAN {lan} it shows {seen}, like {}: an ARP scan lists them as one vendor",
                    listed(&others)
                ),
                fix: fix.to_string(),
            }
        })
        .collect()
}
