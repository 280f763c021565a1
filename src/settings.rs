//! A container's runtime settings (SPEC §7 "Every setting of a container, in
//! one model"): one type, held in the desired spec, in what the engine is
//! asked to create and in what it reports. Mapped to and from the engine in
//! `engine/settings.rs`; replace reasons come from the field names here.
//!
//! A setting left unset is not serialised: a container made before a setting
//! existed keeps its spec digest. The fields are in the order the spec held
//! them before this type (`cap_add` … `logging`), new ones after.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::desired::Logging;

/// The driver name of `logging = "engine"`: the engine's default, never compared live.
pub const ENGINE_LOGGING: &str = "engine";

/// Every runtime setting of a container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    /// Bases only: the OS persona whose network sysctls `sysctls` carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persona: Option<String>,
    /// Bases only (services share the base's network namespace).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<String, String>,
    /// Bind mounts, `host:container[:ro|rw]`, placeholders expanded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    /// `no`, `always`, `on-failure[:N]`; unset is `unless-stopped`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
    /// Memory limit in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_limit: Option<i64>,
    /// CPU limit, in CPUs as written by [`cpus_text`] (`"0.5"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    /// By name (`nofile`): soft and hard limit.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ulimits: BTreeMap<String, Ulimit>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_opt: Vec<String>,
    /// `path` or `path:options`, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
    /// `host:ip`. Network key: not on a service.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<String>,
    /// Network key: not on a service.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    /// Network key: not on a service.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_search: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// The operator's own labels (`deckhand.*` is reserved).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Accepted with a warning: an intruder in such a container owns the host.
    #[serde(default, skip_serializing_if = "is_false")]
    pub privileged: bool,
    /// `host[:container[:permissions]]`; accepted with a warning.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    /// The MAC address on the base's first network, lowercase. Network key:
    /// not on a service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    /// The DNS domain the base answers to (`hostname -d`, `hostname -f`).
    /// Network key: not on a service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
}

/// A health check: the command, and durations as [`duration_text`] writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Healthcheck {
    pub test: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i64>,
}

/// Nanoseconds as `"30s"`, or `"1500ms"` when not whole seconds.
pub fn duration_text(nanos: i64) -> String {
    match nanos % 1_000_000_000 {
        0 => format!("{}s", nanos / 1_000_000_000),
        _ => format!("{}ms", nanos / 1_000_000),
    }
}

/// `"30s"`, `"1500ms"`, `"2m"`, `"1h"` in nanoseconds (`None` when not one of those).
pub fn duration_nanos(text: &str) -> Option<i64> {
    let (digits, unit) = match text.strip_suffix("ms") {
        Some(d) => (d, 1_000_000),
        None => {
            let unit = match text.chars().last()? {
                's' => 1_000_000_000,
                'm' => 60_000_000_000,
                'h' => 3_600_000_000_000,
                _ => return None,
            };
            (&text[..text.len() - 1], unit)
        }
    };
    digits
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)?
        .checked_mul(unit)
}

/// A resource limit: soft and hard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Ulimit {
    pub soft: i64,
    pub hard: i64,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The settings a container sharing another's network namespace cannot carry.
pub const NETWORK_KEYS: &[&str] = &[
    "dns",
    "dns_search",
    "extra_hosts",
    "mac_address",
    "domainname",
];

/// `nanos` billionths of a CPU as the shortest decimal: `"0.5"`, `"2"`.
pub fn cpus_text(nanos: i64) -> String {
    let whole = nanos / 1_000_000_000;
    let frac = nanos % 1_000_000_000;
    match frac {
        0 => whole.to_string(),
        f => format!("{whole}.{}", format!("{f:09}").trim_end_matches('0')),
    }
}

/// A `cpus` text in billionths of a CPU (`None` when not a positive number).
pub fn cpus_nanos(text: &str) -> Option<i64> {
    let n: f64 = text.parse().ok()?;
    (n.is_finite() && n > 0.0 && n < 1e6).then(|| (n * 1e9).round() as i64)
}

impl Settings {
    /// Why `live` differs from `want`, named by field. Maps are named key by
    /// key (`sysctl net.ipv4.ip_default_ttl 64 -> 128`), lists by item added
    /// and removed, anything else by its two values.
    pub fn reasons(live: &Settings, want: &Settings) -> Vec<String> {
        let (Ok(serde_json::Value::Object(live)), Ok(serde_json::Value::Object(want))) =
            (serde_json::to_value(live), serde_json::to_value(want))
        else {
            return Vec::new();
        };
        let mut fields: Vec<&String> = live.keys().chain(want.keys()).collect();
        fields.sort_by_key(|f| FIELD_ORDER.iter().position(|o| o == f));
        fields.dedup();
        let none = serde_json::Value::Null;
        let mut out = Vec::new();
        for field in fields {
            let (a, b) = (
                live.get(field).unwrap_or(&none),
                want.get(field).unwrap_or(&none),
            );
            if a != b {
                out.extend(field_reasons(field, a, b));
            }
        }
        out
    }
}

/// Field names in declaration order (reasons follow it).
const FIELD_ORDER: &[&str] = &[
    "persona",
    "sysctls",
    "cap_add",
    "cap_drop",
    "volumes",
    "logging",
    "restart",
    "mem_limit",
    "cpus",
    "pids_limit",
    "ulimits",
    "security_opt",
    "tmpfs",
    "read_only",
    "extra_hosts",
    "dns",
    "dns_search",
    "user",
    "working_dir",
    "labels",
    "privileged",
    "devices",
    "healthcheck",
    "mac_address",
    "domainname",
];

fn show(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "(none)".to_string(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One field's reasons: per key for a map, per item for a list of strings.
fn field_reasons(field: &str, a: &serde_json::Value, b: &serde_json::Value) -> Vec<String> {
    use serde_json::Value;
    let empty = serde_json::Map::new();
    match (a, b) {
        (Value::Object(_) | Value::Null, Value::Object(_) | Value::Null) if field != "logging" => {
            let (a, b) = (
                a.as_object().unwrap_or(&empty),
                b.as_object().unwrap_or(&empty),
            );
            let one = field.strip_suffix('s').unwrap_or(field);
            let mut out = Vec::new();
            for (k, v) in b {
                match a.get(k) {
                    None => out.push(format!("{one} {k} added ({})", show(v))),
                    Some(old) if old != v => {
                        out.push(format!("{one} {k} {} -> {}", show(old), show(v)))
                    }
                    _ => {}
                }
            }
            let gone = a.keys().filter(|k| !b.contains_key(*k));
            out.extend(gone.map(|k| format!("{one} {k} removed")));
            out
        }
        (Value::Array(_) | Value::Null, Value::Array(_) | Value::Null) if field == "volumes" => {
            let (a, b) = (
                a.as_array().cloned().unwrap_or_default(),
                b.as_array().cloned(),
            );
            let b = b.unwrap_or_default();
            let added = b.iter().filter(|v| !a.contains(v));
            let mut out: Vec<String> = added
                .map(|v| format!("volume added: {}", show(v)))
                .collect();
            let removed = a.iter().filter(|v| !b.contains(v));
            out.extend(removed.map(|v| format!("volume removed: {}", show(v))));
            out
        }
        _ if field == "logging" => vec!["logging changed".to_string()],
        _ => vec![format!("{field} {} -> {}", show(a), show(b))],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpus_are_written_the_shortest_way() {
        assert_eq!(cpus_text(500_000_000), "0.5");
        assert_eq!(cpus_text(2_000_000_000), "2");
        assert_eq!(cpus_nanos("1.25"), Some(1_250_000_000));
        assert_eq!(cpus_nanos("0"), None);
    }

    #[test]
    fn unset_settings_serialise_to_nothing() {
        assert_eq!(serde_json::to_string(&Settings::default()).unwrap(), "{}");
    }

    #[test]
    fn every_field_is_in_the_reason_order() {
        let all = Settings {
            persona: Some("linux".into()),
            logging: Some(Logging {
                driver: "x".into(),
                options: BTreeMap::new(),
            }),
            restart: Some("no".into()),
            mem_limit: Some(1),
            cpus: Some("1".into()),
            pids_limit: Some(1),
            read_only: true,
            user: Some("u".into()),
            working_dir: Some("/".into()),
            privileged: true,
            mac_address: Some("02:00:00:00:00:01".into()),
            domainname: Some("corp.local".into()),
            ..Settings::default()
        };
        let mut all = serde_json::to_value(&all).unwrap();
        let map = all.as_object_mut().unwrap();
        for f in [
            "cap_add",
            "cap_drop",
            "volumes",
            "security_opt",
            "tmpfs",
            "extra_hosts",
        ] {
            map.insert(f.into(), serde_json::json!(["x"]));
        }
        for f in ["dns", "dns_search", "devices"] {
            map.insert(f.into(), serde_json::json!(["x"]));
        }
        for f in ["sysctls", "labels"] {
            map.insert(f.into(), serde_json::json!({"k": "v"}));
        }
        map.insert(
            "ulimits".into(),
            serde_json::json!({"nofile": {"soft": 1, "hard": 2}}),
        );
        map.insert(
            "healthcheck".into(),
            serde_json::json!({"test": ["CMD", "true"]}),
        );
        let back: Settings = serde_json::from_value(all.clone()).unwrap();
        let keys = serde_json::to_value(&back).unwrap();
        for k in keys.as_object().unwrap().keys() {
            assert!(FIELD_ORDER.contains(&k.as_str()), "{k} not in FIELD_ORDER");
        }
        assert_eq!(keys.as_object().unwrap().len(), FIELD_ORDER.len());
    }

    #[test]
    fn reasons_name_the_field_and_both_values() {
        let live = Settings::default();
        let want = Settings {
            read_only: true,
            mem_limit: Some(64 << 20),
            dns: vec!["9.9.9.9".into()],
            labels: [("team".to_string(), "red".to_string())].into(),
            ..Settings::default()
        };
        assert_eq!(
            Settings::reasons(&live, &want),
            vec![
                "mem_limit (none) -> 67108864",
                "read_only (none) -> true",
                "dns (none) -> [\"9.9.9.9\"]",
                "label team added (red)",
            ]
        );
    }
}
