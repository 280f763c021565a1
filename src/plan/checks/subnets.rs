//! A network to create whose subnet overlaps another network of the engine.

use crate::config::values::Cidr;
use crate::live::LiveState;

use super::{Action, Change, Detail, Problem};

/// The problem of the network `change` creates, if any.
pub fn check(live: &LiveState, change: &Change) -> Vec<Problem> {
    let spec = match (&change.action, &change.detail) {
        (Action::Create, Detail::Network(spec)) => spec,
        (Action::Replace, Detail::NetworkReplace { spec, .. }) => spec,
        _ => return Vec::new(),
    };
    let Some(subnet) = &spec.subnet else {
        return Vec::new();
    };
    let Ok(mine) = Cidr::parse(subnet) else {
        return Vec::new();
    };
    let others = live.network_specs.values().filter(|n| n.name != spec.name);
    others
        .filter_map(|n| {
            let theirs = n.subnet.as_ref()?;
            overlap(&mine, &Cidr::parse(theirs).ok()?).then(|| Problem::SubnetOverlaps {
                network: spec.name.clone(),
                subnet: subnet.clone(),
                other: n.name.clone(),
                other_subnet: theirs.clone(),
            })
        })
        .collect()
}

/// Two CIDR blocks are nested or apart: they overlap when either holds the
/// other's first address.
fn overlap(a: &Cidr, b: &Cidr) -> bool {
    a.contains(b.addr) || b.contains(a.addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Cidr {
        Cidr::parse(s).unwrap()
    }

    #[test]
    fn nested_blocks_overlap_and_neighbours_do_not() {
        assert!(overlap(&cidr("10.1.0.0/16"), &cidr("10.1.2.0/24")));
        assert!(overlap(&cidr("10.1.2.0/24"), &cidr("10.1.0.0/16")));
        assert!(!overlap(&cidr("10.1.2.0/24"), &cidr("10.1.3.0/24")));
        assert!(!overlap(&cidr("10.1.2.0/24"), &cidr("fd00::/64")));
    }
}
