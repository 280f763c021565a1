//! The images a plan's container steps need and the engine lacks, built from
//! their contexts before any container is touched.

use std::collections::BTreeMap;
use std::time::Instant;

use super::{Event, Sink};
use crate::build;
use crate::engine::Engine;
use crate::interrupt::Interrupt;
use crate::plan::{Change, Plan};

/// Builds, one at a time (a build saturates a small engine), every image the
/// plan needs that `engine` does not have. Returns the images that could not
/// be built, with why; the steps that need them fail with that reason.
pub async fn build_missing(
    engine: &Engine,
    plan: &Plan,
    host: &str,
    sink: &Sink,
    interrupt: &Interrupt,
) -> BTreeMap<String, String> {
    let mut needed = BTreeMap::new();
    for (image, wanted) in plan.changes.iter().filter_map(Change::built_image) {
        needed.entry(image.to_string()).or_insert(wanted);
    }
    let mut failed = BTreeMap::new();
    for (image, wanted) in needed {
        let context = &wanted.context;
        let say = |line: &str| {
            sink(&Event::Build {
                host: host.to_string(),
                image: image.clone(),
                line: line.to_string(),
            })
        };
        let result = async {
            if interrupt.is_raised() {
                return Err(super::Skip::Interrupted.to_string());
            }
            if engine
                .image_exists(&image)
                .await
                .map_err(|e| e.to_string())?
            {
                return Ok(());
            }
            // Read again: the tag must still name the content being sent.
            let build = build::resolve(&wanted.name, context, &wanted.args)?;
            if build.image != image {
                return Err(format!(
                    "the build context {} changed since the plan was made (now {}); plan again",
                    context.display(),
                    build.image
                ));
            }
            let started = Instant::now();
            say(&format!("building from {}", context.display()));
            let tar = build::archive(&build)?;
            engine
                .build_image(tar, &image, &build.args, &say)
                .await
                .map_err(|e| e.to_string())?;
            say(&format!("built ({:.1}s)", started.elapsed().as_secs_f64()));
            Ok(())
        }
        .await;
        if let Err(why) = result {
            say(&format!("failed: {why}"));
            failed.insert(
                image.clone(),
                format!("image {image} could not be built: {why}"),
            );
        }
    }
    failed
}

/// Why `change` cannot run: the image it needs failed to build or pull.
pub fn unbuilt<'a>(change: &Change, failed: &'a BTreeMap<String, String>) -> Option<&'a String> {
    let built = change.built_image().map(|(image, _)| image);
    built
        .or_else(|| super::pull::pulled_image(change))
        .and_then(|image| failed.get(image))
}
