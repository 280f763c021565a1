//! Which containers of the engine are this fleet's: its own (by label), its
//! adopted and not-yet-adopted DECNET ones (by name), and names taken by
//! someone else (refused).

use std::collections::BTreeMap;

use crate::desired::{ContainerSpec, DesiredState, Role};
use crate::engine::{ContainerInfo, Engine, EngineError};
use crate::live::{LiveContainer, Origin};
use crate::record::{self, FileRecord};
use crate::{adopt, labels};

use super::ObserveError;

/// This fleet's live containers by name (holders left out) and its record.
pub async fn containers(
    engine: &Engine,
    desired: &DesiredState,
    all: Vec<ContainerInfo>,
) -> Result<(BTreeMap<String, LiveContainer>, Option<FileRecord>), ObserveError> {
    let fleet = desired.fleet.as_str();
    let ours = |c: &ContainerInfo| c.labels.get(labels::FLEET).map(String::as_str) == Some(fleet);
    let (mine, others): (Vec<ContainerInfo>, Vec<ContainerInfo>) = all.into_iter().partition(ours);
    let record = record::newest(&mine);
    let mut containers: BTreeMap<String, LiveContainer> = mine
        .iter()
        .filter(|c| !c.labels.contains_key(labels::HOLDER))
        .map(|c| (c.name.clone(), live_container(c)))
        .collect();
    let decnet = strangers(desired, record.as_ref(), &others)?;
    for live in read_decnet(engine, decnet).await? {
        containers.insert(live.name.clone(), live);
    }
    Ok((containers, record))
}

/// A DECNET container found under a name of the fleet: what it is, and the
/// spec of its place in the file (none for an adopted one no longer there).
type Found<'a> = (&'a ContainerInfo, Origin, Option<&'a ContainerSpec>);

/// Containers with this fleet's names but not its labels: DECNET's (to
/// compare, and to adopt), or someone else's (refused, naming them all).
fn strangers<'a>(
    desired: &'a DesiredState,
    record: Option<&FileRecord>,
    others: &'a [ContainerInfo],
) -> Result<Vec<Found<'a>>, ObserveError> {
    let adopted = record.map(|r| &r.adopted);
    let mut foreign = Vec::new();
    let mut decnet = Vec::new();
    for c in others {
        let want = desired.container(&c.name);
        let is_adopted = adopted.and_then(|a| a.get(&c.name)) == Some(&c.id);
        if want.is_none() && !is_adopted {
            continue;
        }
        match c.labels.get(labels::FLEET) {
            Some(other) => foreign.push(format!("{} (fleet '{other}')", c.name)),
            None if is_adopted => decnet.push((c, Origin::Adopted, want)),
            None if adopt::is_decnet(c, others) => decnet.push((c, Origin::Decnet, want)),
            None => foreign.push(c.name.clone()),
        }
    }
    match foreign.is_empty() {
        true => Ok(decnet),
        false => Err(ObserveError::Foreign(foreign)),
    }
}

/// DECNET's containers, each read as the spec deckhand would have written for
/// its place in the file (adopted ones no longer in the file: by name only).
async fn read_decnet(
    engine: &Engine,
    found: Vec<Found<'_>>,
) -> Result<Vec<LiveContainer>, EngineError> {
    let details = futures_util::future::try_join_all(
        found
            .iter()
            .map(|(c, _, _)| engine.container_details(&c.id)),
    )
    .await?;
    let mut images = BTreeMap::new();
    for d in details.iter().flatten() {
        if !images.contains_key(&d.image) {
            images.insert(d.image.clone(), engine.image_defaults(&d.image).await?);
        }
    }
    let mut out = Vec::new();
    for ((c, origin, want), details) in found.into_iter().zip(details) {
        // Gone between the listing and the inspect: as if never listed.
        let Some(details) = details else { continue };
        let spec = want.map(|w| adopt::observed_spec(w, &details, &images[&details.image]));
        let (role, decky, service) = match want {
            Some(w) => (
                w.role,
                w.decky.clone().unwrap_or_default(),
                w.service.clone(),
            ),
            None => adopt::identity(c),
        };
        out.push(LiveContainer {
            id: c.id.clone(),
            name: c.name.clone(),
            role: Some(role),
            decky: (role != Role::Singleton).then_some(decky),
            service,
            state: c.state.clone(),
            digest: spec.as_ref().map(ContainerSpec::digest),
            spec,
            unwritable: unwritable(c),
            origin,
            lans: c.networks.clone(),
            unexpressed: adopt::unexpressed(role, &details),
            compose_project: c.labels.get(labels::COMPOSE_PROJECT).cloned(),
        });
    }
    Ok(out)
}

fn live_container(c: &ContainerInfo) -> LiveContainer {
    let spec: Option<ContainerSpec> = c
        .labels
        .get(labels::SPEC)
        .and_then(|s| serde_json::from_str(s).ok());
    LiveContainer {
        id: c.id.clone(),
        name: c.name.clone(),
        role: c.labels.get(labels::ROLE).and_then(|r| Role::parse(r)),
        decky: c.labels.get(labels::DECKY).cloned(),
        service: c.labels.get(labels::SERVICE).cloned(),
        state: c.state.clone(),
        spec,
        digest: c.labels.get(labels::SPEC_DIGEST).cloned(),
        unwritable: unwritable(c),
        origin: Origin::Deckhand,
        lans: c.networks.clone(),
        unexpressed: Vec::new(),
        compose_project: c.labels.get(labels::COMPOSE_PROJECT).cloned(),
    }
}

/// Mount points of `c` where a file cannot be written, with why.
fn unwritable(c: &ContainerInfo) -> Vec<(String, String)> {
    c.mounts
        .iter()
        .filter_map(|m| {
            let why = if m.kind == "tmpfs" {
                "a tmpfs mount, invisible to the archive API"
            } else if !m.read_write {
                "a read-only mount"
            } else if m.kind == "bind" {
                "a bind mount from the host"
            } else {
                return None;
            };
            Some((m.destination.clone(), why.to_string()))
        })
        .collect()
}
