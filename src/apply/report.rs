//! What the executor reports: each step's typed outcome, and the events it
//! sends as it goes. Plain data: the views in `render::steps` draw them.

use std::time::{Duration, Instant};

use super::evidence::Kept;
use crate::plan::{Change, Drift};

/// One finished step.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub change: Change,
    pub status: Status,
    pub elapsed: Duration,
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Done,
    Failed(StepError),
    /// Not run, because of something else.
    Skipped(Skip),
}

/// Why a step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// The engine refused or failed; its own message.
    #[error("{0}")]
    Engine(String),
    /// The image the step needs could not be built.
    #[error("{0}")]
    Unbuilt(String),
    #[error("container {container} has no `rm`: where deckhand cannot delete from the host, deleting files needs rm in the target container ({output})")]
    NoRm { container: String, output: String },
    #[error("{}", rm_failed(*.code, .output))]
    Rm { code: Option<i64>, output: String },
    #[error("cannot build the archive: {0}")]
    Archive(String),
    /// The plan found the step cannot be done (the reason names the cause
    /// inside the container); nothing was touched.
    #[error("cannot be done: {0}")]
    Blocked(String),
    /// A copy of what the step would destroy could not be kept; nothing was touched.
    #[error("{0}")]
    Evidence(String),
    /// What stood in the way could not be removed.
    #[error("{path} could not be removed first: {why}")]
    Clear { path: String, why: String },
    /// A file could not be deleted from the host.
    #[error("{path} could not be deleted: {why}")]
    Delete { path: String, why: String },
    /// A plan step without what it needs (a bug, reported rather than panicking).
    #[error("{0}")]
    Malformed(&'static str),
}

fn rm_failed(code: Option<i64>, output: &str) -> String {
    match code {
        Some(code) => format!("rm exited with status {code}: {output}"),
        None => format!("rm ended without an exit status: {output}"),
    }
}

/// Why a step was not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Skip {
    #[error("not started: interrupted")]
    Interrupted,
    #[error("skipped: its base {0} failed")]
    BaseFailed(String),
    #[error("skipped: container {0} failed")]
    ContainerFailed(String),
    #[error("skipped: a network could not be created")]
    NetworkFailed,
}

impl Status {
    pub fn is_done(&self) -> bool {
        matches!(self, Status::Done)
    }

    /// The failure or skip, in words; `None` when done.
    pub fn problem(&self) -> Option<String> {
        match self {
            Status::Done => None,
            Status::Failed(e) => Some(e.to_string()),
            Status::Skipped(s) => Some(s.to_string()),
        }
    }
}

impl From<Result<(), StepError>> for Status {
    fn from(r: Result<(), StepError>) -> Status {
        match r {
            Ok(()) => Status::Done,
            Err(e) => Status::Failed(e),
        }
    }
}

impl Outcome {
    pub fn new(change: &Change, status: Status, started: Instant) -> Outcome {
        Outcome {
            change: change.clone(),
            status,
            elapsed: started.elapsed(),
        }
    }
}

/// What the executor tells its sink, as it happens.
#[derive(Debug, Clone)]
pub enum Event {
    /// A step is starting.
    Started(Change),
    /// A step ended: done, failed or skipped.
    Ended(Outcome),
    /// A line of an image build on `host`.
    Build {
        host: String,
        image: String,
        line: String,
    },
    /// A copy was kept before a change (SPEC §8).
    Evidence {
        host: String,
        container: String,
        kept: Kept,
    },
    /// Someone else changed a file, left as found (`on_drift = "report"`).
    Drift(Drift),
}

/// Where the executor sends its events (a view, or a collector in tests).
pub type Sink = std::sync::Arc<dyn Fn(&Event) + Send + Sync>;

/// Everything an apply on one engine did.
#[derive(Debug, Default)]
pub struct Report {
    pub outcomes: Vec<Outcome>,
    /// Failures that belong to no step (an image build, the record).
    pub errors: Vec<String>,
}

impl Report {
    /// Steps that did not get done, and errors outside any step.
    pub fn failed(&self) -> usize {
        self.outcomes.iter().filter(|o| !o.status.is_done()).count() + self.errors.len()
    }

    pub fn done(&self) -> usize {
        self.outcomes.iter().filter(|o| o.status.is_done()).count()
    }

    /// Steps not run because another failed (or the run was interrupted):
    /// counted apart, so that one failure does not read as ten.
    pub fn skipped(&self) -> usize {
        let skipped = |o: &&Outcome| matches!(o.status, Status::Skipped(_));
        self.outcomes.iter().filter(skipped).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Regression: this read `rm exited with Some(1)`, Rust debug text.
    #[test]
    fn step_errors_read_as_sentences_without_debug_text() {
        let rm = StepError::Rm {
            code: Some(1),
            output: "rm: can't remove '/srv': Is a directory".into(),
        };
        assert_eq!(
            rm.to_string(),
            "rm exited with status 1: rm: can't remove '/srv': Is a directory"
        );
        let lost = StepError::Rm {
            code: None,
            output: String::new(),
        };
        assert_eq!(lost.to_string(), "rm ended without an exit status: ");
        assert_eq!(
            Skip::BaseFailed("web-01".into()).to_string(),
            "skipped: its base web-01 failed"
        );
    }
}
