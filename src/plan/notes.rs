//! What a plan tells the operator beside its changes: images to build,
//! DECNET's containers, a lost record, deckies over their budget; and the
//! reasons added to changes of containers made by others.

use crate::live::{LiveState, Origin};

use super::{Action, Change, Object};

/// The note saying a decky was not planned, and why.
pub(super) fn degraded_note(d: &super::Degraded) -> String {
    format!(
        "decky {} is over its budget: its {} took longer than {} (decky_budget_s); it was not planned and its steps are skipped this time",
        d.decky, d.what, d.limit
    )
}

/// A change to a container DECNET made says that it needs `--adopt`.
pub(super) fn mark_decnet(changes: &mut [Change], live: &LiveState, fleet: &str) {
    for change in changes {
        let decnet = change
            .container()
            .and_then(|n| live.containers.get(n))
            .is_some_and(|c| c.origin == Origin::Decnet);
        if decnet {
            change
                .reasons
                .push("made by DECNET: needs apply --adopt".to_string());
        }
        let elsewhere = match (&change.object, change.action) {
            (Object::Network { name }, Action::Replace) => live
                .network_specs
                .get(name)
                .is_some_and(|n| super::networks::made_elsewhere(n, fleet)),
            _ => false,
        };
        if elsewhere {
            change
                .reasons
                .push("made by someone else: needs apply --adopt".to_string());
        }
    }
}

/// What the operator should know beside the changes: images to build,
/// DECNET's containers, a lost record.
pub(super) fn notes(
    changes: &[Change],
    live: &LiveState,
    in_scope: &dyn Fn(Option<&str>) -> bool,
) -> Vec<String> {
    let mut notes = builds_needed(changes, live);
    let decnet: Vec<&str> = live
        .containers
        .values()
        .filter(|c| c.origin == Origin::Decnet && in_scope(c.decky.as_deref()))
        .map(|c| c.name.as_str())
        .collect();
    if !decnet.is_empty() {
        notes.push(format!(
            "{} container(s) were made by DECNET, not deckhand: {}. They are compared with the file like deckhand's own; `deckhand apply --adopt` takes them under management, and until then deckhand changes none of them",
            decnet.len(),
            decnet.join(", ")
        ));
    }
    if live.record.is_none() && !live.containers.is_empty() {
        notes.push("this engine holds no file record of the fleet yet (a new fleet, or a record removed): no file dropped earlier is known, so this plan deletes none; apply starts the record".to_string());
    }
    notes
}

/// A note for each image that apply builds first: the context of a service
/// that is created or replaced, whose tag the engine does not have.
fn builds_needed(changes: &[Change], live: &LiveState) -> Vec<String> {
    let mut images = std::collections::BTreeMap::new();
    for (image, build) in changes.iter().filter_map(Change::built_image) {
        let context = &build.context;
        if !live.images.contains(image) {
            images.insert(image.to_string(), context.display().to_string());
        }
    }
    images
        .into_iter()
        .map(|(image, context)| {
            format!("image {image} is built from {context} before its containers are created")
        })
        .collect()
}
