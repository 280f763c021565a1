//! Observation: reads one fleet's live state from the engine.
//!
//! One container listing, one network listing, and one archive read per
//! directory (or lone file) holding managed files, bounded in flight. Which
//! containers are this fleet's, DECNET's or someone else's: [`classify`];
//! each decky's reads under its budget: [`budgeted`]; which archive reads to
//! make: [`reads`]; what an archive holds: [`tar`]; a file's content hashed
//! as it streams: [`stream`].

mod budgeted;
mod classify;
pub mod host;
pub mod neighbours;
mod reads;
mod stream;
mod tar;

use std::collections::{BTreeMap, BTreeSet};

use crate::desired::DesiredState;
use crate::engine::{Engine, EngineError};
use crate::live::{LiveContainer, LiveState};
use crate::plan::in_targets;
use crate::record::FileRecord;

#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error("{}", foreign_message(.0))]
    Foreign(Vec<String>),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

fn foreign_message(names: &[String]) -> String {
    format!(
        "container name(s) that this fleet manages are taken by containers that are not this fleet's: {}\n  help: nothing was changed; rename or remove those containers, or rename the deckies or services",
        names.join(", ")
    )
}

/// Reads the live state of `desired.fleet`; with `targets`, only the
/// targeted deckies' files (the plan leaves the rest alone).
pub async fn observe(
    engine: &Engine,
    desired: &DesiredState,
    targets: &[String],
) -> Result<LiveState, ObserveError> {
    let builds = desired.containers.iter().any(|c| c.build.is_some());
    let (all, networks, images) = tokio::try_join!(
        engine.list_containers(None),
        engine.list_networks(),
        async {
            match builds {
                true => engine.built_images(crate::build::REPOSITORY).await,
                false => Ok(Default::default()),
            }
        }
    )?;
    let listed = all.clone();
    let (containers, record) = classify::containers(engine, desired, all).await?;
    let ours = containers.keys().map(String::as_str).collect();
    let facts = neighbours::gather(engine, desired, &listed, &ours).await?;
    let wanted = wanted_files(desired, &containers, record.as_ref(), targets);
    let read = read_files(engine, &containers, wanted, desired.budget).await;
    Ok(LiveState {
        files: read.files,
        containers,
        networks: networks.iter().map(|n| n.name.clone()).collect(),
        network_specs: networks.into_iter().map(|n| (n.name.clone(), n)).collect(),
        record,
        images,
        over_budget: read.over_budget,
        read_time: read.took,
        engine: facts,
    })
}

/// The files `wanted`, read from the host where it can be, else through the
/// engine; each decky's under its budget.
async fn read_files(
    engine: &Engine,
    containers: &BTreeMap<String, LiveContainer>,
    wanted: BTreeMap<String, BTreeSet<String>>,
    budget: crate::budget::Budget,
) -> budgeted::Read {
    if wanted.is_empty() {
        return budgeted::Read::default();
    }
    let unavailable = host::unavailable(engine);
    if let Some(why) = &unavailable {
        crate::verbose!("reads through the engine: {why}");
    }
    let read =
        budgeted::read_files(engine, containers, wanted, budget, unavailable.is_none()).await;
    crate::own_opens::read(&read.files);
    read
}

/// The paths to read back, per container: every declared file of a live
/// container in scope, and every file the record says deckhand dropped.
fn wanted_files(
    desired: &DesiredState,
    containers: &BTreeMap<String, LiveContainer>,
    record: Option<&FileRecord>,
    targets: &[String],
) -> BTreeMap<String, BTreeSet<String>> {
    let in_scope = |decky: Option<&str>| in_targets(targets, decky);
    let declared = desired.files.iter();
    let declared = declared
        .filter(|f| containers.contains_key(&f.container) && in_scope(Some(&f.decky)))
        .map(|f| (&f.container, &f.path));
    let recorded = record.iter().flat_map(|r| r.files.iter());
    let recorded = recorded
        .filter(|(c, _)| {
            containers
                .get(c)
                .is_some_and(|c| in_scope(c.decky.as_deref()))
        })
        .map(|(c, p)| (c, p));
    let mut wanted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (container, path) in declared.chain(recorded) {
        wanted
            .entry(container.clone())
            .or_default()
            .insert(path.clone());
    }
    wanted
}
