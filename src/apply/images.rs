//! The images a plan's container steps need and the engine lacks, made
//! before any container is touched: built from their contexts, or pulled
//! (`[fleet] pull = "missing"`), one at a time (a build or a pull saturates
//! a small engine).

use std::collections::BTreeMap;
use std::time::Instant;

use super::{Event, Sink};
use crate::build::{self, Build};
use crate::engine::Engine;
use crate::interrupt::Interrupt;
use crate::plan::{Action, Change, Detail, Plan};

/// How an image the engine lacks is made.
enum Source<'a> {
    Built(&'a Build),
    Pulled,
}

/// An image that could not be made: why, and whether it was to be built.
pub struct Unmade {
    pub why: String,
    pub built: bool,
}

/// Makes every image the plan needs that `engine` does not have, the built
/// ones first. Returns those that could not be made; the steps that need
/// them fail with that reason.
pub async fn prepare(
    engine: &Engine,
    plan: &Plan,
    host: &str,
    sink: &Sink,
    interrupt: &Interrupt,
) -> BTreeMap<String, Unmade> {
    let mut built = BTreeMap::new();
    let mut pulled = BTreeMap::new();
    for change in &plan.changes {
        if let Some((image, wanted)) = change.built_image() {
            built.entry(image).or_insert(Source::Built(wanted));
        } else if let Some(image) = pulled_image(change) {
            pulled.entry(image).or_insert(Source::Pulled);
        }
    }
    let mut failed = BTreeMap::new();
    for (image, source) in built.into_iter().chain(pulled) {
        let say = |line: &str| {
            sink(&Event::Build {
                host: host.to_string(),
                image: image.to_string(),
                line: line.to_string(),
            })
        };
        if let Err(why) = make(engine, image, &source, interrupt, &say).await {
            say(&format!("failed: {why}"));
            let built = matches!(source, Source::Built(_));
            let verb = if built { "built" } else { "pulled" };
            let why = format!("image {image} could not be {verb}: {why}");
            failed.insert(image.to_string(), Unmade { why, built });
        }
    }
    failed
}

/// Makes `image` from `source` unless the engine has it.
async fn make(
    engine: &Engine,
    image: &str,
    source: &Source<'_>,
    interrupt: &Interrupt,
    say: &(dyn Fn(&str) + Send + Sync),
) -> Result<(), String> {
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
    let done = match source {
        Source::Built(wanted) => {
            build_one(engine, image, wanted, say).await?;
            "built"
        }
        Source::Pulled => {
            say("pulling: the engine does not have it");
            let pulled = engine.pull_image(image, say).await;
            pulled.map_err(|e| e.to_string())?;
            "pulled"
        }
    };
    say(&format!("{done} ({:.1}s)", started.elapsed().as_secs_f64()));
    Ok(())
}

/// Builds `image` from its context, read again: the tag must still name
/// the content being sent.
async fn build_one(
    engine: &Engine,
    image: &str,
    wanted: &Build,
    say: &(dyn Fn(&str) + Send + Sync),
) -> Result<(), String> {
    let context = &wanted.context;
    let build = build::resolve(&wanted.name, context, &wanted.args)?;
    if build.image != image {
        return Err(format!(
            "the build context {} changed since the plan was made (now {}); plan again",
            context.display(),
            build.image
        ));
    }
    say(&format!("building from {}", context.display()));
    let tar = build::archive(&build)?;
    let built = engine.build_image(tar, image, &build.args, say).await;
    built.map_err(|e| e.to_string())
}

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

/// Why `change` cannot run: the image it needs failed to build or pull.
pub fn unbuilt<'a>(change: &Change, failed: &'a BTreeMap<String, String>) -> Option<&'a String> {
    let built = change.built_image().map(|(image, _)| image);
    built
        .or_else(|| pulled_image(change))
        .and_then(|image| failed.get(image))
}
