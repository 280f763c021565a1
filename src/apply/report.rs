//! The outcome of every step of an apply, collected so one failure hides no other.

use std::time::{Duration, Instant};

use crate::plan::{Action, Change, Object};

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

    pub fn succeeded(&self) -> impl Iterator<Item = (&Change, &Outcome)> {
        self.outcomes
            .iter()
            .filter(|o| o.result.is_ok())
            .map(|o| (&o.change, o))
    }

    /// Whether a step on this file failed (then its record entry is kept).
    pub fn failed_file(&self, container: &str, path: &str) -> bool {
        self.outcomes.iter().any(|o| o.result.is_err() && matches!(&o.change.object, Object::File { container: c, path: p, .. } if c == container && p == path))
    }
}
