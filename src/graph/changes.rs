//! The picture of what a plan changes: only the networks, deckies, services
//! and singletons it acts on (each marked with its action), the decky a
//! changed service or file belongs to, and the LANs a changed base joins.
//! Files are counted on their decky, never named.

use std::collections::BTreeMap;

use super::{Graph, Kind};
use crate::desired::ContainerSpec;
use crate::plan::{Change, Detail, Object, Plan};

/// The picture of `plan`'s changes; empty when it changes nothing.
pub fn of_plan(plan: &Plan) -> Graph {
    let mut g = Graph::default();
    let mut files: BTreeMap<String, usize> = BTreeMap::new();
    for c in &plan.changes {
        match &c.object {
            Object::Network { name } => {
                let id = lan(&mut g, name);
                g.mark(&id, c.action);
            }
            Object::Decky { decky } => {
                let id = decky_node(&mut g, decky, spec(c));
                g.mark(&id, c.action);
                lans(&mut g, &id, c);
            }
            Object::Service { decky, service } => {
                let d = decky_node(&mut g, decky, None);
                let key = format!("{decky} {service}");
                let id = g.node(Kind::Service, &key, service_label(&key, spec(c)));
                g.edge(&d, &id, None);
                g.mark(&id, c.action);
            }
            Object::Singleton { service } => {
                let id = g.node(Kind::Singleton, service, service_label(service, spec(c)));
                g.mark(&id, c.action);
                lans(&mut g, &id, c);
            }
            Object::File { decky, .. } => {
                decky_node(&mut g, decky, None);
                *files.entry(decky.clone()).or_default() += 1;
            }
        }
    }
    for n in &mut g.nodes {
        if let Some(count) = files.get(&n.label[0]).filter(|_| n.kind == Kind::Decky) {
            n.label.push(format!("files changed: {count}"));
        }
    }
    g
}

fn spec(c: &Change) -> Option<&ContainerSpec> {
    match &c.detail {
        Detail::Container { spec, .. } => spec.as_deref(),
        _ => None,
    }
}

fn lan(g: &mut Graph, name: &str) -> String {
    g.node(Kind::Lan, name, vec![name.to_string()])
}

/// The node of `decky`; its persona when a create or replace names one.
fn decky_node(g: &mut Graph, decky: &str, spec: Option<&ContainerSpec>) -> String {
    let id = g.node(Kind::Decky, decky, vec![decky.to_string()]);
    let persona = spec.and_then(|s| s.settings.persona.as_ref());
    if let (Some(p), Some(n)) = (persona, g.nodes.iter_mut().find(|n| n.id == id)) {
        let line = format!("persona {p}");
        if !n.label.contains(&line) {
            n.label.insert(1, line);
        }
    }
    id
}

/// Joins `id` to the LANs the change's container joins (a created or
/// replaced one) or is joined to and left (a live LAN change).
fn lans(g: &mut Graph, id: &str, c: &Change) {
    let nets: Vec<(String, String)> = match &c.detail {
        Detail::Container { spec: Some(s), .. } => s.joins().into_iter().collect(),
        Detail::Lans(l) => l
            .attach
            .iter()
            .map(|(n, ip)| (n.clone(), ip.clone()))
            .chain(l.detach.iter().map(|n| (n.clone(), "leaves".to_string())))
            .collect(),
        _ => vec![],
    };
    for (net, ip) in nets {
        let lan = lan(g, &net);
        g.edge(&lan, id, Some(ip).filter(|ip| !ip.is_empty()));
    }
}

fn service_label(key: &str, spec: Option<&ContainerSpec>) -> Vec<String> {
    let mut label = vec![key.to_string()];
    if let Some(s) = spec.filter(|s| !s.ports.is_empty()) {
        let ports: Vec<String> = s.ports.iter().map(u16::to_string).collect();
        label.push(format!("ports {}", ports.join(", ")));
    }
    label
}
