//! Several TOML files as one desired state: each parsed, then their tables
//! gathered, with a name defined twice refused naming both places.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use super::error::Diagnostic;
use super::raw::{Key, RawConfig, RawDecky, RawFleet, RawHost, RawNetwork, RawService, Table};
use super::source::SourceFile;

/// A table entry and the file it was found in.
pub(super) struct Named<'a, T> {
    pub src: usize,
    pub key: &'a Key,
    pub value: &'a Spanned<T>,
}

/// The files being validated and every problem found so far.
pub(super) struct Ctx<'a> {
    pub sources: &'a [SourceFile],
    pub diags: Vec<Diagnostic>,
    /// What is accepted but worth saying (`privileged`, `devices`).
    pub warnings: Vec<Diagnostic>,
}

impl Ctx<'_> {
    pub fn warn(&mut self, src: usize, span: &Range<usize>, message: impl Into<String>) {
        let help = "only if you mean it: an intruder who owns this decky owns the host".to_string();
        self.warnings
            .push(self.sources[src].diagnostic(span, message, Some(help)));
    }

    pub fn err(&mut self, src: usize, span: &Range<usize>, message: impl Into<String>) {
        self.diags
            .push(self.sources[src].diagnostic(span, message, None));
    }

    pub fn err_help(
        &mut self,
        src: usize,
        span: &Range<usize>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diags
            .push(self.sources[src].diagnostic(span, message, Some(help.into())));
    }

    pub fn at(&self, src: usize, span: &Range<usize>) -> String {
        self.sources[src].location(span).to_string()
    }
}

/// Every table of every file, gathered.
pub(super) struct Tables<'a> {
    pub fleet: &'a RawFleet,
    pub fleet_src: usize,
    pub hosts: BTreeMap<String, Named<'a, RawHost>>,
    pub networks: BTreeMap<String, Named<'a, RawNetwork>>,
    pub catalog: BTreeMap<String, Named<'a, RawService>>,
    pub deckies: BTreeMap<String, Named<'a, Box<RawDecky>>>,
}

/// Each file parsed, in order; a syntax error is a diagnostic.
pub(super) fn parse(ctx: &mut Ctx<'_>) -> Vec<(usize, RawConfig)> {
    let mut raws = Vec::new();
    for (i, source) in ctx.sources.iter().enumerate() {
        let problems = super::keys::check(source);
        if !problems.is_empty() {
            ctx.diags.extend(problems);
            continue;
        }
        match toml::from_str::<RawConfig>(&source.text) {
            Ok(raw) => raws.push((i, raw)),
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                let diag = source.diagnostic(&span, e.message().trim_end().to_string(), None);
                ctx.diags.push(diag);
            }
        }
    }
    raws
}

/// The tables of all files as one; `None` when there is no `[fleet]`.
pub(super) fn gather<'a>(ctx: &mut Ctx<'_>, raws: &'a [(usize, RawConfig)]) -> Option<Tables<'a>> {
    let mut fleet: Option<(usize, &Spanned<RawFleet>)> = None;
    let (mut hosts, mut networks, mut catalog, mut deckies) = Default::default();
    for (src, raw) in raws {
        if let Some(f) = &raw.fleet {
            match fleet {
                Some((first_src, first)) => {
                    let first_at = ctx.at(first_src, &first.span());
                    ctx.err_help(
                        *src,
                        &f.span(),
                        format!("a second [fleet] table: the first is at {first_at}"),
                        "keep exactly one [fleet] table across all files",
                    );
                }
                None => fleet = Some((*src, f)),
            }
        }
        merge(ctx, "host", &mut hosts, *src, &raw.hosts);
        merge(ctx, "network", &mut networks, *src, &raw.networks);
        merge(ctx, "service", &mut catalog, *src, &raw.services);
        merge(ctx, "decky", &mut deckies, *src, &raw.deckies);
    }
    let Some((fleet_src, fleet)) = fleet else {
        let help = "add a [fleet] table with at least name = \"...\"";
        ctx.err_help(0, &(0..0), "no [fleet] table", help);
        return None;
    };
    Some(Tables {
        fleet: fleet.get_ref(),
        fleet_src,
        hosts,
        networks,
        catalog,
        deckies,
    })
}

/// Collects one kind of table from every file, refusing a name defined twice.
fn merge<'a, T>(
    ctx: &mut Ctx<'_>,
    kind: &str,
    into: &mut BTreeMap<String, Named<'a, T>>,
    src: usize,
    table: &'a Table<T>,
) {
    for (key, value) in table {
        if let Some(first) = into.get(key.get_ref()) {
            let first_at = ctx.at(first.src, &first.key.span());
            ctx.err_help(
                src,
                &key.span(),
                format!(
                    "{kind} '{}' is defined twice: here and at {first_at}",
                    key.get_ref()
                ),
                "keep one definition",
            );
            continue;
        }
        into.insert(key.get_ref().clone(), Named { src, key, value });
    }
}

/// Names for a message: `a, b, c`, or `(none)`.
pub(super) fn list_names<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        "(none)".to_string()
    } else {
        names.join(", ")
    }
}
