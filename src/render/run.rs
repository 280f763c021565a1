//! How an apply or destroy is drawn: as text for a person, or as NDJSON
//! events (`--json`) for a machine. The command hands each thing that
//! happens to the view; it never formats output itself.

use std::io::Write as _;
use std::sync::Arc;

use crate::apply::{Event, Sink};
use crate::fleet::{FleetReport, HostFailure};
use crate::plan::Plan;

use super::view::Look;
use super::{events_json, safe, steps, text};

/// What a run is, as its text says it: `Apply complete`, `Destroy complete`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Apply,
    Destroy,
}

impl Verb {
    /// `Apply`, `Destroy`: the word a run's last line starts with.
    pub fn title(self) -> &'static str {
        match self {
            Verb::Apply => "Apply",
            Verb::Destroy => "Destroy",
        }
    }

    /// `apply`, `destroy`: the command to run again.
    pub fn command(self) -> &'static str {
        match self {
            Verb::Apply => "apply",
            Verb::Destroy => "destroy",
        }
    }
}

/// The view of one run.
#[derive(Clone)]
pub enum RunView {
    Text {
        look: Look,
        verb: Verb,
        /// Each line stamped with the time, as watch logs.
        stamped: bool,
    },
    Json {
        fleet: String,
    },
}

fn out(line: &str) {
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// A line of a text view: plain, or stamped into the watch log.
fn line(look: Look, stamped: bool, line: &str) {
    match stamped {
        true => super::log::log(look.style, line),
        false => out(line),
    }
}

impl RunView {
    pub fn plan(&self, plan: &Plan) {
        match self {
            RunView::Text { look, .. } => {
                let _ = text::render(plan, &mut std::io::stdout().lock(), look.style);
            }
            RunView::Json { .. } => {
                events_json::emit(events_json::plan(plan));
                events_json::notices(plan)
                    .into_iter()
                    .for_each(events_json::emit);
            }
        }
    }

    /// An engine that could not be planned.
    pub fn failure(&self, f: &HostFailure) {
        match self {
            RunView::Text { look, .. } => {
                eprintln!("error: {}", steps::failure(f, look.several))
            }
            RunView::Json { fleet } => events_json::emit(events_json::failure(fleet, f)),
        }
    }

    /// An error that ends the run.
    pub fn error(&self, message: &str) {
        match self {
            RunView::Text { .. } => eprintln!("error: {}", safe::escape_lines(message)),
            RunView::Json { fleet } => events_json::emit(events_json::error(fleet, None, message)),
        }
    }

    /// A line for a person (progress, what was cleaned up); JSON leaves it out.
    pub fn say(&self, line: &str) {
        if let RunView::Text { look, stamped, .. } = self {
            self::line(*look, *stamped, line);
        }
    }

    /// Where the executor's events go: a line per step ended, or a `step` event
    /// per step started and ended.
    pub fn sink(&self) -> Sink {
        match self.clone() {
            RunView::Text { look, stamped, .. } => Arc::new(move |e: &Event| {
                if let Some(step) = steps::event_line(e, look) {
                    line(look, stamped, &format!("  {step}"));
                }
            }),
            RunView::Json { fleet } => Arc::new(move |e: &Event| {
                if let Some(step) = events_json::of(e, &fleet) {
                    events_json::emit(step);
                }
            }),
        }
    }

    /// The end of the run.
    pub fn summary(&self, report: &FleetReport, failures: &[HostFailure]) {
        match self {
            RunView::Text { look, verb, .. } => {
                for line in steps::summary(report, failures, *look, *verb) {
                    out(&line);
                }
            }
            RunView::Json { fleet } => {
                events_json::emit(events_json::summary(fleet, report, failures))
            }
        }
    }
}
