//! `template = true` on a file and `[fleet] seed_file`: the file's content
//! expanded for its decky (SPEC §11; the expansion itself: [`crate::craft`]).

use std::ops::Range;
use std::path::PathBuf;

use toml::Spanned;

use super::merge::Tables;
use super::validate::Validator;
use crate::craft::{self, Facts, NeedsSeed, Seed};

/// The fleet's seed: where it is, and once read, what it holds.
#[derive(Debug, Default)]
pub(super) struct SeedSlot {
    /// The TOML file and span of `seed_file`, and the path it names.
    at: Option<(usize, Range<usize>, PathBuf)>,
    /// Read at the first templated file that needs it; `Err` once refused.
    read: Option<Result<Seed, ()>>,
}

impl SeedSlot {
    /// Where `seed_file` points, when it is set.
    pub fn path(&self) -> Option<&std::path::Path> {
        self.at.as_ref().map(|(_, _, p)| p.as_path())
    }
}

impl Validator<'_> {
    /// Notes `[fleet] seed_file`; it is read only when a template needs it.
    pub fn seed_file(&mut self, tables: &Tables<'_>) {
        let src = tables.fleet_src;
        let Some(s) = &tables.fleet.seed_file else {
            return;
        };
        if s.get_ref().trim().is_empty() {
            let help = "name a file, like seed_file = \".deckhand/seed\"";
            self.ctx
                .err_help(src, &s.span(), "[fleet] seed_file is empty", help);
            return;
        }
        let path = self.ctx.sources[src].dir().join(s.get_ref());
        self.seed.at = Some((src, s.span(), path));
    }

    /// The file's content expanded for decky `decky` when `template = true`,
    /// else `bytes` as they are; `None` after reporting a problem.
    pub fn templated(
        &mut self,
        (decky, src, path): (&str, usize, &str),
        template: Option<&Spanned<bool>>,
        bytes: Vec<u8>,
    ) -> Option<Vec<u8>> {
        let Some(t) = template.filter(|t| *t.get_ref()) else {
            return Some(bytes);
        };
        let base = crate::desired::base_of(&self.containers, decky);
        let base = base.expect("a decky's base is expanded before its files");
        let ip = base
            .ip
            .clone()
            .or_else(|| base.lans.values().next().cloned());
        let (hostname, persona) = (base.hostname.clone(), base.settings.persona.clone());
        let fleet = self.fleet_name.clone();
        let facts = Facts {
            fleet: &fleet,
            decky,
            hostname: hostname.as_deref().unwrap_or(decky),
            ip: ip.as_deref().unwrap_or_default(),
            persona: persona.as_deref().unwrap_or("linux"),
            path,
        };
        let first = craft::expand(&bytes, &facts, None);
        let result = match first {
            Err(NeedsSeed::Seed) => {
                let seed = self.seed(src, &t.span(), (path, "{random:...}"))?;
                craft::expand(&bytes, &facts, Some(&seed))
            }
            other => other,
        };
        match result {
            Ok(out) => Some(out),
            Err(NeedsSeed::Bad(e)) => {
                let message = format!("file {path} of decky '{decky}': template: {e}");
                self.ctx.err_help(src, &t.span(), message, e.help());
                None
            }
            Err(NeedsSeed::Seed) => unreachable!("expanded with a seed"),
        }
    }

    /// The seed, read once; a problem is reported once, at `seed_file`, or at
    /// the first template needing it when there is no `seed_file`.
    /// `needs` says what needs it: `{random:...}`, `canary`.
    pub(super) fn seed(
        &mut self,
        src: usize,
        span: &Range<usize>,
        (path, needs): (&str, &str),
    ) -> Option<Seed> {
        if let Some(read) = &self.seed.read {
            return read.clone().ok();
        }
        let Some((at_src, at_span, file)) = self.seed.at.clone() else {
            let message =
                format!("file {path}: {needs} needs [fleet] seed_file, and there is none");
            let help = "add seed_file = \".deckhand/seed\" to [fleet], then: head -c 32 /dev/urandom > .deckhand/seed && chmod 600 .deckhand/seed";
            self.ctx.err_help(src, span, message, help);
            self.seed.read = Some(Err(()));
            return None;
        };
        let read = craft::seed::read(&file).map_err(|e| {
            let message = format!("[fleet] seed_file: {e}");
            self.ctx.err_help(at_src, &at_span, message, e.help());
        });
        self.seed.read = Some(read.clone());
        read.ok()
    }
}
