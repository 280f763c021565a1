//! What watch tells the operator: timestamped log lines, or with `--json`
//! NDJSON events (SPEC §9) from the same places.

use serde_json::{Map, Value};

use crate::render::events_json;
use crate::render::style::Style;

use super::log;

/// Watch's output: text or JSON.
#[derive(Clone, Copy)]
pub struct Say {
    pub style: Style,
    pub json: bool,
}

impl Say {
    /// A line for a person; JSON leaves it out.
    pub fn line(&self, message: &str) {
        if !self.json {
            log(self.style, message);
        }
    }

    /// A warning: in the log, or on standard error beside the events.
    pub fn warning(&self, line: &str) {
        match self.json {
            true => eprintln!("{line}"),
            false => log(self.style, line),
        }
    }

    /// A problem: `line` in the log, or an `error` event with `message`.
    pub fn problem(&self, fleet: &str, host: Option<&str>, line: &str, message: &str) {
        match self.json {
            true => events_json::emit(events_json::error(fleet, host, message)),
            false => log(self.style, line),
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
            false => log(self.style, line),
        }
    }

    /// An event for machines; the log has its own lines for it.
    pub fn event(&self, event: Map<String, Value>) {
        if self.json {
            events_json::emit(event);
        }
    }
}
