//! The desired state a pass works from (SPEC §8, "a bad edit never switches
//! protection off"): the file as it loads now, or while it does not load,
//! the last state that did. Drift is still healed and what dies is still
//! recreated; the invalid edit is reported on every pass until it is fixed.

use std::path::Path;

use crate::config::{ConfigError, Loaded};

use super::say::Say;

/// The last valid configuration, if any loaded yet.
#[derive(Default)]
pub struct LastValid {
    loaded: Option<Loaded>,
    /// The load made at start (to name the fleet), for the first pass to use.
    first: Option<Result<Loaded, ConfigError>>,
}

impl LastValid {
    /// Loads `config` once at start: the fleet is named from it, and the
    /// first pass works from it without reading the file again.
    pub fn starting(config: &Path) -> LastValid {
        LastValid {
            loaded: None,
            first: Some(crate::config::load(config)),
        }
    }

    /// The fleet the file named at start, if it loaded.
    pub fn fleet(&self) -> Option<&str> {
        match &self.first {
            Some(Ok(loaded)) => Some(&loaded.desired.fleet),
            _ => None,
        }
    }

    /// Loads `config` (the first time: takes the load made at start); when
    /// it is invalid, says so and keeps the last valid state. `None` when
    /// nothing valid was ever loaded.
    pub fn load(&mut self, config: &Path, say: Say, fleet: &str) -> Option<&Loaded> {
        match self
            .first
            .take()
            .unwrap_or_else(|| crate::config::load(config))
        {
            Ok(loaded) => self.loaded = Some(loaded),
            Err(e) => self.report(&e.to_string(), say, fleet),
        }
        self.loaded.as_ref()
    }

    fn report(&self, error: &str, say: Say, fleet: &str) {
        let (kept, help) = match &self.loaded {
            Some(_) => (
                "still enforcing the last valid one",
                "the last valid configuration is still enforced (drift healed, what dies recreated); fix the file and save it to apply your edit",
            ),
            None => (
                "nothing is enforced yet",
                "nothing is enforced until the file is valid; fix it and save it",
            ),
        };
        let message = format!("invalid configuration; {kept}:\n{error}");
        let line = format!("{} {message}\n  help: {help}", say.look.style.red("!"));
        say.advice(fleet, &line, &message, help);
    }
}
