//! `deckhand import`: the `deckhand.toml` that describes a fleet DECNET's
//! docker-compose deployed, read from its live containers, so that `plan`
//! finds them matching and `apply --adopt` takes them over without a recreate.

mod catalog;
mod disguise;
pub mod networks;
mod text;
mod write;

use std::collections::BTreeMap;

use crate::adopt;
use crate::desired::Role;
use crate::engine::{ContainerDetails, ContainerInfo, Engine, EngineError, ImageDefaults};

pub use write::to_toml;

/// One DECNET decky as found on the engine.
pub struct FoundDecky {
    pub name: String,
    pub base: (ContainerDetails, ImageDefaults),
    /// Service name, container, image defaults.
    pub services: Vec<(String, ContainerDetails, ImageDefaults)>,
}

/// What import found: the deckies, and a warning for each one left out.
pub struct Found {
    pub deckies: Vec<FoundDecky>,
    pub warnings: Vec<String>,
}

/// Every DECNET decky on the engine: its services (by DECNET's labels), its
/// base (named after the decky), and the defaults of every image they run.
pub async fn find(engine: &Engine) -> Result<Found, EngineError> {
    let all = engine.list_containers(None).await?;
    let mut services: BTreeMap<&str, Vec<&ContainerInfo>> = BTreeMap::new();
    for c in all.iter().filter(|c| adopt::is_decnet_service(c)) {
        if let Some((decky, _)) = adopt::decnet_service_of(&c.labels) {
            services.entry(decky).or_default().push(c);
        }
    }
    let mut images = BTreeMap::new();
    let mut found = Found {
        deckies: Vec::new(),
        warnings: Vec::new(),
    };
    for (decky, svcs) in services {
        let mut details = Vec::new();
        for c in svcs {
            if let Some(d) = engine.container_details(&c.id).await? {
                let service = adopt::decnet_service_of(&c.labels).map(|(_, s)| s.clone());
                details.push((service.unwrap_or_default(), d));
            }
        }
        // The base is the container whose network namespace the services
        // join (DECNET's topology names it decnet_t_<id8>_<decky>).
        let joined = details
            .iter()
            .find_map(|(_, d)| d.network_mode.strip_prefix("container:"));
        let base = match joined {
            Some(id) => engine.container_details(id).await?,
            None => engine.container_details(decky).await?,
        };
        let Some(base) = base else {
            found.warnings.push(format!("decky {decky}: its services are live but its base container {decky} is not; left out"));
            continue;
        };
        details.sort_by(|a, b| a.0.cmp(&b.0));
        for image in std::iter::once(&base.image).chain(details.iter().map(|(_, d)| &d.image)) {
            if !images.contains_key(image) {
                images.insert(image.clone(), engine.image_defaults(image).await?);
            }
        }
        if let Some(why) = inexpressible(decky, &base, &details) {
            found.warnings.push(why);
            continue;
        }
        let with_defaults = |(s, d): (String, ContainerDetails)| {
            let defaults = images[&d.image].clone();
            (s, d, defaults)
        };
        found.deckies.push(FoundDecky {
            name: decky.to_string(),
            base: (base.clone(), images[&base.image].clone()),
            services: details.into_iter().map(with_defaults).collect(),
        });
    }
    Ok(found)
}

/// Why decky `decky` is left out: one of its containers has a setting the
/// file cannot express, which adoption would then lose (SPEC §7).
fn inexpressible(
    decky: &str,
    base: &ContainerDetails,
    services: &[(String, ContainerDetails)],
) -> Option<String> {
    let parts =
        std::iter::once((Role::Base, base)).chain(services.iter().map(|(_, d)| (Role::Service, d)));
    for (role, c) in parts {
        let settings = adopt::unexpressed(role, c);
        if !settings.is_empty() {
            return Some(format!(
                "decky {decky} left out: its container {} sets {}, which deckhand.toml cannot express (adopting it would lose that)",
                c.name,
                settings.join(", ")
            ));
        }
    }
    None
}
