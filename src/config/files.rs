//! Rules for a decky's `files."/path"` entries, each expanded into a
//! [`FileSpec`].

use std::ops::Range;

use base64::Engine as _;

use super::raw::{Key, RawFileEntry};
use super::validate::Validator;
use super::values;
use super::MAX_SOURCE_BYTES;
use crate::desired::{Ensure, FileContent, FileSpec, Mtime, OnDrift};

/// One file entry being checked: where it is and what it says.
pub(super) struct Entry<'e> {
    pub decky: &'e str,
    pub src: usize,
    pub path: &'e str,
    pub span: Range<usize>,
    pub raw: &'e RawFileEntry,
}

impl Validator<'_> {
    /// File `key` of decky `decky`, or `None` when anything about it is wrong.
    pub fn file(
        &mut self,
        decky: &str,
        src: usize,
        key: &Key,
        entry: &toml::Spanned<Box<RawFileEntry>>,
        services: &[String],
    ) -> Option<FileSpec> {
        let e = Entry {
            decky,
            src,
            path: key.get_ref(),
            span: key.span(),
            raw: entry.get_ref(),
        };
        let before = self.ctx.diags.len();
        if let Err(m) = values::file_path(e.path) {
            self.ctx.err(src, &e.span, format!("decky '{decky}': {m}"));
        }
        let target = self.target(&e, services);
        let on_drift = match &e.raw.on_drift {
            Some(o) => self.drift_policy(src, o).unwrap_or_default(),
            None => self.on_drift,
        };
        let canary = e.raw.canary.as_ref();
        let spec = |ensure, canary| FileSpec {
            decky: decky.to_string(),
            container: match target.as_str() {
                "base" => decky.to_string(),
                t => format!("{decky}-{t}"),
            },
            target: target.clone(),
            path: e.path.to_string(),
            // A canary's token is never shown: its file is sensitive.
            sensitive: e.raw.sensitive || e.raw.canary.is_some(),
            ensure,
            on_drift,
            canary,
        };
        if self.is_absent(&e) {
            self.absent(&e, on_drift);
            return (self.ctx.diags.len() == before).then(|| spec(Ensure::Absent, None));
        }
        let (content, id) = self.present(&e, canary);
        let content = content.filter(|_| self.ctx.diags.len() == before)?;
        Some(spec(Ensure::Present(content), id))
    }

    /// A file to make absent: no content keys, and not seeded.
    fn absent(&mut self, e: &Entry<'_>, on_drift: OnDrift) {
        self.no_content_keys(e);
        if on_drift == OnDrift::Seed {
            let span = e.raw.on_drift.as_ref().map_or(e.span.clone(), |o| o.span());
            let message = format!("file {}: on_drift = \"seed\" writes a file when it is absent; it cannot go with ensure = \"absent\"", e.path);
            self.ctx
                .err_help(e.src, &span, message, "drop one of the two keys");
        }
    }

    /// A present file's content with its metadata, and its canary's id.
    /// Content and metadata are both checked, so that every problem is
    /// reported at once.
    fn present(
        &mut self,
        e: &Entry<'_>,
        canary: Option<&toml::Spanned<String>>,
    ) -> (Option<FileContent>, Option<String>) {
        let (bytes, id) = match canary {
            Some(kind) => self.canary(e, kind).unzip(),
            None => {
                let bytes = self.content(e);
                let template = e.raw.template.as_ref();
                let at = (e.decky, e.src, e.path);
                (bytes.and_then(|b| self.templated(at, template, b)), None)
            }
        };
        let content = self.metadata(e).zip(bytes).map(|(meta, bytes)| meta(bytes));
        (content, id)
    }

    /// The container the file lives in: a service of the decky or `base`;
    /// by default `ssh` when the decky has it.
    fn target(&mut self, e: &Entry<'_>, services: &[String]) -> String {
        let Some(t) = &e.raw.target else {
            let ssh = services.iter().any(|s| s == "ssh");
            return if ssh { "ssh" } else { "base" }.to_string();
        };
        let name = t.get_ref();
        if name != "base" && !services.contains(name) {
            let choices = match services.is_empty() {
                true => "(none)".to_string(),
                false => services.join(", "),
            };
            self.ctx.err_help(
                e.src,
                &t.span(),
                format!(
                    "file {} of decky '{}': target '{name}' is not a service of this decky",
                    e.path, e.decky
                ),
                format!("use \"base\" or one of the decky's services: {choices}"),
            );
        }
        name.clone()
    }

    /// `ensure = "absent"`; anything but present or absent is an error.
    fn is_absent(&mut self, e: &Entry<'_>) -> bool {
        match &e.raw.ensure {
            None => false,
            Some(v) if v.get_ref() == "present" => false,
            Some(v) if v.get_ref() == "absent" => true,
            Some(v) => {
                self.ctx.err_help(
                    e.src,
                    &v.span(),
                    format!("file {}: unknown ensure '{}'", e.path, v.get_ref()),
                    "use \"present\" or \"absent\"",
                );
                false
            }
        }
    }

    /// An absent file takes no content and no metadata keys.
    fn no_content_keys(&mut self, e: &Entry<'_>) {
        let raw = e.raw;
        let meta = [
            ("mode", raw.mode.as_ref().map(|v| v.span())),
            ("owner", raw.owner.as_ref().map(|v| v.span())),
            ("mtime", raw.mtime.as_ref().map(|v| v.span())),
            ("mtime_offset", raw.mtime_offset.as_ref().map(|v| v.span())),
            ("template", raw.template.as_ref().map(|v| v.span())),
            ("canary", raw.canary.as_ref().map(|v| v.span())),
        ];
        let content = content_keys(raw).into_iter().map(|(k, s)| (k, Some(s)));
        for (k, s) in content.chain(meta) {
            if let Some(s) = s {
                self.ctx.err_help(
                    e.src,
                    &s,
                    format!(
                        "file {}: '{k}' has no meaning with ensure = \"absent\"",
                        e.path
                    ),
                    "remove it, or remove ensure = \"absent\"",
                );
            }
        }
    }

    /// The bytes of exactly one of content, content_b64 and source, within the cap.
    fn content(&mut self, e: &Entry<'_>) -> Option<Vec<u8>> {
        let (raw, path) = (e.raw, e.path);
        let keys = content_keys(raw);
        if keys.len() != 1 {
            let at = keys
                .get(1)
                .map(|(_, s)| s.clone())
                .unwrap_or(e.span.clone());
            let has = match keys.is_empty() {
                true => "none".to_string(),
                false => keys
                    .iter()
                    .map(|(k, _)| *k)
                    .collect::<Vec<_>>()
                    .join(" and "),
            };
            self.ctx.err_help(e.src, &at, format!("file {path} of decky '{}' needs exactly one of content, content_b64, source; it has {has}", e.decky), "keep one content key (or set ensure = \"absent\")");
            return None;
        }
        let bytes = if let Some(c) = &raw.content {
            c.get_ref().clone().into_bytes()
        } else if let Some(b) = &raw.content_b64 {
            let decoded = base64::engine::general_purpose::STANDARD.decode(b.get_ref().trim());
            decoded
                .map_err(|err| {
                    let why = base64_problem(&err);
                    let message = format!("file {path}: content_b64 is not valid base64 ({why})");
                    self.ctx.err(e.src, &b.span(), message)
                })
                .ok()?
        } else {
            let s = raw.source.as_ref().expect("one content key is present");
            self.read_source(e.src, s, path)?
        };
        if bytes.len() as u64 > MAX_SOURCE_BYTES {
            self.ctx.err_help(
                e.src,
                &keys[0].1,
                format!("file {path}: the content is {} bytes, over the limit of {MAX_SOURCE_BYTES} (64 MiB)", bytes.len()),
                "bait files are small: trim it",
            );
            return None;
        }
        Some(bytes)
    }

    /// Mode, owner and mtime, with their defaults: the content, given its bytes.
    fn metadata(&mut self, e: &Entry<'_>) -> Option<impl FnOnce(Vec<u8>) -> FileContent> {
        let (raw, path, src) = (e.raw, e.path, e.src);
        let both = raw.mtime.is_some() && raw.mtime_offset.is_some();
        if let (true, Some(o)) = (both, &raw.mtime_offset) {
            self.ctx.err_help(
                src,
                &o.span(),
                format!("file {path}: both mtime and mtime_offset"),
                "keep one: mtime is absolute, mtime_offset relative to apply time",
            );
        }
        let mode = match &raw.mode {
            Some(m) => self.checked(src, path, values::mode(m.get_ref()), m.span()),
            // A canary is a secret someone kept: 0600 (ssh refuses a key readable by others).
            None if raw.canary.is_some() => Some(0o600),
            None => Some(0o644),
        };
        let owner = match &raw.owner {
            Some(o) => self.checked(src, path, values::owner(o.get_ref()), o.span()),
            None => Some((0, 0)),
        };
        let mtime = match (&raw.mtime, &raw.mtime_offset) {
            _ if both => None,
            (Some(m), _) => self.checked(
                src,
                path,
                values::mtime(m.get_ref()).map(Mtime::Absolute),
                m.span(),
            ),
            (None, Some(o)) => self.checked(
                src,
                path,
                values::mtime_offset(o.get_ref()).map(Mtime::Offset),
                o.span(),
            ),
            (None, None) => Some(Mtime::Offset(0)),
        };
        let (mode, ((uid, gid), mtime)) = mode.zip(owner.zip(mtime))?;
        Some(move |bytes| FileContent {
            bytes,
            mode,
            uid,
            gid,
            mtime,
        })
    }
}

impl Validator<'_> {
    /// The value, or `None` with its problem reported as `file PATH: …`.
    fn checked<T>(
        &mut self,
        src: usize,
        path: &str,
        r: Result<T, String>,
        span: Range<usize>,
    ) -> Option<T> {
        r.map_err(|m| self.ctx.err(src, &span, format!("file {path}: {m}")))
            .ok()
    }
}

/// The content keys an entry sets, with where.
pub(super) fn content_keys(raw: &RawFileEntry) -> Vec<(&'static str, Range<usize>)> {
    [
        ("content", &raw.content),
        ("content_b64", &raw.content_b64),
        ("source", &raw.source),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| (k, v.span())))
    .collect()
}

/// What is wrong with base64 text, without echoing any of it (it may be a secret).
fn base64_problem(e: &base64::DecodeError) -> String {
    match e {
        base64::DecodeError::InvalidByte(offset, _) => {
            format!("a character that is not base64 at offset {offset}")
        }
        base64::DecodeError::InvalidLength(_) => {
            "its length is not a whole number of base64 groups".to_string()
        }
        base64::DecodeError::InvalidLastSymbol(offset, _) => {
            format!("an invalid last character at offset {offset}")
        }
        base64::DecodeError::InvalidPadding => "invalid padding".to_string(),
    }
}
