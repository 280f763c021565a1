//! `canary = "aws" | "ssh_key" | "password" | "url"` on a file: its content
//! is a canary made for the decky and path (SPEC §11; the making itself:
//! [`crate::canary`]).

use toml::Spanned;

use super::files::{content_keys, Entry};
use super::validate::Validator;
use crate::canary::{self, Kind, Rotations};

impl Validator<'_> {
    /// The content of canary file `e` of kind `kind`, and the canary's id;
    /// `None` after reporting a problem.
    pub(super) fn canary(
        &mut self,
        e: &Entry<'_>,
        kind: &Spanned<String>,
    ) -> Option<(Vec<u8>, String)> {
        let (src, path) = (e.src, e.path);
        let Some(k) = Kind::parse(kind.get_ref()) else {
            let message = format!("file {path}: unknown canary '{}'", kind.get_ref());
            let help = format!("use one of {}", Kind::CHOICES);
            self.ctx.err_help(src, &kind.span(), message, help);
            return None;
        };
        let clash = content_keys(e.raw).into_iter().map(|(k, s)| (k, Some(s)));
        let clash = clash.chain([("template", e.raw.template.as_ref().map(|t| t.span()))]);
        let mut ok = true;
        for (key, span) in clash.filter_map(|(k, s)| s.map(|s| (k, s))) {
            let message = format!(
                "file {path}: '{key}' has no meaning with canary: the canary is the content"
            );
            self.ctx
                .err_help(src, &span, message, "remove it, or remove canary");
            ok = false;
        }
        let seed = self.seed(src, &kind.span(), (path, "canary"))?;
        let rotation = self.rotations(src, &kind.span())?.of(e.decky);
        if !ok {
            return None;
        }
        let hostname = self.hostname_of(e.decky);
        let place = canary::content::Place {
            fleet: &self.fleet_name.clone(),
            decky: e.decky,
            hostname: &hostname,
            path,
        };
        let (planted, bytes) = canary::planted(&seed, k, place, rotation);
        let id = planted.id.clone();
        self.canaries.list.push(planted);
        self.canaries.seed = Some(seed);
        Some((bytes, id))
    }

    /// The rotation counters beside the seed, read once.
    fn rotations(&mut self, src: usize, span: &std::ops::Range<usize>) -> Option<Rotations> {
        if let Some(r) = &self.canaries.rotations {
            return Some(r.clone());
        }
        let seed = self.seed.path()?.to_path_buf();
        match Rotations::beside(&seed) {
            Ok(r) => {
                if let Ok(p) = r.path.canonicalize() {
                    self.inputs.push(p);
                }
                self.canaries.rotations = Some(r.clone());
                Some(r)
            }
            Err(e) => {
                let help =
                    "fix or remove the file (removing it makes every canary as first issued)";
                self.ctx.err_help(src, span, e.to_string(), help);
                None
            }
        }
    }

    /// The hostname decky `decky`'s base has (its name unless set).
    fn hostname_of(&self, decky: &str) -> String {
        let base = self.containers.iter().rev().find(|c| c.name == decky);
        base.and_then(|b| b.hostname.clone())
            .unwrap_or_else(|| decky.to_string())
    }
}
