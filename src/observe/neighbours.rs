//! What else the engine holds that a plan's steps could run into (SPEC §4):
//! other containers' addresses and published ports, host ports bound by
//! processes, and the images the file names that the engine lacks.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::join_all;

use crate::desired::DesiredState;
use crate::engine::{ContainerInfo, Engine, EngineError};

/// The engine's resources beyond this fleet's own containers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineFacts {
    /// Every container that is not this fleet's.
    pub others: Vec<Neighbour>,
    /// Images the file's containers run (not built by deckhand) that the
    /// engine does not have.
    pub missing_images: BTreeSet<String>,
    /// Host ports the file publishes that a process (not a container) holds
    /// on this machine: `(port, proto)`. Known only when the engine is local.
    pub host_bound: BTreeSet<(u16, String)>,
}

/// A container of someone else, as far as a plan can collide with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Neighbour {
    pub name: String,
    /// Network to the addresses it holds or asked for there.
    pub addresses: BTreeMap<String, BTreeSet<String>>,
    /// Host ports it publishes: `(host ip, port, proto)`.
    pub published: Vec<(String, u16, String)>,
}

/// Gathers the facts from the engine's listing `all`; containers named in
/// `ours` (this fleet's, DECNET's under its names) are left out.
pub async fn gather(
    engine: &Engine,
    desired: &DesiredState,
    all: &[ContainerInfo],
    ours: &BTreeSet<&str>,
) -> Result<EngineFacts, EngineError> {
    let others: Vec<Neighbour> = all
        .iter()
        .filter(|c| !ours.contains(c.name.as_str()))
        .map(neighbour)
        .collect();
    let missing_images = missing_images(engine, desired).await?;
    let host_bound = match engine.endpoint().starts_with("unix://") {
        true => host_bound(desired, all),
        false => BTreeSet::new(),
    };
    Ok(EngineFacts {
        others,
        missing_images,
        host_bound,
    })
}

fn neighbour(c: &ContainerInfo) -> Neighbour {
    let mut addresses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (net, ip) in c.addresses.iter().chain(&c.networks) {
        if !ip.is_empty() {
            addresses.entry(net.clone()).or_default().insert(ip.clone());
        }
    }
    Neighbour {
        name: c.name.clone(),
        addresses,
        published: c.published.clone(),
    }
}

/// The images of the file (not built from a context) the engine lacks.
async fn missing_images(
    engine: &Engine,
    desired: &DesiredState,
) -> Result<BTreeSet<String>, EngineError> {
    let images: BTreeSet<&str> = desired
        .containers
        .iter()
        .filter(|c| c.build.is_none())
        .map(|c| c.image.as_str())
        .collect();
    let found = join_all(images.iter().map(|i| engine.image_exists(i))).await;
    let mut missing = BTreeSet::new();
    for (image, found) in images.into_iter().zip(found) {
        if !found? {
            missing.insert(image.to_string());
        }
    }
    Ok(missing)
}

/// The file's host ports that no container publishes and that cannot be
/// bound here: a process of the host holds them.
fn host_bound(desired: &DesiredState, all: &[ContainerInfo]) -> BTreeSet<(u16, String)> {
    let published: BTreeSet<(u16, &str)> = all
        .iter()
        .flat_map(|c| c.published.iter().map(|(_, p, proto)| (*p, proto.as_str())))
        .collect();
    let wanted = desired.containers.iter().flat_map(|c| &c.publish);
    let wanted = wanted.filter_map(|p| crate::plan::checks::parse_publish(p));
    let mut bound = BTreeSet::new();
    for (ip, port, proto) in wanted {
        if published.contains(&(port, proto.as_str())) {
            continue;
        }
        let at = match ip.as_str() {
            "" => "0.0.0.0".to_string(),
            ip => ip.to_string(),
        };
        let result = match proto.as_str() {
            "udp" => std::net::UdpSocket::bind((at.as_str(), port)).map(drop),
            _ => std::net::TcpListener::bind((at.as_str(), port)).map(drop),
        };
        if result.is_err_and(|e| e.kind() == std::io::ErrorKind::AddrInUse) {
            bound.insert((port, proto));
        }
    }
    bound
}
