//! Plan-time checks (SPEC §4): what apply would fail on, found before
//! anything changes. Each problem names the decky (or network) and what
//! holds the resource. Pure: the engine's facts were gathered by observe.

mod addresses;
mod images;
mod ports;
mod problem;
mod subnets;

use crate::desired::{ContainerSpec, DesiredState};
use crate::live::LiveState;

use super::{Action, Change, Detail};

pub use images::pull_notes;
pub use ports::parse_publish;
pub use problem::{headline, Problem};

/// Every problem the plan's `changes` would meet at apply.
pub fn run(desired: &DesiredState, live: &LiveState, changes: &[Change]) -> Vec<Problem> {
    let mut problems = images::never_pulled(desired, live, changes);
    for change in changes {
        problems.extend(addresses::check(desired, live, change));
        problems.extend(ports::check(live, change));
        problems.extend(subnets::check(live, change));
    }
    problems
}

/// The container a create or replace step makes, with its spec.
fn created(change: &Change) -> Option<&ContainerSpec> {
    match (&change.action, &change.detail) {
        (
            Action::Create | Action::Replace,
            Detail::Container {
                spec: Some(spec), ..
            },
        ) => Some(spec),
        _ => None,
    }
}

/// The decky a step is about, for the message ("" for a singleton: its
/// container is named instead).
fn decky_of(change: &Change) -> String {
    change.object.decky().unwrap_or_default().to_string()
}
