//! Images the plan's container steps run that the engine lacks (and that
//! deckhand does not build): pulled before any container is touched
//! (`[fleet] pull = "missing"`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use super::{Event, Sink};
use crate::engine::Engine;
use crate::interrupt::Interrupt;
use crate::plan::{Action, Change, Detail, Plan};

/// The image a create or replace step runs, unless deckhand builds it.
pub fn pulled_image(change: &Change) -> Option<&str> {
    match (&change.action, &change.detail) {
        (
            Action::Create | Action::Replace,
            Detail::Container {
                spec: Some(spec), ..
            },
        ) if spec.build.is_none() => Some(&spec.image),
        _ => None,
    }
}

/// Pulls, one at a time, every image of the plan the engine does not have.
/// Returns the images that could not be pulled, with why; the steps that
/// need them fail with that reason.
pub async fn pull_missing(
    engine: &Engine,
    plan: &Plan,
    host: &str,
    sink: &Sink,
    interrupt: &Interrupt,
) -> BTreeMap<String, String> {
    let needed: BTreeSet<&str> = plan.changes.iter().filter_map(pulled_image).collect();
    let mut failed = BTreeMap::new();
    for image in needed {
        let say = |line: &str| {
            sink(&Event::Build {
                host: host.to_string(),
                image: image.to_string(),
                line: line.to_string(),
            })
        };
        let result = async {
            if interrupt.is_raised() {
                return Err(super::Skip::Interrupted.to_string());
            }
            if engine
                .image_exists(image)
                .await
                .map_err(|e| e.to_string())?
            {
                return Ok(());
            }
            let started = Instant::now();
            say("pulling: the engine does not have it");
            engine
                .pull_image(image, &say)
                .await
                .map_err(|e| e.to_string())?;
            say(&format!("pulled ({:.1}s)", started.elapsed().as_secs_f64()));
            Ok(())
        }
        .await;
        if let Err(why) = result {
            say(&format!("failed: {why}"));
            failed.insert(
                image.to_string(),
                format!("image {image} could not be pulled: {why}"),
            );
        }
    }
    failed
}
