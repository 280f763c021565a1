//! TOML text pieces: quoted strings, bare keys where they may be, lists and
//! inline tables.

use std::collections::BTreeMap;

pub fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// `k` bare when TOML allows it, else quoted.
pub fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        quote(k)
    }
}

pub fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| quote(i)).collect();
    format!("[{}]", quoted.join(", "))
}

/// `{ k = "v", … }`.
pub fn inline(map: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{} = {}", key(k), quote(v)))
        .collect();
    format!("{{ {} }}", pairs.join(", "))
}

/// `{ driver = "…", options = { … } }`.
pub fn logging(l: &crate::desired::Logging) -> String {
    match l.options.is_empty() {
        true => format!("{{ driver = {} }}", quote(&l.driver)),
        false => format!(
            "{{ driver = {}, options = {} }}",
            quote(&l.driver),
            inline(&l.options)
        ),
    }
}

/// The most common value, ties broken by order.
pub fn most_common<T: Ord + Clone>(values: impl Iterator<Item = T>) -> Option<T> {
    let mut counts: BTreeMap<T, usize> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(v, _)| v)
}

/// The settings keys written on their own (placeholders, personas, the fleet's logging).
const WRITTEN_APART: &[&str] = &[
    "cap_add", "cap_drop", "persona", "sysctls", "volumes", "logging",
];

/// `key = value` lines for every other setting that is set, as the file
/// writes them (the model's serialised form is the file's form).
pub fn settings(s: &crate::settings::Settings) -> Vec<String> {
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(s) else {
        return Vec::new();
    };
    map.into_iter()
        .filter(|(k, _)| !WRITTEN_APART.contains(&k.as_str()))
        .filter_map(|(k, v)| Some(format!("{} = {}", key(&k), toml_value(v)?)))
        .collect()
}

/// A JSON value as inline TOML.
fn toml_value(v: serde_json::Value) -> Option<String> {
    let v: toml::Value = serde_json::from_value(v).ok()?;
    Some(match v {
        toml::Value::Table(t) => {
            let pairs = t.into_iter().map(|(k, v)| format!("{} = {v}", key(&k)));
            format!("{{ {} }}", pairs.collect::<Vec<_>>().join(", "))
        }
        other => other.to_string(),
    })
}
