//! `[fleet] diff_max_kb` and `decky_budget_s`: what one decky's reads and
//! diffs may cost in one pass (SPEC §8).

use std::time::Duration;

use super::merge::Tables;
use super::validate::Validator;
use crate::budget::Budget;

/// Largest `diff_max_kb`: a diff is of declared content, at most 64 MiB.
const DIFF_MAX_KB: i64 = 64 * 1024;
/// Longest `decky_budget_s`: an hour, past which a pass is not a pass.
const BUDGET_MAX_S: f64 = 3600.0;

impl Validator<'_> {
    pub(super) fn budget(&mut self, tables: &Tables<'_>) -> Budget {
        let (src, fleet) = (tables.fleet_src, tables.fleet);
        let mut budget = Budget::default();
        if let Some(kb) = &fleet.diff_max_kb {
            match *kb.get_ref() {
                n @ 1..=DIFF_MAX_KB => budget.diff_max = n as usize * 1024,
                n => self.ctx.err_help(
                    src,
                    &kb.span(),
                    format!("[fleet] diff_max_kb {n} is not between 1 and {DIFF_MAX_KB}"),
                    "the most of a file held in memory for a diff, in KiB (default 256)",
                ),
            }
        }
        if let Some(s) = &fleet.decky_budget_s {
            match *s.get_ref() {
                n if n > 0.0 && n <= BUDGET_MAX_S => budget.per_decky = Duration::from_secs_f64(n),
                n => self.ctx.err_help(
                    src,
                    &s.span(),
                    format!("[fleet] decky_budget_s {n} is not over 0 and at most {BUDGET_MAX_S}"),
                    "the longest one decky's reads and diffs may take in a pass, in seconds (default 10)",
                ),
            }
        }
        budget
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::load_fleet_with as load;

    #[test]
    fn the_budget_defaults_to_256_kib_diffs_and_10_seconds_a_decky() {
        let budget = load("").unwrap().desired.budget;
        assert_eq!(budget.diff_max, 256 * 1024);
        assert_eq!(budget.per_decky, Duration::from_secs(10));
        assert_eq!(budget.diff_deadline, Duration::from_millis(200));
    }

    #[test]
    fn the_budget_is_set_in_the_fleet_table() {
        let budget = load("diff_max_kb = 64\ndecky_budget_s = 0.5")
            .unwrap()
            .desired
            .budget;
        assert_eq!(budget.diff_max, 64 * 1024);
        assert_eq!(budget.per_decky, Duration::from_millis(500));
        let whole = load("decky_budget_s = 3").unwrap().desired.budget;
        assert_eq!(whole.per_decky, Duration::from_secs(3));
    }

    #[test]
    fn a_budget_out_of_range_is_refused_with_its_limits() {
        let err = load("diff_max_kb = 0\ndecky_budget_s = -1").unwrap_err();
        assert!(
            err.contains("diff_max_kb 0 is not between 1 and 65536"),
            "{err}"
        );
        assert!(err.contains("decky_budget_s -1 is not over 0"), "{err}");
        assert!(load("decky_budget_s = nan").is_err());
    }
}
