//! Several engines (SPEC §6): which engine each decky runs on, and the desired
//! state split into one part per engine.
//!
//! Every other module works on one engine's [`DesiredState`]; this is the only
//! place that knows a fleet can span several.

use std::collections::BTreeMap;

use crate::desired::DesiredState;
use crate::engine::TlsFiles;

/// The host every decky runs on unless it names another, and where singletons run.
pub const LOCAL: &str = "local";

/// One engine of the fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSpec {
    pub name: String,
    /// `None`: `--docker-host`, else `DOCKER_HOST`, else the local socket
    /// (the `local` host, unless `[hosts.local]` names an engine).
    pub docker_host: Option<String>,
    pub tls: Option<TlsFiles>,
}

impl HostSpec {
    /// The URL to reach this engine at: its own, else for `local` the default
    /// (`--docker-host`; then `DOCKER_HOST` or the local socket decide).
    pub fn url<'a>(&'a self, default: Option<&'a str>) -> Option<&'a str> {
        match (&self.docker_host, self.name.as_str()) {
            (Some(url), _) => Some(url),
            (None, LOCAL) => default,
            (None, _) => None,
        }
    }

    pub fn local() -> HostSpec {
        HostSpec {
            name: LOCAL.to_string(),
            docker_host: None,
            tls: None,
        }
    }
}

/// The engines of a fleet and which decky runs where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hosts {
    /// Every engine, `local` included, by name.
    pub specs: BTreeMap<String, HostSpec>,
    /// Decky name to host name, for deckies not on `local`.
    pub placement: BTreeMap<String, String>,
}

impl Default for Hosts {
    fn default() -> Hosts {
        Hosts {
            specs: [(LOCAL.to_string(), HostSpec::local())].into(),
            placement: BTreeMap::new(),
        }
    }
}

/// One engine and what should run on it.
#[derive(Debug, Clone)]
pub struct Part {
    pub host: HostSpec,
    pub desired: DesiredState,
}

impl Hosts {
    /// Whether the fleet spans more than the one engine.
    pub fn several(&self) -> bool {
        self.specs.len() > 1
    }

    pub fn host_of(&self, decky: &str) -> &str {
        self.placement
            .get(decky)
            .map(String::as_str)
            .unwrap_or(LOCAL)
    }

    /// Every engine of the fleet, `local` first, then by name.
    pub fn engines(&self) -> Vec<&HostSpec> {
        let mut engines: Vec<&HostSpec> = self.specs.values().collect();
        engines.sort_by_key(|h| (h.name != LOCAL, h.name.as_str()));
        engines
    }

    /// One part per engine, `local` first, then by name. Every engine gets a
    /// part even when nothing should run on it, so that what was moved away
    /// from it is destroyed. Singletons run on `local`.
    pub fn split(&self, desired: DesiredState) -> Vec<Part> {
        let names = self.engines().into_iter().map(|h| &h.name);
        let mut rest = desired;
        let mut parts = Vec::with_capacity(self.specs.len());
        for name in names {
            let here =
                |decky: Option<&str>| decky.map(|d| self.host_of(d)).unwrap_or(LOCAL) == name;
            let containers = std::mem::take(&mut rest.containers);
            let files = std::mem::take(&mut rest.files);
            let deckies = std::mem::take(&mut rest.deckies);
            // What is left is small: networks, budgets, the fleet's settings.
            let mut part = rest.clone();
            (part.containers, rest.containers) = containers
                .into_iter()
                .partition(|c| here(c.decky.as_deref()));
            (part.files, rest.files) = files.into_iter().partition(|f| here(Some(&f.decky)));
            (part.deckies, rest.deckies) = deckies.into_iter().partition(|d| here(Some(d)));
            let host = self.specs[name].clone();
            parts.push(Part {
                host,
                desired: part,
            });
        }
        parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::{ContainerSpec, Role};

    fn desired() -> DesiredState {
        let containers = vec![
            ContainerSpec::minimal("a", Role::Base, Some("a"), None, "img"),
            ContainerSpec::minimal("a-ssh", Role::Service, Some("a"), Some("ssh"), "img"),
            ContainerSpec::minimal("b", Role::Base, Some("b"), None, "img"),
            ContainerSpec::minimal("t-sniffer", Role::Singleton, None, Some("sniffer"), "img"),
        ];
        DesiredState::of("t", containers, &["a", "b"])
    }

    fn names(part: &Part) -> Vec<&str> {
        part.desired
            .containers
            .iter()
            .map(|c| c.name.as_str())
            .collect()
    }

    #[test]
    fn one_engine_gets_everything() {
        let parts = Hosts::default().split(desired());
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].host.name, "local");
        assert_eq!(names(&parts[0]), ["a", "a-ssh", "b", "t-sniffer"]);
    }

    #[test]
    fn deckies_go_to_their_host_with_their_services_and_singletons_stay_local() {
        let mut hosts = Hosts::default();
        for name in ["edge", "empty"] {
            hosts.specs.insert(
                name.into(),
                HostSpec {
                    name: name.into(),
                    docker_host: Some(format!("tcp://{name}:2376")),
                    tls: None,
                },
            );
        }
        hosts.placement.insert("a".into(), "edge".into());
        let parts = hosts.split(desired());
        let hosts: Vec<&str> = parts.iter().map(|p| p.host.name.as_str()).collect();
        assert_eq!(hosts, ["local", "edge", "empty"]);
        assert_eq!(names(&parts[0]), ["b", "t-sniffer"]);
        assert_eq!(parts[0].desired.deckies, ["b"]);
        assert_eq!(names(&parts[1]), ["a", "a-ssh"]);
        assert_eq!(parts[1].desired.deckies, ["a"]);
        assert!(
            names(&parts[2]).is_empty(),
            "an engine with nothing placed on it still gets a part"
        );
    }
}
