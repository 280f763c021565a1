//! What one decky's reads and diffs may cost in one pass (SPEC §8): every
//! decky is its own fault domain, so none can stall the others.

use std::time::Duration;

/// The limits of one decky's reads and diffs, from `[fleet]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Most of a live file's content held in memory for a diff (`diff_max_kb`);
    /// past it, and for the declared side too, sizes and digests are shown.
    pub diff_max: usize,
    /// Longest one text diff may take before sizes and digests are shown instead.
    pub diff_deadline: Duration,
    /// Longest one decky's reads and diffs may take in one pass (`decky_budget_s`).
    pub per_decky: Duration,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            diff_max: 256 * 1024,
            diff_deadline: Duration::from_millis(200),
            per_decky: Duration::from_secs(10),
        }
    }
}

/// A duration as the plan names a limit: `10s`, `0.5s`.
pub fn words(limit: Duration) -> String {
    format!("{}s", limit.as_secs_f64())
}
