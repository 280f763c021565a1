//! Static addresses: held by another container on that network, or outside
//! the network's subnet.

use std::net::IpAddr;

use crate::config::values::Cidr;
use crate::desired::DesiredState;
use crate::live::LiveState;

use super::{created, decky_of, Change, Detail, Problem};

/// The problems of the addresses `change` asks for.
pub fn check(desired: &DesiredState, live: &LiveState, change: &Change) -> Vec<Problem> {
    let (container, asked) = match (created(change), &change.detail) {
        (Some(spec), _) => (spec.name.clone(), spec.joins()),
        (None, Detail::Lans(l)) => (l.container.clone(), l.attach.clone()),
        _ => return Vec::new(),
    };
    let decky = decky_of(change);
    let mut problems = Vec::new();
    for (network, ip) in asked.into_iter().filter(|(_, ip)| !ip.is_empty()) {
        if let Some(subnet) = outside(desired, live, &network, &ip) {
            problems.push(Problem::AddressOutside {
                decky: decky.clone(),
                container: container.clone(),
                network,
                ip,
                subnet,
            });
            continue;
        }
        let holder = live.engine.others.iter().find(|n| {
            n.addresses
                .get(&network)
                .is_some_and(|held| held.contains(&ip))
        });
        if let Some(holder) = holder {
            problems.push(Problem::AddressHeld {
                decky: decky.clone(),
                container: container.clone(),
                network,
                ip,
                holder: holder.name.clone(),
            });
        }
    }
    problems
}

/// The subnet of `network` when `ip` is outside it: the file's subnet for a
/// network it declares, else the engine's.
fn outside(desired: &DesiredState, live: &LiveState, network: &str, ip: &str) -> Option<String> {
    let subnet = match desired.networks.get(network) {
        Some(declared) => declared.subnet.as_ref(),
        None => live.network_specs.get(network)?.subnet.as_ref(),
    }?;
    let cidr = Cidr::parse(subnet).ok()?;
    let addr: IpAddr = ip.parse().ok()?;
    (!cidr.contains(addr)).then(|| subnet.clone())
}
