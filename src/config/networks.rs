//! Rules for `[networks.NAME]` and for a decky's static address on one.

use std::collections::BTreeMap;
use std::net::IpAddr;

use toml::Spanned;

use super::merge::Named;
use super::raw::{RawDecky, RawNetwork};
use super::validate::{Validator, DEFAULT_NETWORK};
use super::values::Cidr;
use crate::desired::NetworkSpec;

const DRIVERS: [&str; 3] = ["bridge", "macvlan", "ipvlan"];
const IPVLAN_MODES: [&str; 3] = ["l2", "l3", "l3s"];

impl Validator<'_> {
    /// Checks every declared network and keeps it, with its parsed subnet.
    pub fn networks(&mut self, networks: &BTreeMap<String, Named<RawNetwork>>) {
        for (name, n) in networks {
            let raw = n.value.get_ref();
            let driver = self.driver(name, n);
            let subnet = raw
                .subnet
                .as_ref()
                .and_then(|s| match Cidr::parse(s.get_ref()) {
                    Ok(c) => Some(c),
                    Err(m) => {
                        self.ctx
                            .err(n.src, &s.span(), format!("network '{name}': {m}"));
                        None
                    }
                });
            if let Some(g) = &raw.gateway {
                self.gateway(name, n.src, g, subnet, raw);
            }
            if let Some(r) = &raw.ip_range {
                self.ip_range(name, n.src, r, subnet);
            }
            self.driver_keys(name, n.src, raw, &driver);
            self.network_maps(name, n.src, raw);
            let value = |v: &Option<Spanned<String>>| v.as_ref().map(|s| s.get_ref().clone());
            let map = |v: &Option<Spanned<BTreeMap<String, String>>>| {
                v.as_ref().map(|m| m.get_ref().clone()).unwrap_or_default()
            };
            let spec = NetworkSpec {
                name: name.clone(),
                driver,
                subnet: value(&raw.subnet),
                gateway: value(&raw.gateway),
                ip_range: value(&raw.ip_range),
                parent: value(&raw.parent),
                ipvlan_mode: value(&raw.ipvlan_mode),
                internal: raw.internal.as_ref().is_some_and(|i| *i.get_ref()),
                options: map(&raw.options),
                labels: map(&raw.labels),
            };
            self.networks.insert(name.clone(), (subnet, spec));
        }
    }

    /// The network's driver, one of [`DRIVERS`] (default bridge).
    fn driver(&mut self, name: &str, n: &Named<RawNetwork>) -> String {
        let raw = n.value.get_ref();
        let driver = raw.driver.as_ref().map(|d| d.get_ref().as_str());
        let driver = driver.unwrap_or("bridge");
        if !DRIVERS.contains(&driver) {
            let span = raw
                .driver
                .as_ref()
                .map(|d| d.span())
                .unwrap_or(n.key.span());
            self.ctx.err_help(
                n.src,
                &span,
                format!("network '{name}': unknown driver '{driver}'"),
                "use one of: bridge, macvlan, ipvlan",
            );
        }
        driver.to_string()
    }

    /// `parent` belongs to macvlan and ipvlan, `ipvlan_mode` to ipvlan only.
    fn driver_keys(&mut self, name: &str, src: usize, raw: &RawNetwork, driver: &str) {
        if let (Some(p), "bridge") = (&raw.parent, driver) {
            self.ctx.err_help(
                src,
                &p.span(),
                format!("network '{name}': parent is for macvlan and ipvlan networks only"),
                "remove parent, or set driver = \"macvlan\"",
            );
        }
        let Some(mode) = &raw.ipvlan_mode else { return };
        if driver != "ipvlan" {
            self.ctx.err_help(
                src,
                &mode.span(),
                format!("network '{name}': ipvlan_mode is for ipvlan networks only"),
                "remove ipvlan_mode, or set driver = \"ipvlan\"",
            );
        } else if !IPVLAN_MODES.contains(&mode.get_ref().as_str()) {
            self.ctx.err_help(
                src,
                &mode.span(),
                format!("network '{name}': unknown ipvlan_mode '{}'", mode.get_ref()),
                "use one of: l2, l3, l3s",
            );
        }
    }

    /// Driver options and labels: `parent` and `ipvlan_mode` have their own
    /// keys, and `deckhand.*` labels are deckhand's.
    fn network_maps(&mut self, name: &str, src: usize, raw: &RawNetwork) {
        if let Some(options) = &raw.options {
            for key in ["parent", "ipvlan_mode"] {
                if options.get_ref().contains_key(key) {
                    self.ctx.err_help(
                        src,
                        &options.span(),
                        format!("network '{name}': option '{key}' has its own key"),
                        format!("write {key} = \"...\" in [networks.{name}], not under options"),
                    );
                }
            }
        }
        let Some(labels) = &raw.labels else { return };
        if let Some(key) = labels.get_ref().keys().find(|k| k.starts_with("deckhand.")) {
            self.ctx.err_help(
                src,
                &labels.span(),
                format!("network '{name}': label '{key}' is reserved"),
                "labels starting with deckhand. are deckhand's own; choose another name",
            );
        }
    }

    /// An ip_range is a CIDR inside the network's subnet.
    fn ip_range(&mut self, name: &str, src: usize, r: &Spanned<String>, subnet: Option<Cidr>) {
        let range = match Cidr::parse(r.get_ref()) {
            Ok(c) => c,
            Err(m) => {
                self.ctx
                    .err(src, &r.span(), format!("network '{name}': ip_range: {m}"));
                return;
            }
        };
        match subnet {
            None => self.ctx.err_help(
                src,
                &r.span(),
                format!("network '{name}': an ip_range needs a subnet"),
                "add subnet = \"a.b.c.0/24\"",
            ),
            Some(s) if !s.contains_cidr(&range) => self.ctx.err(
                src,
                &r.span(),
                format!(
                    "network '{name}': ip_range {} is outside the subnet",
                    r.get_ref()
                ),
            ),
            _ => {}
        }
    }

    /// A gateway is an address inside the network's subnet.
    fn gateway(
        &mut self,
        name: &str,
        src: usize,
        g: &Spanned<String>,
        subnet: Option<Cidr>,
        raw: &RawNetwork,
    ) {
        let Ok(ip) = g.get_ref().parse::<IpAddr>() else {
            let message = format!(
                "network '{name}': invalid gateway address '{}'",
                g.get_ref()
            );
            self.ctx.err(src, &g.span(), message);
            return;
        };
        match subnet {
            Some(c) if !c.contains(ip) => {
                let declared = raw
                    .subnet
                    .as_ref()
                    .map(|s| s.get_ref().as_str())
                    .unwrap_or_default();
                let message =
                    format!("network '{name}': gateway {ip} is outside subnet {declared}");
                self.ctx.err(src, &g.span(), message);
            }
            None => self.ctx.err_help(
                src,
                &g.span(),
                format!("network '{name}': a gateway needs a subnet"),
                "add subnet = \"a.b.c.0/24\"",
            ),
            _ => {}
        }
    }

    /// Where a decky's base joins: its one network (its address is in `ip`),
    /// or its LANs with their addresses (`networks`, which excludes both).
    pub fn joins(
        &mut self,
        decky: &str,
        src: usize,
        raw: &RawDecky,
        fleet_network: &str,
    ) -> (Option<String>, BTreeMap<String, String>) {
        let Some(lans) = &raw.networks else {
            let network = raw.network.as_ref().map(|n| n.get_ref().clone());
            let network = network.unwrap_or_else(|| fleet_network.to_string());
            if let Some(ip) = &raw.ip {
                self.ip(decky, src, ip, &network);
            }
            return (Some(network), BTreeMap::new());
        };
        if raw.network.is_some() || raw.ip.is_some() {
            self.ctx.err_help(
                src,
                &lans.span(),
                format!("decky '{decky}': networks excludes network and ip"),
                "name every LAN under networks, with its address: networks = { lan_a = \"10.1.0.5\" }",
            );
        }
        if lans.get_ref().is_empty() {
            self.ctx.err_help(
                src,
                &lans.span(),
                format!("decky '{decky}': networks is empty"),
                "name at least one network, or remove networks to join the fleet's",
            );
        }
        let mut out = BTreeMap::new();
        for (net, ip) in lans.get_ref() {
            if !ip.get_ref().is_empty() {
                self.ip(decky, src, ip, net.get_ref());
            }
            out.insert(net.get_ref().clone(), ip.get_ref().clone());
        }
        (None, out)
    }

    /// A decky's static address: valid, inside its network's subnet, not the
    /// gateway, and given to no other decky on that network.
    pub fn ip(&mut self, decky: &str, src: usize, ip: &Spanned<String>, network: &str) {
        let Ok(addr) = ip.get_ref().parse::<IpAddr>() else {
            let message = format!("decky '{decky}': invalid ip address '{}'", ip.get_ref());
            self.ctx.err(src, &ip.span(), message);
            return;
        };
        match self.networks.get(network) {
            Some((Some(subnet), spec)) => {
                let problem = if !subnet.contains(addr) {
                    let declared = spec.subnet.as_deref().unwrap_or_default();
                    Some(format!("decky '{decky}': ip {addr} is outside subnet {declared} of network '{network}'"))
                } else if spec.gateway.as_deref() == Some(ip.get_ref().as_str()) {
                    Some(format!(
                        "decky '{decky}': ip {addr} is the gateway of network '{network}'"
                    ))
                } else {
                    None
                };
                if let Some(message) = problem {
                    self.ctx.err(src, &ip.span(), message);
                }
            }
            None if network == DEFAULT_NETWORK => {
                self.ctx.err_help(src, &ip.span(), format!("decky '{decky}': a static ip needs a user-defined network, and this decky is on Docker's default 'bridge'"), "declare [networks.NAME] with a subnet and set network = \"NAME\" in [fleet] or on the decky");
            }
            _ => {}
        }
        let at = self.ctx.at(src, &ip.span());
        let key = (network.to_string(), addr);
        match self.ips.get(&key) {
            Some(other) => {
                let message = format!(
                    "decky '{decky}': ip {addr} on network '{network}' is already given to {other}"
                );
                let help = "give each decky its own address on a network (or leave ip out for one the engine picks)";
                self.ctx.err_help(src, &ip.span(), message, help);
            }
            None => {
                self.ips.insert(key, format!("decky '{decky}' at {at}"));
            }
        }
    }
}
