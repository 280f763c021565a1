//! What changed since a plan was saved, named: which config file, which
//! container, which managed file, which field. A saved plan keeps the facts
//! it was made from (never file contents: a sensitive file is its digest);
//! `apply FILE` compares them with what it observes again.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::live::{LiveFile, LiveState};

/// The observed facts of one object (`container web-01`, `file web-01:/etc/motd`), field by field.
pub type Fields = BTreeMap<String, String>;

/// Every observed object a plan depends on, by name.
pub type Facts = BTreeMap<String, Fields>;

fn fields(pairs: &[(&str, String)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// The facts of one engine's live state.
pub fn live_facts(live: &LiveState) -> Facts {
    let mut facts = Facts::new();
    for c in live.containers.values() {
        let f = fields(&[
            ("id", c.id.clone()),
            (
                "spec digest",
                c.digest.clone().unwrap_or_else(|| "-".into()),
            ),
            ("state", c.state.clone()),
            ("networks", format!("{:?}", c.lans)),
        ]);
        facts.insert(format!("container {}", c.name), f);
    }
    for n in &live.networks {
        facts.insert(format!("network {n}"), Fields::new());
    }
    for ((container, path), f) in &live.files {
        facts.insert(format!("file {container}:{path}"), file_fields(f));
    }
    if let Some(r) = &live.record {
        let f = fields(&[
            ("generation", r.generation.to_string()),
            ("files", format!("{:?}", r.files)),
        ]);
        facts.insert("the file record".into(), f);
    }
    facts
}

fn file_fields(f: &LiveFile) -> Fields {
    match f {
        LiveFile::Missing => fields(&[("state", "missing".into())]),
        LiveFile::Unreadable(why) => fields(&[("state", format!("unreadable ({why})"))]),
        LiveFile::Blocked { by, kind } => fields(&[("state", format!("blocked by {kind} {by}"))]),
        LiveFile::Present(s) => fields(&[
            ("state", "present".into()),
            ("kind", s.kind.to_string()),
            (
                "content",
                s.content.sha256.clone().unwrap_or_else(|| "over".into()),
            ),
            ("mode", format!("{:o}", s.mode)),
            ("owner", format!("{}:{}", s.uid, s.gid)),
            ("mtime", s.mtime.to_string()),
        ]),
    }
}

/// The facts of a run over several engines: each prefixed `host H: ` when
/// there are several.
pub fn hosts_facts(lives: &[(&str, &LiveState)]) -> Facts {
    let several = lives.len() > 1;
    let mut all = Facts::new();
    for (host, live) in lives {
        for (name, f) in live_facts(live) {
            let name = match several {
                true => format!("host {host}: {name}"),
                false => name,
            };
            all.insert(name, f);
        }
    }
    all
}

/// sha256 over the facts, in order.
pub fn digest(facts: &Facts) -> String {
    let mut h = Sha256::new();
    for (name, f) in facts {
        h.update(name.as_bytes());
        for (k, v) in f {
            h.update([0]);
            h.update(k.as_bytes());
            h.update([1]);
            h.update(v.as_bytes());
        }
        h.update([b'\n']);
    }
    hex::encode(h.finalize())
}

/// What differs between the facts a plan was made from and those seen now,
/// one sentence each: `container web-01: state running -> exited`.
pub fn changes(before: &Facts, now: &Facts) -> Vec<String> {
    let mut out = Vec::new();
    for (name, was) in before {
        match now.get(name) {
            None => out.push(format!("{name}: gone")),
            Some(is) => {
                let fields: Vec<String> = was
                    .iter()
                    .filter(|(k, v)| is.get(*k) != Some(*v))
                    .map(|(k, v)| field_change(k, v, is.get(k)))
                    .collect();
                if !fields.is_empty() {
                    out.push(format!("{name}: {}", fields.join(", ")));
                }
            }
        }
    }
    let new = now.keys().filter(|n| !before.contains_key(*n));
    out.extend(new.map(|name| format!("{name}: new")));
    out
}

/// One field's change; digests and ids are named, not shown.
fn field_change(key: &str, was: &str, is: Option<&String>) -> String {
    match (key, is) {
        ("content" | "spec digest" | "id" | "files", _) | (_, None) => format!("{key} changed"),
        (_, Some(is)) => format!("{key} {was} -> {is}"),
    }
}

/// sha256 of each config input, by path: what `apply FILE` names when the
/// configuration changed.
pub fn input_digests(inputs: &[PathBuf]) -> BTreeMap<String, String> {
    inputs
        .iter()
        .map(|p| {
            let digest = match std::fs::read(p) {
                Ok(bytes) => hex::encode(Sha256::digest(&bytes)),
                Err(_) => "unreadable".into(),
            };
            let path = std::path::absolute(p).unwrap_or_else(|_| p.clone());
            (path.display().to_string(), digest)
        })
        .collect()
}

/// Which config inputs differ: `deckhand.toml changed`, `baits/x added`.
pub fn input_changes(
    before: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (path, was) in before {
        match now.get(path) {
            None => out.push(format!("{path} is no longer read")),
            Some(is) if is != was => out.push(format!("{path} changed")),
            Some(_) => {}
        }
    }
    let added = now.keys().filter(|p| !before.contains_key(*p));
    out.extend(added.map(|p| format!("{p} is read now")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(entries: &[(&str, &[(&str, &str)])]) -> Facts {
        entries
            .iter()
            .map(|(name, f)| {
                let f = f.iter().map(|(k, v)| (k.to_string(), v.to_string()));
                (name.to_string(), f.collect())
            })
            .collect()
    }

    #[test]
    fn a_changed_field_is_named_with_its_values_and_a_digest_only_by_name() {
        let before = facts(&[
            ("container a", &[("state", "running"), ("id", "1")]),
            ("file a:/etc/motd", &[("content", "x"), ("mode", "644")]),
            ("network lan", &[]),
        ]);
        let now = facts(&[
            ("container a", &[("state", "exited"), ("id", "1")]),
            ("file a:/etc/motd", &[("content", "y"), ("mode", "600")]),
            ("container b", &[("state", "running")]),
        ]);
        assert_eq!(
            changes(&before, &now),
            vec![
                "container a: state running -> exited",
                "file a:/etc/motd: content changed, mode 644 -> 600",
                "network lan: gone",
                "container b: new",
            ]
        );
    }

    #[test]
    fn equal_facts_have_no_changes_and_the_same_digest() {
        let a = facts(&[("container a", &[("state", "running")])]);
        assert!(changes(&a, &a.clone()).is_empty());
        assert_eq!(digest(&a), digest(&a.clone()));
        let b = facts(&[("container a", &[("state", "exited")])]);
        assert_ne!(digest(&a), digest(&b));
    }

    #[test]
    fn a_config_input_changed_added_or_dropped_is_named() {
        let before: BTreeMap<String, String> = [
            ("d.toml".to_string(), "1".to_string()),
            ("bait".into(), "2".into()),
        ]
        .into();
        let now: BTreeMap<String, String> = [
            ("d.toml".to_string(), "3".to_string()),
            ("extra".into(), "4".into()),
        ]
        .into();
        assert_eq!(
            input_changes(&before, &now),
            vec![
                "bait is no longer read",
                "d.toml changed",
                "extra is read now"
            ]
        );
    }
}
