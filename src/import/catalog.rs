//! The `[services.NAME]` entries import writes: for each service, what the
//! deckies running it share, with values naming a decky as placeholders.

use std::collections::BTreeMap;

use crate::adopt::observed_spec;
use crate::desired::{ContainerSpec, Logging, Role};
use crate::engine::{ContainerDetails, ImageDefaults};
use crate::settings::Settings;

use super::disguise::{self, Names};
use super::text::most_common;
use super::FoundDecky;

/// One catalog entry, as written.
pub struct Entry {
    /// Image, command, entrypoint and capabilities of the first decky running it.
    pub spec: ContainerSpec,
    /// Environment every decky running it shares (placeholders in).
    pub env: BTreeMap<String, String>,
    /// Bind mounts, with `{decky}` where the decky's name was.
    pub volumes: Vec<String>,
    pub logging: Option<Logging>,
}

/// The spec a container amounts to in the place of `name`.
pub fn spec_of(
    name: &str,
    role: Role,
    c: &ContainerDetails,
    image: &ImageDefaults,
) -> ContainerSpec {
    observed_spec(
        &ContainerSpec::minimal(name, role, None, None, ""),
        c,
        image,
    )
}

/// What names decky `d`, for placeholders.
pub fn names(d: &FoundDecky) -> Names<'_> {
    let base = &d.base.0;
    Names {
        decky: &d.name,
        hostname: &base.hostname,
        ip: base
            .networks
            .values()
            .flatten()
            .next()
            .map(String::as_str)
            .unwrap_or_default(),
    }
}

/// One run of a service on a decky, read as the catalog would say it.
struct Run<'a> {
    decky: &'a str,
    spec: ContainerSpec,
    env: BTreeMap<String, String>,
    volumes: Vec<String>,
    logging: Option<Logging>,
}

/// One entry per service, from the image most deckies run it with; warnings
/// for deckies whose run differs in what the catalog holds.
pub fn catalog(deckies: &[FoundDecky]) -> (BTreeMap<&str, Entry>, Vec<String>) {
    let mut by_service: BTreeMap<&str, Vec<Run<'_>>> = BTreeMap::new();
    for d in deckies {
        let n = names(d);
        for (svc, c, image) in &d.services {
            let spec = spec_of(svc, Role::Service, c, image);
            let env = spec
                .env
                .iter()
                .map(|(k, v)| (k.clone(), disguise::env_value(v, &n)))
                .collect();
            let volumes = c
                .settings
                .volumes
                .iter()
                .map(|b| disguise::volume(b, &n))
                .collect();
            let run = Run {
                decky: &d.name,
                spec,
                env,
                volumes,
                logging: c.settings.logging.clone(),
            };
            by_service.entry(svc).or_default().push(run);
        }
    }
    let mut warnings = Vec::new();
    let mut catalog = BTreeMap::new();
    for (svc, runs) in by_service {
        let image = most_common(runs.iter().map(|r| r.spec.image.as_str())).unwrap_or_default();
        let first = runs
            .iter()
            .find(|r| r.spec.image == image)
            .expect("a service runs somewhere");
        for r in &runs {
            if shape(r) != shape(first) {
                warnings.push(format!("service {svc} on decky {} differs from the others in command, volumes, logging or another setting: the plan will replace it", r.decky));
            }
        }
        let shared = |(k, v): &(&String, &String)| runs.iter().all(|r| r.env.get(*k) == Some(*v));
        let env = first
            .env
            .iter()
            .filter(shared)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let entry = Entry {
            spec: first.spec.clone(),
            env,
            volumes: first.volumes.clone(),
            logging: first.logging.clone(),
        };
        catalog.insert(svc, entry);
    }
    (catalog, warnings)
}

type Shape<'a> = (
    &'a Option<Vec<String>>,
    &'a Option<Vec<String>>,
    Settings,
    &'a [String],
    &'a Option<Logging>,
);

/// What the catalog entry fixes for every decky running the service (a
/// decky's own image is written as its `service_image`).
fn shape<'a>(r: &'a Run<'_>) -> Shape<'a> {
    let s = &r.spec;
    (
        &s.command,
        &s.entrypoint,
        Settings {
            volumes: Vec::new(),
            logging: None,
            ..(*s.settings).clone()
        },
        &r.volumes,
        &r.logging,
    )
}
