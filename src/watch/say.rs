//! What watch tells the operator: timestamped log lines, or with `--json`
//! NDJSON events (SPEC §9) from the same places.

use serde_json::{Map, Value};

use crate::render::run::{RunView, Verb};
use crate::render::view::Look;
use crate::render::{events_json, steps};

use super::log;

/// Watch's output: text or JSON.
#[derive(Clone, Copy)]
pub struct Say {
    /// Colour, and (once a pass knows it) whether the fleet spans several engines.
    pub look: Look,
    pub json: bool,
}

impl Say {
    /// The view a pass draws its plan, steps and end through, as apply does:
    /// log lines, or events of `fleet`.
    pub fn view(&self, fleet: &str) -> RunView {
        match self.json {
            true => RunView::Json {
                fleet: fleet.to_string(),
            },
            false => RunView::Text {
                look: self.look,
                verb: Verb::Apply,
                stamped: true,
            },
        }
    }

    /// A problem flagged `!` in the log (on `host` when the fleet spans
    /// several), or an `error` event: `message` is drawn as given.
    pub fn alarm(&self, fleet: &str, host: Option<&str>, message: &str) {
        let on = host.map_or(String::new(), |h| steps::on_host(h, self.look.several));
        let line = format!("{} {on}{message}", self.look.style.red("!"));
        self.problem(fleet, host, &line, message);
    }

    /// A line for a person; JSON leaves it out.
    pub fn line(&self, message: &str) {
        if !self.json {
            log(self.look.style, message);
        }
    }

    /// A warning: in the log, or on standard error beside the events.
    pub fn warning(&self, line: &str) {
        match self.json {
            true => eprintln!("{line}"),
            false => log(self.look.style, line),
        }
    }

    /// A problem: `line` in the log, or an `error` event with `message`.
    pub fn problem(&self, fleet: &str, host: Option<&str>, line: &str, message: &str) {
        match self.json {
            true => events_json::emit(events_json::error(fleet, host, message)),
            false => log(self.look.style, line),
        }
    }

    /// A problem with advice: `line` in the log (which gives the advice
    /// too), or an `error` event with `message` and `help`.
    pub fn advice(&self, fleet: &str, line: &str, message: &str, help: &str) {
        match self.json {
            true => {
                let mut e = events_json::error(fleet, None, message);
                e.insert("help".into(), Value::from(help));
                events_json::emit(e);
            }
            false => log(self.look.style, line),
        }
    }

    /// An event for machines; the log has its own lines for it.
    pub fn event(&self, event: Map<String, Value>) {
        if self.json {
            events_json::emit(event);
        }
    }
}
