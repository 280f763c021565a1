//! The outcome of every step of an apply, collected so one failure hides no other.

use std::time::{Duration, Instant};

use crate::plan::{Action, Change};
use crate::render::style::Style;
use crate::render::text;

/// One finished step.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub change: Change,
    pub result: Result<(), String>,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn new(change: &Change, result: Result<(), String>, started: Instant) -> Outcome {
        Outcome {
            change: change.clone(),
            result,
            elapsed: started.elapsed(),
        }
    }

    /// The step as apply and watch print it: symbol, object, what happened,
    /// time; with `several` hosts, the host too.
    pub fn line(&self, style: Style, several: bool) -> String {
        let secs = self.elapsed.as_secs_f64();
        match &self.result {
            Ok(()) => format!(
                "{} {}: {} ({secs:.2}s)",
                text::symbol(self.change.action, style),
                text::describe_on(&self.change, several),
                self.verb()
            ),
            Err(e) => format!(
                "{} {}: {} ({secs:.2}s)",
                style.red("!"),
                text::describe_on(&self.change, several),
                style.red(&format!("failed: {e}"))
            ),
        }
    }

    /// The past tense of what the step did.
    pub fn verb(&self) -> &'static str {
        match self.change.action {
            Action::Create => "created",
            Action::Update => "updated",
            Action::Replace => "replaced",
            Action::Delete => "deleted",
            Action::Start => "started",
        }
    }
}

/// Everything an apply did.
#[derive(Debug, Default)]
pub struct Report {
    pub outcomes: Vec<Outcome>,
    /// Failures that belong to no step (the record).
    pub errors: Vec<String>,
}

impl Report {
    pub fn failed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.result.is_err()).count() + self.errors.len()
    }
}
