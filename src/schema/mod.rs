//! A JSON Schema of the desired-state file (SPEC §1), for editors.
//!
//! taplo and Even Better TOML use it to complete keys, show what each one means
//! and underline mistakes while typing. `validate` stays the authority: rules
//! that span tables (a decky naming an unknown service, two names mapping to one
//! container, `source` escaping its tree) are beyond a schema and are only
//! checked there. A test keeps the key sets here equal to the serde types in
//! `config::raw`, so neither can gain a key the other lacks.

mod decky;
mod fleet;
mod settings;

use serde_json::{json, Value};

use decky::{decky, service};
use fleet::{fleet, host, network, rotation};
use settings::with_settings;

/// The schema as a JSON value (draft-07, which taplo understands).
pub fn schema() -> Value {
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://deckhand.invalid/schema/deckhand.schema.json",
        "title": "deckhand.toml",
        "description": "A fleet of DECNET deckies kept live by deckhand. `deckhand validate` checks what a schema cannot.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "fleet": fleet(),
            "hosts": table("Docker engines the fleet runs on besides `local` (SPEC §6). A decky names its engine with `host`; `[hosts.local]` redefines the default engine.", host()),
            "networks": table("Networks, created when missing and never deleted implicitly.", network()),
            "services": table("The service catalog: what a decky can run beside its base container.", with_settings(service())),
            "deckies": table("The decoy hosts. Each is a base container plus its services and bait files.", with_settings(decky())),
            "rotation": rotation(),
        }
    })
}

/// Adds the keys of `more` to the properties of the object schema `schema`.
pub(super) fn extend(schema: &mut Value, more: Value) {
    if let (Some(props), Value::Object(more)) = (schema["properties"].as_object_mut(), more) {
        props.extend(more);
    }
}

pub(super) fn table(description: &str, entry: Value) -> Value {
    json!({"description": description, "type": "object", "additionalProperties": entry})
}

pub(super) fn string(description: &str) -> Value {
    json!({"description": description, "type": "string"})
}

pub(super) fn names(description: &str) -> Value {
    json!({"description": description, "type": "array", "items": {"type": "string"}, "uniqueItems": true})
}

pub(super) fn argv(description: &str) -> Value {
    json!({"description": description, "type": "array", "items": {"type": "string"}})
}

pub(super) fn env(description: &str) -> Value {
    json!({"description": description, "type": "object", "additionalProperties": {"type": "string"}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw::RawConfig;
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    fn validator() -> jsonschema::Validator {
        jsonschema::validator_for(&schema()).expect("the schema is a valid draft-07 schema")
    }

    fn as_json(toml_text: &str) -> Value {
        let value: toml::Value = toml::from_str(toml_text).expect("test input is TOML");
        serde_json::to_value(value).unwrap()
    }

    fn errors(toml_text: &str) -> Vec<String> {
        validator()
            .iter_errors(&as_json(toml_text))
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }

    /// The keys serde accepts in one table, read from its unknown-field error.
    fn raw_keys(table_header: &str) -> BTreeSet<String> {
        let text = format!("{table_header}\nzz_not_a_key = 1\n");
        let message = toml::from_str::<RawConfig>(&text).unwrap_err().to_string();
        let expected = message
            .split("expected")
            .nth(1)
            .unwrap_or_else(|| panic!("no expected list in: {message}"));
        expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    fn schema_keys(pointer: &str) -> BTreeSet<String> {
        let schema = schema();
        let properties = schema
            .pointer(pointer)
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object)
            .unwrap_or_else(|| panic!("no properties at {pointer}"));
        properties.keys().cloned().collect()
    }

    #[test]
    fn schema_has_exactly_the_keys_serde_accepts() {
        let tables = [
            ("", ""),
            ("[fleet]", "/properties/fleet"),
            ("[hosts.a]", "/properties/hosts/additionalProperties"),
            (
                "[hosts.a.tls]",
                "/properties/hosts/additionalProperties/properties/tls",
            ),
            ("[networks.a]", "/properties/networks/additionalProperties"),
            ("[services.a]", "/properties/services/additionalProperties"),
            ("[deckies.a]", "/properties/deckies/additionalProperties"),
            (
                "[deckies.a.files.\"/x\"]",
                "/properties/deckies/additionalProperties/properties/files/additionalProperties",
            ),
        ];
        for (header, pointer) in tables {
            assert_eq!(
                schema_keys(pointer),
                raw_keys(header),
                "keys of {header:?} differ between the schema and config::raw"
            );
        }
    }

    fn toml_files(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().unwrap().to_string_lossy().starts_with('.') {
                continue; // editor settings such as .taplo.toml
            }
            if path.is_dir() {
                toml_files(&path, found);
            } else if path.extension().is_some_and(|e| e == "toml") {
                found.push(path);
            }
        }
    }

    #[test]
    fn every_example_file_is_valid() {
        let mut files = Vec::new();
        toml_files(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"),
            &mut files,
        );
        assert!(
            files.len() >= 4,
            "examples hold the quickstart and the gitops split config"
        );
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            assert_eq!(errors(&text), Vec::<String>::new(), "{}", file.display());
        }
    }

    #[test]
    fn the_gitops_example_ships_the_current_schema() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/gitops/deckhand.schema.json");
        let shipped = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            shipped,
            format!("{:#}\n", schema()),
            "refresh it: deckhand schema > examples/gitops/deckhand.schema.json"
        );
    }

    #[test]
    fn unknown_keys_are_rejected_at_every_level() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid");
        let mut seen = 0;
        for entry in std::fs::read_dir(&fixtures).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name.starts_with("unknown_") && name.ends_with("_key.toml") {
                let text = std::fs::read_to_string(&path).unwrap();
                let found = errors(&text);
                assert!(
                    found.iter().any(|e| e.contains("Additional properties")),
                    "{name}: {found:?}"
                );
                seen += 1;
            }
        }
        assert_eq!(
            seen, 5,
            "fixtures for top, fleet, service, decky and file keys"
        );
    }

    #[test]
    fn values_a_schema_can_check_are_checked() {
        let base = "[fleet]\nname = \"f\"\n[deckies.d.files.\"/a\"]\ncontent = \"x\"\n";
        assert_eq!(errors(base), Vec::<String>::new());
        let bad = [
            "[fleet]\nname = \"Bad Name\"\n",
            "[networks.n]\ndriver = \"overlay\"\n",
            "[services.s]\nimage = \"i\"\nports = [70000]\n",
            "[services.s]\ncommand = \"not a list\"\nimage = \"i\"\n",
            "[deckies.d.files.\"/a\"]\ncontent = \"x\"\nmode = 0o17777\n",
            "[deckies.d.files.\"/a\"]\ncontent = \"x\"\nmode = \"0900\"\n",
            "[deckies.d.files.\"/a\"]\ncontent = \"x\"\nowner = \"root:root\"\n",
            "[deckies.d.files.\"/a\"]\ncontent = \"x\"\nsource = \"f\"\n",
            "[deckies.d.files.\"/a\"]\ncontent = \"x\"\nensure = \"gone\"\n",
            "[deckies.d.files.\"relative\"]\ncontent = \"x\"\n",
        ];
        for text in bad {
            assert!(!errors(text).is_empty(), "accepted: {text}");
        }
    }
}
