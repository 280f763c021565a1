//! Each decky's reads under its own budget (SPEC §8): a decky whose reads
//! take longer than `decky_budget_s` is given up and reported, and the
//! others are read as usual, a bounded number of deckies at once.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::budget::Budget;
use crate::engine::Engine;
use crate::live::{LiveContainer, OverBudget};

use super::host::{self, Files};
use super::reads;

/// Deckies read at once; each decky's budget starts when its reads do.
const DECKIES_IN_FLIGHT: usize = 8;

/// Paths wanted per container.
type Wanted = BTreeMap<String, BTreeSet<String>>;

/// What the reads of every decky gave.
#[derive(Debug, Default)]
pub struct Read {
    pub files: Files,
    pub over_budget: Vec<OverBudget>,
    /// How long each decky's reads took.
    pub took: BTreeMap<String, Duration>,
}

/// The files `wanted`, each decky's under `budget`: from the host where
/// `host` allows it, else (or for what the host cannot read) through the engine.
pub async fn read_files(
    engine: &Engine,
    containers: &BTreeMap<String, LiveContainer>,
    wanted: Wanted,
    budget: Budget,
    host: bool,
) -> Read {
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(DECKIES_IN_FLIGHT));
    let mut tasks = JoinSet::new();
    for (decky, (wanted, containers)) in by_decky(containers, wanted) {
        let (engine, limit) = (engine.clone(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.expect("never closed");
            let started = Instant::now();
            let deadline = started + budget.per_decky;
            let read = read_decky(
                &engine,
                &containers,
                wanted,
                budget.diff_max,
                deadline,
                host,
            );
            let read = tokio::time::timeout(budget.per_decky, read).await;
            (decky, read.ok(), started.elapsed())
        });
    }
    let mut out = Read::default();
    while let Some(joined) = tasks.join_next().await {
        let (decky, files, took) = joined.expect("a read task does not panic");
        match files {
            Some(files) => out.files.extend(files),
            None => {
                crate::verbose!("read {decky}: over its budget of {:?}", budget.per_decky);
                out.over_budget.push(OverBudget {
                    decky: decky.clone(),
                    what: "reads".to_string(),
                    limit: budget.per_decky,
                });
            }
        }
        out.took.insert(decky, took);
    }
    out.over_budget.sort_by(|a, b| a.decky.cmp(&b.decky));
    out
}

/// One decky's reads: from the host first, what is left through the engine.
async fn read_decky(
    engine: &Engine,
    containers: &BTreeMap<String, LiveContainer>,
    wanted: Wanted,
    keep: usize,
    deadline: Instant,
    host: bool,
) -> Files {
    if !host {
        return reads::read_files(engine, wanted, keep).await;
    }
    let (mut files, left) = host::read_files(engine, containers, wanted, keep, deadline).await;
    files.extend(reads::read_files(engine, left, keep).await);
    files
}

/// The wanted paths grouped by decky (a container of none is its own), each
/// with its containers.
fn by_decky(
    containers: &BTreeMap<String, LiveContainer>,
    wanted: Wanted,
) -> BTreeMap<String, (Wanted, BTreeMap<String, LiveContainer>)> {
    let mut out: BTreeMap<String, (Wanted, BTreeMap<String, LiveContainer>)> = BTreeMap::new();
    for (name, paths) in wanted {
        let live = containers.get(&name);
        let decky = live.and_then(|c| c.decky.clone()).unwrap_or(name.clone());
        let entry = out.entry(decky).or_default();
        if let Some(c) = live {
            entry.1.insert(name.clone(), c.clone());
        }
        entry.0.insert(name, paths);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wanted_files_are_grouped_by_the_decky_of_their_container() {
        let live = |decky: Option<&str>| LiveContainer {
            decky: decky.map(str::to_string),
            ..Default::default()
        };
        let containers = BTreeMap::from([
            ("a".to_string(), live(Some("a"))),
            ("a-ssh".to_string(), live(Some("a"))),
            ("sniffer".to_string(), live(None)),
        ]);
        let wanted: Wanted = ["a", "a-ssh", "sniffer"]
            .iter()
            .map(|c| (c.to_string(), BTreeSet::from(["/x".to_string()])))
            .collect();
        let grouped = by_decky(&containers, wanted);
        assert_eq!(grouped.keys().collect::<Vec<_>>(), ["a", "sniffer"]);
        assert_eq!(grouped["a"].0.len(), 2);
        assert_eq!(grouped["a"].1.len(), 2);
    }
}
