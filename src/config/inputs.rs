//! What the desired state reads from disk besides the TOML: `source` files and
//! build contexts. Each must resolve (symlinks followed) inside the directory
//! tree of the file that names it.

use std::path::{Path, PathBuf};

use toml::Spanned;

use super::validate::Validator;
use super::MAX_SOURCE_BYTES;
use crate::build::{self, Build};

const SOURCE_HELP: &str =
    "source paths are relative to the TOML file and must stay inside its directory";
const BUILD_HELP: &str =
    "build is a directory with a Dockerfile, relative to the TOML file and inside its directory";

/// `rel`, relative to `dir` and resolved with symlinks followed, when it stays
/// inside `dir`'s tree. `what` names it in messages (`source 'x'`).
fn inside_tree(dir: &Path, rel: &str, what: &str) -> Result<PathBuf, String> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let root = dir
        .canonicalize()
        .map_err(|e| format!("cannot resolve directory {}: {e}", dir.display()))?;
    let wanted = dir.join(rel);
    let real = wanted
        .canonicalize()
        .map_err(|e| format!("{what} cannot be read ({}): {e}", wanted.display()))?;
    if !real.starts_with(&root) {
        return Err(format!(
            "{what} resolves to {}, outside {}",
            real.display(),
            root.display()
        ));
    }
    Ok(real)
}

impl Validator<'_> {
    /// The build context `b` of service `name`: a directory inside the
    /// config's tree, holding a Dockerfile.
    pub fn resolve_build(&mut self, src: usize, name: &str, b: &Spanned<String>) -> Option<Build> {
        let what = format!("build '{}'", b.get_ref());
        let result =
            inside_tree(self.ctx.sources[src].dir(), b.get_ref(), &what).and_then(|real| {
                if !real.is_dir() {
                    return Err(format!("{what} is not a directory"));
                }
                build::resolve(name, &real)
            });
        let message = |m| format!("service '{name}': {m}");
        result
            .map_err(|m| self.ctx.err_help(src, &b.span(), message(m), BUILD_HELP))
            .ok()
    }

    /// The bytes of `source` `s` of file `path`: a regular file inside the
    /// config's tree, within the size cap. It becomes an input.
    pub fn read_source(&mut self, src: usize, s: &Spanned<String>, path: &str) -> Option<Vec<u8>> {
        let what = format!("source '{}'", s.get_ref());
        let read = inside_tree(self.ctx.sources[src].dir(), s.get_ref(), &what)
            .map_err(|m| (m, SOURCE_HELP))
            .and_then(|real| read_regular(&real, &what).map(|bytes| (real, bytes)));
        match read {
            Ok((real, bytes)) => {
                self.inputs.push(real);
                Some(bytes)
            }
            Err((m, help)) => {
                let message = format!("file {path}: {m}");
                self.ctx.err_help(src, &s.span(), message, help);
                None
            }
        }
    }
}

/// A regular file's bytes, within the cap; the error comes with its help.
fn read_regular(real: &Path, what: &str) -> Result<Vec<u8>, (String, &'static str)> {
    let fail = |m: String| (m, SOURCE_HELP);
    let meta = std::fs::metadata(real).map_err(|e| fail(format!("{what}: {e}")))?;
    if !meta.is_file() {
        return Err(fail(format!("{what} is not a regular file")));
    }
    if meta.len() > MAX_SOURCE_BYTES {
        return Err((
            format!(
                "{what} is {} bytes, over the limit of {MAX_SOURCE_BYTES} (64 MiB)",
                meta.len()
            ),
            "bait files are small: trim it",
        ));
    }
    std::fs::read(real).map_err(|e| fail(format!("{what}: {e}")))
}
