//! The picture of the decoy network (SPEC §11): LANs, deckies with their
//! persona, services with their ports, and the host ports published to them.
//! A [`Graph`] is plain data, made from the file ([`Graph::of_desired`]) or
//! from what a plan changes (`changes`), and drawn by `mermaid` or `dot`.

pub mod changes;
pub mod dot;
pub mod mermaid;

use crate::desired::{ContainerSpec, DesiredState, Role};
use crate::plan::Action;

/// What a node stands for; each kind is drawn in its own shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The engine's host, where ports are published.
    Host,
    Lan,
    Decky,
    Service,
    /// A fleet-wide singleton service.
    Singleton,
}

/// One node: a stable id (letters, digits and `_` only: never from a name)
/// and the lines of its label, as they came (drawing escapes them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    pub kind: Kind,
    pub label: Vec<String>,
    /// In a picture of a plan: what the plan does to it (`None`: unchanged, shown for context).
    pub action: Option<Action>,
}

/// An undirected edge between two node ids, with an optional label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub label: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

impl Graph {
    /// Adds a node of `kind` keyed by `key` (its id is made from the kind and
    /// a counter), or returns the id of the one already there.
    pub fn node(&mut self, kind: Kind, key: &str, label: Vec<String>) -> String {
        let prefix = prefix(kind);
        if let Some(n) = self
            .nodes
            .iter()
            .find(|n| n.kind == kind && n.label.first().map(String::as_str) == Some(key))
        {
            return n.id.clone();
        }
        let count = self.nodes.iter().filter(|n| n.kind == kind).count();
        let id = format!("{prefix}{count}");
        self.nodes.push(Node {
            id: id.clone(),
            kind,
            label,
            action: None,
        });
        id
    }

    /// Marks node `id` with what a plan does to it; a replace or a delete
    /// outranks a change.
    pub fn mark(&mut self, id: &str, action: Action) {
        if let Some(n) = self.nodes.iter_mut().find(|n| n.id == id) {
            let rank = |a: Option<Action>| match a {
                None => 0,
                Some(Action::Start) | Some(Action::Update) => 1,
                Some(Action::Create) => 2,
                Some(Action::Replace) => 3,
                Some(Action::Delete) => 4,
            };
            if rank(Some(action)) > rank(n.action) {
                n.action = Some(action);
            }
        }
    }

    pub fn edge(&mut self, from: &str, to: &str, label: Option<String>) {
        let e = Edge {
            from: from.into(),
            to: to.into(),
            label,
        };
        if !self.edges.contains(&e) {
            self.edges.push(e);
        }
    }

    /// The whole fleet the file describes.
    pub fn of_desired(desired: &DesiredState) -> Graph {
        let mut g = Graph::default();
        for name in desired.networks.keys() {
            g.lan(name, desired);
        }
        for c in &desired.containers {
            match c.role {
                Role::Base => {
                    g.decky(c, desired);
                }
                Role::Service => {
                    let Some(decky) = c.decky.as_deref() else {
                        continue;
                    };
                    let Some(base) = desired
                        .containers
                        .iter()
                        .find(|b| b.role == Role::Base && b.decky.as_deref() == Some(decky))
                    else {
                        continue;
                    };
                    let d = g.decky(base, desired);
                    g.service(&d, c);
                }
                Role::Singleton => {
                    g.singleton(c, desired);
                }
            }
        }
        g
    }

    /// The node of LAN `name`, labelled with its driver and subnet.
    pub fn lan(&mut self, name: &str, desired: &DesiredState) -> String {
        let mut label = vec![name.to_string()];
        if let Some(n) = desired.networks.get(name) {
            label.push(match &n.subnet {
                Some(s) => format!("{} {s}", n.driver),
                None => n.driver.clone(),
            });
        }
        self.node(Kind::Lan, name, label)
    }

    /// The node of a decky's base, joined to its LANs (by address) and to
    /// the host by the ports it publishes.
    pub fn decky(&mut self, base: &ContainerSpec, desired: &DesiredState) -> String {
        let name = base.decky.clone().unwrap_or_else(|| base.name.clone());
        let mut label = vec![name.clone()];
        if let Some(h) = base.hostname.as_deref().filter(|h| *h != name) {
            label.push(format!("hostname {h}"));
        }
        if let Some(p) = &base.settings.persona {
            label.push(format!("persona {p}"));
        }
        let known = self
            .nodes
            .iter()
            .find(|n| n.kind == Kind::Decky && n.label[0] == name);
        if let Some(n) = known {
            return n.id.clone();
        }
        let id = self.node(Kind::Decky, &name, label);
        for (net, ip) in base.joins() {
            let lan = self.lan(&net, desired);
            self.edge(&lan, &id, Some(ip).filter(|ip| !ip.is_empty()));
        }
        for p in &base.publish {
            let host = self.node(Kind::Host, "host", vec!["host".into()]);
            self.edge(&host, &id, Some(format!("publish {p}")));
        }
        id
    }

    /// The node of a decky's service, joined to its decky.
    pub fn service(&mut self, decky: &str, c: &ContainerSpec) -> String {
        let name = c.service.clone().unwrap_or_else(|| c.name.clone());
        let id = self.node(
            Kind::Service,
            &c.name,
            service_label(&c.name, &name, &c.ports),
        );
        self.edge(decky, &id, None);
        id
    }

    /// The node of a fleet singleton, joined to its network.
    pub fn singleton(&mut self, c: &ContainerSpec, desired: &DesiredState) -> String {
        let name = c.service.clone().unwrap_or_else(|| c.name.clone());
        let id = self.node(
            Kind::Singleton,
            &c.name,
            service_label(&c.name, &name, &c.ports),
        );
        for (net, ip) in c.joins() {
            let lan = self.lan(&net, desired);
            self.edge(&lan, &id, Some(ip).filter(|ip| !ip.is_empty()));
        }
        id
    }
}

/// A service's label: its container name (the node's key), the service, its ports.
fn service_label(container: &str, service: &str, ports: &[u16]) -> Vec<String> {
    let mut label = vec![container.to_string(), format!("service {service}")];
    if !ports.is_empty() {
        let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
        label.push(format!("ports {}", ports.join(", ")));
    }
    label
}

fn prefix(kind: Kind) -> &'static str {
    match kind {
        Kind::Host => "host",
        Kind::Lan => "lan",
        Kind::Decky => "decky",
        Kind::Service => "svc",
        Kind::Singleton => "single",
    }
}

/// The word a plan's action is shown as in a picture.
pub fn action_word(action: Action) -> &'static str {
    match action {
        Action::Create => "add",
        Action::Update => "change",
        Action::Replace => "replace",
        Action::Delete => "destroy",
        Action::Start => "start",
    }
}
