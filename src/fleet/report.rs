//! What an apply across every engine of a fleet did.

use crate::apply::Report;

/// Each engine's report, in the pass's order, and what the run adopted.
#[derive(Debug, Default)]
pub struct FleetReport {
    pub hosts: Vec<(String, Report)>,
    /// DECNET's containers taken under management (`--adopt`).
    pub adopted: usize,
    /// Whether an interrupt stopped the run early.
    pub interrupted: bool,
}

impl FleetReport {
    /// Steps not done (failed or skipped) and errors outside any step.
    pub fn failed(&self) -> usize {
        self.hosts.iter().map(|(_, r)| r.failed()).sum()
    }

    /// Steps skipped because another failed, or interrupted (within `failed`).
    pub fn skipped(&self) -> usize {
        self.hosts.iter().map(|(_, r)| r.skipped()).sum()
    }

    pub fn done(&self) -> usize {
        self.hosts.iter().map(|(_, r)| r.done()).sum()
    }

    /// Steps run or tried, errors outside steps included.
    pub fn steps(&self) -> usize {
        self.hosts
            .iter()
            .map(|(_, r)| r.outcomes.len() + r.errors.len())
            .sum()
    }
}
