//! One thing apply would fail on, as data; its words are drawn from it.

use serde::Serialize;

/// What stands in the way of a plan's step, and who holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "check", rename_all = "snake_case")]
pub enum Problem {
    /// `[fleet] pull = "never"` and the engine lacks the image.
    ImageMissing {
        image: String,
        containers: Vec<String>,
    },
    /// Another container holds the address on that network.
    AddressHeld {
        decky: String,
        container: String,
        network: String,
        ip: String,
        holder: String,
    },
    /// The address is not in the network's subnet.
    AddressOutside {
        decky: String,
        container: String,
        network: String,
        ip: String,
        subnet: String,
    },
    /// Another container publishes the host port.
    PortPublished {
        decky: String,
        container: String,
        port: String,
        holder: String,
    },
    /// A process of the host (not a container) holds the port.
    PortBound {
        decky: String,
        container: String,
        port: String,
    },
    /// A network to create overlaps another network of the engine.
    SubnetOverlaps {
        network: String,
        subnet: String,
        other: String,
        other_subnet: String,
    },
}

impl Problem {
    /// What is wrong, naming the decky and the holder.
    pub fn message(&self) -> String {
        match self {
            Problem::ImageMissing { image, containers } => format!(
                "image {image} is not on the engine and [fleet] pull = \"never\"; needed by {}",
                containers.join(", ")
            ),
            Problem::AddressHeld { decky, container, network, ip, holder } => format!(
                "{}: address {ip} on network {network} is already held by container {holder}",
                who(decky, container)
            ),
            Problem::AddressOutside { decky, container, network, ip, subnet } => format!(
                "{}: address {ip} is outside subnet {subnet} of network {network}",
                who(decky, container)
            ),
            Problem::PortPublished { decky, container, port, holder } => format!(
                "{}: host port {port} is already published by container {holder}",
                who(decky, container)
            ),
            Problem::PortBound { decky, container, port } => format!(
                "{}: host port {port} is already bound on this host by a process that is not a container",
                who(decky, container)
            ),
            Problem::SubnetOverlaps { network, subnet, other, other_subnet } => format!(
                "network {network}: subnet {subnet} overlaps subnet {other_subnet} of network {other}"
            ),
        }
    }

    /// What to do about it.
    pub fn help(&self) -> String {
        match self {
            Problem::ImageMissing { image, .. } => format!("put {image} on the engine first (docker pull, docker load or docker build), or set [fleet] pull = \"missing\" to have apply pull it"),
            Problem::AddressHeld { decky, holder, .. } => format!("give decky {decky} another ip, or remove container {holder}"),
            Problem::AddressOutside { subnet, .. } => format!("choose an address inside {subnet}"),
            Problem::PortPublished { holder, .. } => format!("publish another host port, or stop container {holder}"),
            Problem::PortBound { .. } => "publish another host port, or stop what listens there (see `ss -ltnup`)".to_string(),
            Problem::SubnetOverlaps { other, .. } => format!("choose a subnet that no network of the engine uses (`docker network inspect {other}`)"),
        }
    }
}

/// The first line of a plan the checks stopped.
pub fn headline(count: usize) -> String {
    format!("the plan found {count} problem(s) that apply would fail on; nothing was changed:")
}

/// A decky by name, with its container when that says more.
fn who(decky: &str, container: &str) -> String {
    match decky {
        "" => format!("container {container}"),
        d if d == container => format!("decky {d}"),
        d => format!("decky {d} ({container})"),
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}\n    help: {}", self.message(), self.help())
    }
}
