//! The first look at a file: every syntax error, every unknown key and every
//! value of the wrong type, all at once, each with file:line, the key and what
//! to do. The keys and types come from [`crate::schema`] (which a test keeps
//! equal to the serde types of `raw`), so no list is kept twice.
//!
//! serde stops at its first error; this pass does not, so a file with three
//! mistakes is fixed in one edit, not three runs.

use serde_json::Value as Schema;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::error::Diagnostic;
use super::source::SourceFile;

/// Every problem of `source` found before serde reads it; empty when none.
pub(super) fn check(source: &SourceFile) -> Vec<Diagnostic> {
    let (doc, errors) = DeTable::parse_recoverable(&source.text);
    let mut walk = Walk {
        source,
        diags: errors.iter().map(|e| syntax(source, e)).collect(),
    };
    // After a duplicate key the rest of the file is read as written; after
    // any other syntax error it may not be, and its keys are not judged.
    if errors
        .iter()
        .any(|e| !e.message().starts_with("duplicate key"))
    {
        return walk.diags;
    }
    walk.table(&crate::schema::schema(), doc.get_ref(), "");
    // Keys come sorted by name; problems are read in the file's order.
    walk.diags
        .sort_by_key(|d| d.location.as_ref().map(|at| (at.line, at.column)));
    walk.diags
}

/// A syntax error in toml's words, with the key named for a duplicate.
fn syntax(source: &SourceFile, e: &toml::de::Error) -> Diagnostic {
    let span = e.span().unwrap_or(0..0);
    let message = e.message().trim_end();
    if message.starts_with("duplicate key") {
        let line_start = source.text[..span.start.min(source.text.len())]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let line = source.text[line_start..]
            .lines()
            .next()
            .unwrap_or("")
            .trim();
        if line.starts_with('[') {
            let name = line.trim_matches(|c| c == '[' || c == ']').trim();
            let first = source.text[..line_start]
                .lines()
                .position(|l| l.trim() == line)
                .map_or(String::new(), |i| format!(" (first at line {})", i + 1));
            return source.diagnostic(
                &span,
                format!("table [{name}] is defined twice in this file{first}"),
                Some("merge the two tables into one".to_string()),
            );
        }
        let text = source.text.get(span.clone()).unwrap_or("").trim();
        return source.diagnostic(
            &span,
            format!("duplicate key '{}'", text.trim_matches('"')),
            Some("a key is set once per table: remove one of the two".to_string()),
        );
    }
    source.diagnostic(&span, message.to_string(), None)
}

struct Walk<'a> {
    source: &'a SourceFile,
    diags: Vec<Diagnostic>,
}

impl Walk<'_> {
    /// Checks a table's keys against `schema` (an object schema) and each value
    /// against its own; `path` is the table's dotted name ("" at the top).
    fn table(&mut self, schema: &Schema, table: &DeTable<'_>, path: &str) {
        let known = schema.get("properties").and_then(Schema::as_object);
        let entries = schema.get("additionalProperties");
        for (key, value) in table {
            let name = key.get_ref().as_ref();
            let child = match (known.and_then(|k| k.get(name)), entries) {
                (Some(s), _) => s,
                (None, Some(s)) if s.is_object() => s,
                (None, Some(Schema::Bool(true))) => continue,
                _ => {
                    let names: Vec<&str> = known
                        .map(|k| k.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    self.unknown(key, path, &names);
                    continue;
                }
            };
            let child_path = if path.is_empty() {
                name.to_string()
            } else {
                format!("{path}.{}", display_key(name))
            };
            self.value(child, value, name, &child_path);
        }
    }

    fn value(&mut self, schema: &Schema, value: &Spanned<DeValue<'_>>, key: &str, path: &str) {
        if let Some(want) = wrong_type(schema, value.get_ref()) {
            let got = kind(value.get_ref());
            let text = self.source.text.get(value.span()).unwrap_or("").trim();
            self.diags.push(self.source.diagnostic(
                &value.span(),
                format!("'{key}' ({path}) must be {want}, not {got}"),
                Some(type_help(want, key, text)),
            ));
            return;
        }
        match value.get_ref() {
            DeValue::Table(t) if is_object(schema) => self.table(schema, t, path),
            DeValue::Array(items) => {
                if let Some(item) = schema.get("items") {
                    for v in items.iter() {
                        self.value(item, v, key, path);
                    }
                }
            }
            _ => {}
        }
    }

    fn unknown(&mut self, key: &Spanned<toml::de::DeString<'_>>, path: &str, names: &[&str]) {
        let name = key.get_ref().as_ref();
        let place = if path.is_empty() {
            "at the top level".to_string()
        } else {
            format!("in [{path}]")
        };
        let help = match suggest(name, names) {
            Some(near) => format!("did you mean '{near}'?"),
            None => format!("the keys {place} are: {}", names.join(", ")),
        };
        self.diags.push(self.source.diagnostic(
            &key.span(),
            format!("unknown key '{name}' {place}"),
            Some(help),
        ));
    }
}

/// The closest known name, when it is close enough to be a typo.
fn suggest<'a>(name: &str, names: &[&'a str]) -> Option<&'a str> {
    names
        .iter()
        .map(|n| (strsim::jaro_winkler(name, n), *n))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, n)| n)
}

/// A key as it appears in a dotted path: quoted when it is not bare.
fn display_key(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        name.to_string()
    } else {
        format!("\"{name}\"")
    }
}

fn is_object(schema: &Schema) -> bool {
    schema.get("properties").is_some() || schema.get("additionalProperties").is_some()
}

/// The type `schema` asks for when `value` is not of it; `None` when it fits
/// or the schema does not say plainly (`oneOf`, no `type`).
fn wrong_type(schema: &Schema, value: &DeValue<'_>) -> Option<&'static str> {
    let types: Vec<&str> = match schema.get("type")? {
        Schema::String(t) => vec![t.as_str()],
        Schema::Array(ts) => ts.iter().filter_map(Schema::as_str).collect(),
        _ => return None,
    };
    let fits = |t: &str| match (t, value) {
        // A datetime is read from a string too (mtime): serde decides.
        ("string", DeValue::String(_) | DeValue::Datetime(_)) => true,
        ("integer", DeValue::Integer(_)) => true,
        ("number", DeValue::Integer(_) | DeValue::Float(_)) => true,
        ("boolean", DeValue::Boolean(_)) => true,
        ("array", DeValue::Array(_)) => true,
        ("object", DeValue::Table(_)) => true,
        _ => false,
    };
    if types.iter().any(|t| fits(t)) {
        return None;
    }
    Some(match *types.first()? {
        "string" if types.len() > 1 => "a string or an integer",
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "true or false",
        "array" => "a list",
        "object" => "a table",
        _ => return None,
    })
}

fn kind(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "a list",
        DeValue::Table(_) => "a table",
    }
}

fn type_help(want: &str, key: &str, text: &str) -> String {
    let key = display_key(key);
    match want {
        "a string" => format!(
            "put the value in quotes: {key} = \"{}\"",
            text.trim_matches('\'')
        ),
        "an integer" | "a number" => format!(
            "write a number without quotes: {key} = {}",
            text.trim_matches('"')
        ),
        "true or false" => format!("write {key} = true or {key} = false, without quotes"),
        "a list" => format!("write a list in brackets: {key} = [{text}]"),
        "a table" => format!("write a table: [..{key}] or {key} = {{ … }}"),
        _ => format!("write {key} as {want}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_text(text: &str) -> Vec<String> {
        let src = SourceFile::new("d.toml".into(), text.to_string());
        check(&src).iter().map(|d| d.to_string()).collect()
    }

    const HEAD: &str = "[fleet]\nname = \"x\"\nbase_image = \"i:1\"\n";

    #[test]
    fn every_unknown_key_and_wrong_type_is_reported_at_once() {
        let got = check_text(&format!(
            "{HEAD}\n[deckies.web-01]\nservces = []\nip = 10\n\n[deckies.web-02]\nhostnme = \"w\"\n"
        ));
        assert_eq!(
            got,
            [
                "d.toml:6:1: unknown key 'servces' in [deckies.web-01]\n  help: did you mean 'services'?",
                "d.toml:7:6: 'ip' (deckies.web-01.ip) must be a string, not an integer\n  help: put the value in quotes: ip = \"10\"",
                "d.toml:10:1: unknown key 'hostnme' in [deckies.web-02]\n  help: did you mean 'hostname'?",
            ]
        );
    }

    #[test]
    fn a_key_far_from_any_known_one_lists_the_keys() {
        let got = check_text("[hosts.edge]\nqqq = 2\ntls = { ca = \"a\", zzz = \"b\" }\n");
        assert_eq!(
            got,
            [
                "d.toml:2:1: unknown key 'qqq' in [hosts.edge]\n  help: the keys in [hosts.edge] are: docker_host, tls",
                "d.toml:3:19: unknown key 'zzz' in [hosts.edge.tls]\n  help: the keys in [hosts.edge.tls] are: ca, cert, key",
            ]
        );
    }

    #[test]
    fn a_duplicate_key_is_named() {
        let got = check_text(&format!("{HEAD}services = []\nservices = []\n"));
        assert_eq!(
            got,
            ["d.toml:5:1: duplicate key 'services'\n  help: a key is set once per table: remove one of the two"]
        );
    }

    #[test]
    fn keys_under_open_tables_and_variant_values_are_left_to_serde() {
        let got = check_text(&format!(
            "{HEAD}\n[deckies.web-01]\nservices = []\nsysctls = {{ \"net.ipv4.ip_forward\" = 1 }}\nenv = {{ ANY_NAME = \"v\" }}\n\n[deckies.web-01.files.\"/a\"]\ncontent = \"x\"\nmode = \"0600\"\nmtime = 2025-01-12T09:30:00Z\n"
        ));
        assert!(got.is_empty(), "{got:?}");
    }
}
