//! Why no plan could be made: an unknown target, a refusal, or what apply
//! would fail on. Nothing was changed.

use std::collections::BTreeSet;

use crate::desired::DesiredState;
use crate::live::LiveState;

/// Why no plan could be made; nothing was changed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("unknown target decky '{name}'\n  help: deckies in the file or live: {known}")]
    UnknownTarget { name: String, known: String },
    #[error("{}", .0.join("\n"))]
    Refused(Vec<String>),
    /// What apply would fail on (SPEC §4), found before anything changed.
    /// `plan` is what would have been done, for the JSON plan.
    #[error("{}", blocked_message(.problems))]
    Blocked {
        problems: Vec<super::checks::Problem>,
        plan: Box<super::Plan>,
    },
}

fn blocked_message(problems: &[super::checks::Problem]) -> String {
    let mut out = super::checks::headline(problems.len());
    for p in problems {
        out.push_str(&format!("\n  {p}"));
    }
    out
}

/// Every target must name a decky of the file or of the engine.
pub(super) fn check_targets(
    desired: &DesiredState,
    live: &LiveState,
    targets: &[String],
) -> Result<(), PlanError> {
    let mut known: BTreeSet<&str> = desired.deckies.iter().map(String::as_str).collect();
    known.extend(desired.destroying.iter().map(String::as_str));
    known.extend(live.containers.values().filter_map(|c| c.decky.as_deref()));
    match targets.iter().find(|t| !known.contains(t.as_str())) {
        Some(t) => Err(PlanError::UnknownTarget {
            name: t.clone(),
            known: known.into_iter().collect::<Vec<_>>().join(", "),
        }),
        None => Ok(()),
    }
}
