//! Images the engine lacks: pulled by apply (`pull = "missing"`, said in a
//! note) or a plan error (`pull = "never"`).

use std::collections::BTreeMap;

use crate::desired::{DesiredState, Pull};
use crate::live::LiveState;

use super::{created, Change, Problem};

/// Image to the containers of `changes` that need it and the engine lacks.
fn missing<'a>(live: &LiveState, changes: &'a [Change]) -> BTreeMap<&'a str, Vec<&'a str>> {
    let mut out: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for spec in changes.iter().filter_map(created) {
        if spec.build.is_none() && live.engine.missing_images.contains(&spec.image) {
            out.entry(&spec.image).or_default().push(&spec.name);
        }
    }
    out
}

/// With `pull = "never"`, each missing image is a problem.
pub fn never_pulled(desired: &DesiredState, live: &LiveState, changes: &[Change]) -> Vec<Problem> {
    if desired.pull != Pull::Never {
        return Vec::new();
    }
    missing(live, changes)
        .into_iter()
        .map(|(image, containers)| Problem::ImageMissing {
            image: image.to_string(),
            containers: containers.into_iter().map(str::to_string).collect(),
        })
        .collect()
}

/// With `pull = "missing"`, a note for each image apply pulls first.
pub fn pull_notes(desired: &DesiredState, live: &LiveState, changes: &[Change]) -> Vec<String> {
    if desired.pull != Pull::Missing {
        return Vec::new();
    }
    missing(live, changes)
        .into_iter()
        .map(|(image, containers)| {
            format!(
                "image {image} is not on the engine: apply pulls it before creating {}",
                containers.join(", ")
            )
        })
        .collect()
}
