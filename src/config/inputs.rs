//! What the desired state reads from disk besides the TOML: `source` files and
//! build contexts. Each must resolve (symlinks followed) inside the directory
//! tree of the file that names it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::validate::Validator;
use super::MAX_SOURCE_BYTES;
use crate::build::{self, Build};

const SOURCE_HELP: &str =
    "source paths are relative to the TOML file and must stay inside its directory";
const BUILD_HELP: &str =
    "build is a directory with a Dockerfile, relative to the TOML file and inside its directory: build = \"dir\" or build = { context = \"dir\", args = { NAME = \"value\" } }";

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

/// A `build` value: its context and arguments.
fn build_of(v: &toml::Value) -> Result<(String, BTreeMap<String, String>), String> {
    let table = match v {
        toml::Value::String(dir) => return Ok((dir.clone(), BTreeMap::new())),
        toml::Value::Table(t) => t,
        _ => return Err("build is neither a directory nor a table".into()),
    };
    if let Some(k) = table.keys().find(|k| *k != "context" && *k != "args") {
        return Err(format!(
            "build has an unknown key '{k}' (context and args are known)"
        ));
    }
    let Some(toml::Value::String(context)) = table.get("context") else {
        return Err("build has no context directory".into());
    };
    let mut args = BTreeMap::new();
    match table.get("args") {
        None => {}
        Some(toml::Value::Table(a)) => {
            for (k, v) in a {
                let toml::Value::String(v) = v else {
                    return Err(format!("build arg {k} is not a string"));
                };
                args.insert(k.clone(), v.clone());
            }
        }
        Some(_) => return Err("build args is not a table of strings".into()),
    }
    Ok((context.clone(), args))
}

impl Validator<'_> {
    /// The build `b` of `place` (`service 'ssh'`), its image tagged after
    /// `name`: a context directory inside the config's tree, holding a
    /// Dockerfile, and its arguments.
    pub fn resolve_build(
        &mut self,
        src: usize,
        place: &str,
        name: &str,
        b: &Spanned<toml::Value>,
    ) -> Option<Build> {
        let result = build_of(b.get_ref()).and_then(|(context, args)| {
            let what = format!("build '{context}'");
            let real = inside_tree(self.ctx.sources[src].dir(), &context, &what)?;
            if !real.is_dir() {
                return Err(format!("{what} is not a directory"));
            }
            build::resolve(name, &real, &args)
        });
        let message = |m| format!("{place}: {m}");
        let build = result
            .map_err(|m| self.ctx.err_help(src, &b.span(), message(m), BUILD_HELP))
            .ok()?;
        // Its files are inputs: for watch, and for saved plans.
        let files = build.files.iter();
        self.inputs
            .extend(files.map(|f| f.canonicalize().unwrap_or_else(|_| f.clone())));
        Some(build)
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
