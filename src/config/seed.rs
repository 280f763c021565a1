//! `[fleet] seed_file`: read once, refused with file:line when it is
//! missing, short or readable by everyone (SPEC §11).

use super::merge::Tables;
use super::validate::Validator;
use crate::seed::Seed;

const HELP: &str = "make one and keep it out of the repository: head -c 32 /dev/urandom > deckhand.seed && chmod 600 deckhand.seed (and add it to .gitignore)";

impl Validator<'_> {
    pub(super) fn seed(&mut self, tables: &Tables<'_>) {
        let Some(file) = &tables.fleet.seed_file else {
            return;
        };
        let src = tables.fleet_src;
        let path = self.ctx.sources[src].dir().join(file.get_ref());
        self.seed_at = Some((src, file.span()));
        match Seed::read(&path) {
            Ok(seed) => self.seed = Some(seed),
            Err(why) => self
                .ctx
                .err_help(src, &file.span(), format!("[fleet] {why}"), HELP),
        }
    }
}
