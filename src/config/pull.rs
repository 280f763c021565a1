//! `[fleet] pull`: what plan and apply do with an image the engine lacks.

use super::merge::Tables;
use super::validate::Validator;
use crate::desired::Pull;

impl Validator<'_> {
    pub(super) fn pull(&mut self, tables: &Tables<'_>) -> Pull {
        let (src, fleet) = (tables.fleet_src, tables.fleet);
        let Some(p) = &fleet.pull else {
            return Pull::default();
        };
        match p.get_ref().as_str() {
            "missing" => Pull::Missing,
            "never" => Pull::Never,
            other => {
                self.ctx.err_help(
                    src,
                    &p.span(),
                    format!("[fleet] pull '{other}' is not one of missing, never"),
                    "use \"missing\" (pull an image the engine lacks, the default) or \"never\" (a missing image is a plan error)",
                );
                Pull::default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::desired::Pull;

    use crate::config::load_fleet_with as load;

    #[test]
    fn pull_defaults_to_missing_and_takes_never() {
        assert_eq!(load("").unwrap().desired.pull, Pull::Missing);
        assert_eq!(load("pull = \"never\"").unwrap().desired.pull, Pull::Never);
    }

    #[test]
    fn an_unknown_pull_policy_names_the_key_and_the_choices() {
        let err = load("pull = \"always\"").unwrap_err();
        assert!(
            err.contains("[fleet] pull 'always' is not one of missing, never"),
            "{err}"
        );
        assert!(err.contains("deckhand.toml:4"), "{err}");
    }
}
