//! `--rotate-canaries DECKY...`: new canaries for the deckies named, in
//! the loaded desired state, so that the plan shows them as updates. The
//! counters are saved only when the plan is applied.

use crate::config::Loaded;
use crate::desired::Ensure;

use super::content::Place;
use super::{planted, Rotations};

/// Why the deckies named cannot have their canaries rotated.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error("--rotate-canaries: no decky '{0}' in the file")]
    UnknownDecky(String),
    #[error("--rotate-canaries: decky '{0}' has no canary; deckies with canaries: {1}")]
    NoCanary(String, String),
}

/// Issues new canaries to `deckies` in `loaded` (its files and its list),
/// and returns the counters to save once they are applied.
pub fn rotate(loaded: &mut Loaded, deckies: &[String]) -> Result<Option<Rotations>, RotateError> {
    if deckies.is_empty() {
        return Ok(None);
    }
    let with: Vec<&str> = loaded
        .canaries
        .list
        .iter()
        .map(|c| c.decky.as_str())
        .collect();
    for d in deckies {
        if !loaded.desired.deckies.contains(d) {
            return Err(RotateError::UnknownDecky(d.clone()));
        }
        if !with.contains(&d.as_str()) {
            let names: std::collections::BTreeSet<&str> = with.iter().copied().collect();
            let names: Vec<&str> = names.into_iter().collect();
            let names = if names.is_empty() {
                "(none)".to_string()
            } else {
                names.join(", ")
            };
            return Err(RotateError::NoCanary(d.clone(), names));
        }
    }
    let canaries = &mut loaded.canaries;
    let (Some(seed), Some(mut rotations)) = (canaries.seed.clone(), canaries.rotations.clone())
    else {
        unreachable!("a fleet with canaries has their seed and counters");
    };
    for d in deckies.iter().collect::<std::collections::BTreeSet<_>>() {
        rotations.bump(d);
    }
    let desired = &mut loaded.desired;
    for canary in canaries
        .list
        .iter_mut()
        .filter(|c| deckies.contains(&c.decky))
    {
        let hostname = crate::desired::hostname_of(&desired.containers, &canary.decky);
        let place = Place {
            fleet: &desired.fleet,
            decky: &canary.decky,
            hostname: &hostname,
            path: &canary.path,
        };
        let (new, bytes) = planted(&seed, canary.kind, place, rotations.of(&canary.decky));
        let file = desired.files.iter_mut();
        let mut file = file.filter(|f| f.decky == canary.decky && f.path == canary.path);
        if let Some(f) = file.next() {
            if let Ensure::Present(content) = &mut f.ensure {
                content.bytes = bytes;
            }
            f.canary = Some(new.id.clone());
        }
        *canary = new;
    }
    canaries.rotations = Some(rotations.clone());
    Ok(Some(rotations))
}
