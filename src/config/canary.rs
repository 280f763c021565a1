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
        crate::desired::hostname_of(&self.containers, decky)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    /// A fleet whose decky `web` has its own container name and hostname,
    /// with a password canary and a templated file.
    const FLEET: &str = r#"[fleet]
name = "corp"
base_image = "img:1"
seed_file = "seed"

[deckies.web]
services = []
container_name = "srv-web"
hostname = "files-01"

[deckies.web.files."/root/.my.cnf"]
canary = "password"

[deckies.web.files."/etc/motd"]
content = "welcome to {hostname}\n"
template = true
"#;

    /// The fleet above and `extra`, loaded with a seed beside it.
    fn loaded(extra: &str) -> crate::config::Loaded {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("deckhand.toml"), format!("{FLEET}{extra}")).unwrap();
        let seed = dir.path().join("seed");
        std::fs::write(&seed, [7u8; 32]).unwrap();
        std::fs::set_permissions(&seed, std::fs::Permissions::from_mode(0o600)).unwrap();
        crate::config::load(&dir.path().join("deckhand.toml")).unwrap()
    }

    /// The content file `path` of `loaded` is written with.
    fn content<'a>(
        loaded: &'a crate::config::Loaded,
        path: &str,
    ) -> &'a crate::desired::FileContent {
        let f = loaded
            .desired
            .files
            .iter()
            .find(|f| f.path == path)
            .unwrap();
        let crate::desired::Ensure::Present(c) = &f.ensure else {
            panic!("{path} absent")
        };
        c
    }

    #[test]
    fn content_uses_the_hostname_of_a_base_with_its_own_container_name() {
        let loaded = loaded("");
        let text = |path: &str| String::from_utf8(content(&loaded, path).bytes.clone()).unwrap();
        assert!(
            text("/root/.my.cnf").contains("cron on files-01;"),
            "{}",
            text("/root/.my.cnf")
        );
        assert_eq!(text("/etc/motd"), "welcome to files-01\n");
    }

    #[test]
    fn a_canary_file_defaults_to_mode_0600_and_others_to_0644() {
        let aws =
            "\n[deckies.web.files.\"/root/.aws/credentials\"]\ncanary = \"aws\"\nmode = 0o640\n";
        let loaded = loaded(aws);
        let mode = |path: &str| content(&loaded, path).mode;
        assert_eq!(mode("/root/.my.cnf"), 0o600);
        assert_eq!(mode("/root/.aws/credentials"), 0o640);
        assert_eq!(mode("/etc/motd"), 0o644);
    }
}
