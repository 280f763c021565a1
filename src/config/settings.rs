//! The SPEC §7 settings of a base or a service, as written: each checked
//! (file:line, what to do) and put in the model's form, then read into
//! [`Settings`] by the model's own deserialiser.

use serde_json::{json, Value as Json};
use toml::{Spanned, Value};

use super::validate::Validator;
use crate::settings::{cpus_nanos, cpus_text, Settings, NETWORK_KEYS};

/// The smallest memory limit the engine accepts.
const MEM_MIN: i64 = 6 * 1024 * 1024;

/// One key's value in the model's form, or what is wrong and what to do.
type Checked = Result<Json, (String, &'static str)>;

impl Validator<'_> {
    /// The settings `raw` sets on `place` (`service 'ssh'`, `decky 'web-01'`)
    /// over `settings`. A service shares its base's network namespace: it
    /// cannot carry the network keys.
    pub fn settings(
        &mut self,
        src: usize,
        place: &str,
        shares_network: bool,
        raw: Vec<(&'static str, &Spanned<Value>)>,
        settings: Settings,
    ) -> Settings {
        let Ok(Json::Object(mut model)) = serde_json::to_value(&settings) else {
            return settings;
        };
        for (key, value) in raw {
            let span = value.span();
            if shares_network && NETWORK_KEYS.contains(&key) {
                let message = format!("{place}: {key} cannot be set on a service: it shares its base's network namespace");
                let help = "set it on the decky (its base) instead";
                self.ctx.err_help(src, &span, message, help);
                continue;
            }
            if matches!(key, "privileged" | "devices") {
                let message =
                    format!("{place}: {key} gives an intruder in this container the host");
                self.ctx.warn(src, &span, message);
            }
            let checked = check(key, value.get_ref()).and_then(|v| typed(key, v));
            match checked {
                Ok(v) => {
                    model.insert(key.to_string(), v);
                }
                Err((message, help)) => {
                    self.ctx
                        .err_help(src, &span, format!("{place}: {key} {message}"), help);
                }
            }
        }
        serde_json::from_value(Json::Object(model)).unwrap_or(settings)
    }
}

/// `v` read by the model alone, so that a wrong type is this key's error.
fn typed(key: &str, v: Json) -> Checked {
    match serde_json::from_value::<Settings>(json!({ key: v })) {
        Ok(_) => Ok(v),
        Err(_) => Err(("has the wrong type".into(), help(key))),
    }
}

/// What a valid value of `key` looks like.
fn help(key: &str) -> &'static str {
    match key {
        "restart" => {
            "one of \"no\", \"always\", \"unless-stopped\", \"on-failure\", \"on-failure:N\""
        }
        "mem_limit" => "bytes, or a size like \"512m\" or \"1g\" (at least 6m)",
        "cpus" => "a number of CPUs above 0, like 0.5 or 2",
        "pids_limit" => "a whole number above 0",
        "ulimits" => {
            "like ulimits = { nofile = 1024 } or { nofile = { soft = 1024, hard = 2048 } }"
        }
        "read_only" | "privileged" => "true or false",
        "labels" => "a table of strings; deckhand.* labels are deckhand's own",
        "user" => "a user name or uid, optionally :group",
        "working_dir" => "an absolute path inside the container",
        "tmpfs" => "a list of absolute paths, each optionally :options (\"/run:size=64m\")",
        "devices" => "a list like [\"/dev/net/tun\"] or [\"/dev/x:/dev/y:rwm\"]",
        "extra_hosts" => "a list like [\"db.corp.local:10.0.0.5\"]",
        "dns" => "a list of IP addresses",
        "mac_address" => "six hex pairs like \"02:42:0a:00:00:05\", not a multicast address",
        "domainname" => "a DNS domain like \"corp.local\": labels of letters, digits and '-'",
        "healthcheck" => "like { test = [\"CMD\", \"true\"], interval = \"30s\", timeout = \"5s\", start_period = \"10s\", retries = 3 }",
        _ => "a list of strings",
    }
}

/// `value` of `key` in the model's form.
fn check(key: &str, value: &Value) -> Checked {
    let bad = |what: &str| Err((what.to_string(), help(key)));
    match (key, value) {
        (_, Value::Array(items)) => check_list(key, items, value),
        ("restart", Value::String(s)) => match restart_ok(s) {
            true => Ok(json!(s)),
            false => bad(&format!("'{s}' is not a restart policy")),
        },
        ("mem_limit", v) => match bytes(v) {
            Some(n) if n >= MEM_MIN => Ok(json!(n)),
            _ => bad("is not a memory size of at least 6m"),
        },
        ("cpus", Value::Float(_) | Value::Integer(_) | Value::String(_)) => cpus(value),
        ("pids_limit", Value::Integer(n)) if *n <= 0 => bad("must be above 0"),
        ("ulimits", Value::Table(t)) => {
            ulimits(t).ok_or(("is not a table of limits".into(), help(key)))
        }
        ("labels", Value::Table(t)) => match t.keys().find(|k| crate::labels::is_tool_label(k)) {
            Some(k) => bad(&format!("'{k}' is a tool's label, not the operator's")),
            None => to_json(value),
        },
        ("working_dir", Value::String(s)) if !s.starts_with('/') => bad("is not an absolute path"),
        ("mac_address", Value::String(m)) => match unicast_mac(m) {
            Some(m) => Ok(json!(m)),
            None => bad(&format!("'{m}' is not a unicast MAC address")),
        },
        ("domainname", Value::String(d)) if !is_domain(d) => {
            bad(&format!("'{d}' is not a DNS domain"))
        }
        ("healthcheck", Value::Table(t)) => match healthcheck(t) {
            Some(h) => Ok(h),
            None => bad("is not a health check"),
        },
        _ => to_json(value),
    }
}

/// What each entry of a list must satisfy.
type EntryCheck = fn(&str) -> bool;

/// A list-valued `key`: each entry checked; `tmpfs` sorted.
fn check_list(key: &str, items: &[Value], value: &Value) -> Checked {
    let rule: Option<(EntryCheck, &str)> = match key {
        "tmpfs" | "devices" => Some((|p| p.starts_with('/'), "holds a path that is not absolute")),
        "extra_hosts" => Some((
            |h| h.contains(':'),
            "holds an entry that is not host:address",
        )),
        "dns" => Some((
            |s| s.parse::<std::net::IpAddr>().is_ok(),
            "holds something that is not an IP address",
        )),
        _ => None,
    };
    let texts = || items.iter().filter_map(Value::as_str);
    if let Some((_, what)) = rule.filter(|(valid, _)| !texts().all(valid)) {
        return Err((what.to_string(), help(key)));
    }
    match key {
        "tmpfs" => {
            let mut sorted: Vec<&str> = texts().collect();
            sorted.sort();
            Ok(json!(sorted))
        }
        _ => to_json(value),
    }
}

/// `cpus` as a number or a string, in the model's shortest decimal.
fn cpus(value: &Value) -> Checked {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match cpus_nanos(&text) {
        Some(n) => Ok(json!(cpus_text(n))),
        None => Err((
            format!("'{text}' is not a number of CPUs above 0"),
            help("cpus"),
        )),
    }
}

/// A health check with its durations in the model's form; a string test is
/// run by the shell.
fn healthcheck(t: &toml::Table) -> Option<Json> {
    let mut out = serde_json::to_value(t).ok()?;
    out["test"] = match t.get("test")? {
        Value::String(s) => json!(["CMD-SHELL", s]),
        Value::Array(a) if !a.is_empty() => serde_json::to_value(a).ok()?,
        _ => return None,
    };
    for key in ["interval", "timeout", "start_period"] {
        if let Some(d) = t.get(key) {
            out[key] = json!(crate::settings::duration_text(
                crate::settings::duration_nanos(d.as_str()?)?
            ));
        }
    }
    Some(out)
}

/// `m` lowercase, as the engine reports it, when it is six hex pairs
/// joined by `:` and not multicast (the engine refuses those).
fn unicast_mac(m: &str) -> Option<String> {
    let pairs: Vec<u8> = m
        .split(':')
        .map(|p| {
            (p.len() == 2)
                .then(|| u8::from_str_radix(p, 16).ok())
                .flatten()
        })
        .collect::<Option<_>>()?;
    (pairs.len() == 6 && pairs[0] & 1 == 0).then(|| m.to_ascii_lowercase())
}

fn to_json(v: &Value) -> Checked {
    serde_json::to_value(v).map_err(|_| ("has the wrong type".into(), "see SPEC §7"))
}

fn restart_ok(s: &str) -> bool {
    match s.split_once(':') {
        Some(("on-failure", n)) => n.parse::<u32>().is_ok(),
        Some(_) => false,
        None => matches!(s, "no" | "always" | "unless-stopped" | "on-failure"),
    }
}

/// Bytes, or a size with a unit: `b`, `k`, `m`, `g` (powers of 1024).
fn bytes(v: &Value) -> Option<i64> {
    match v {
        Value::Integer(n) => Some(*n),
        Value::String(s) => {
            let s = s.trim().to_ascii_lowercase();
            let s = s.strip_suffix('b').filter(|r| !r.is_empty()).unwrap_or(&s);
            let (digits, unit) = match s.char_indices().last()? {
                (i, c) if c.is_ascii_alphabetic() => (&s[..i], c),
                _ => (s, 'b'),
            };
            let shift = match unit {
                'b' => 0,
                'k' => 10,
                'm' => 20,
                'g' => 30,
                _ => return None,
            };
            digits.parse::<i64>().ok()?.checked_mul(1 << shift)
        }
        _ => None,
    }
}

/// `{ nofile = 1024 }` or `{ nofile = { soft = 1024, hard = 2048 } }`, soft at most hard.
fn ulimits(t: &toml::Table) -> Option<Json> {
    let mut out = serde_json::Map::new();
    for (name, v) in t {
        let (soft, hard) = match v {
            Value::Integer(n) => (*n, *n),
            Value::Table(l) => (l.get("soft")?.as_integer()?, l.get("hard")?.as_integer()?),
            _ => return None,
        };
        if soft > hard || soft < 0 || l_extra(v) {
            return None;
        }
        out.insert(name.clone(), json!({"soft": soft, "hard": hard}));
    }
    Some(Json::Object(out))
}

/// A limit table with keys beyond `soft` and `hard`.
fn l_extra(v: &Value) -> bool {
    v.as_table()
        .is_some_and(|l| l.keys().any(|k| k != "soft" && k != "hard"))
}

/// A DNS domain: dot-separated labels of 1 to 63 letters, digits and
/// hyphens, none starting or ending with a hyphen, 253 characters at most.
fn is_domain(d: &str) -> bool {
    let label = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    d.len() <= 253 && d.split('.').all(label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_read_in_powers_of_1024() {
        assert_eq!(bytes(&Value::String("512m".into())), Some(512 << 20));
        assert_eq!(bytes(&Value::String("1GB".into())), Some(1 << 30));
        assert_eq!(bytes(&Value::Integer(7340032)), Some(7340032));
        assert_eq!(bytes(&Value::String("12x".into())), None);
    }

    #[test]
    fn values_are_put_in_the_model_form() {
        assert_eq!(check("cpus", &Value::Float(0.5)).unwrap(), json!("0.5"));
        assert_eq!(
            check("restart", &Value::String("on-failure:3".into())).unwrap(),
            json!("on-failure:3")
        );
        assert!(check("restart", &Value::String("sometimes".into())).is_err());
        let t: toml::Table =
            toml::from_str("nofile = 1024\nnproc = { soft = 1, hard = 2 }").unwrap();
        assert_eq!(
            check("ulimits", &Value::Table(t)).unwrap(),
            json!({"nofile": {"soft": 1024, "hard": 1024}, "nproc": {"soft": 1, "hard": 2}})
        );
        let mac = |m: &str| check("mac_address", &Value::String(m.into()));
        assert_eq!(
            mac("02:AA:bb:00:00:01").unwrap(),
            json!("02:aa:bb:00:00:01")
        );
        assert!(mac("01:00:5e:00:00:01").is_err(), "multicast");
        assert!(mac("02:aa:bb:00:00").is_err());
        assert!(mac("02:aa:bb:00:00:1").is_err());
        let labels: toml::Table = toml::from_str("\"deckhand.fleet\" = \"x\"").unwrap();
        assert!(check("labels", &Value::Table(labels)).is_err());
    }

    #[test]
    fn a_domainname_is_a_dns_domain() {
        let check = |d: &str| check("domainname", &Value::String(d.into())).is_ok();
        assert!(check("corp.local") && check("eu-west.corp.example") && check("lan"));
        for bad in [
            "",
            "corp..local",
            "-corp.local",
            "corp-.local",
            "co rp.local",
            "a\u{1b}b",
        ] {
            assert!(!check(bad), "{bad:?}");
        }
        assert!(!check(&format!("{}.local", "a".repeat(64))));
    }

    #[test]
    fn a_list_setting_names_what_is_wrong_with_its_entries() {
        let list = |items: &[&str]| {
            Value::Array(items.iter().map(|i| Value::String(i.to_string())).collect())
        };
        let why = |key: &str, items: &[&str]| check(key, &list(items)).err().map(|(m, _)| m);
        assert_eq!(
            why("devices", &["dev/x"]).as_deref(),
            Some("holds a path that is not absolute")
        );
        assert_eq!(
            why("extra_hosts", &["db"]).as_deref(),
            Some("holds an entry that is not host:address")
        );
        assert_eq!(
            why("dns", &["ns1"]).as_deref(),
            Some("holds something that is not an IP address")
        );
        assert_eq!(why("dns_search", &["corp.local"]), None);
        assert_eq!(
            check("tmpfs", &list(&["/tmp", "/run"])).ok(),
            Some(json!(["/run", "/tmp"]))
        );
    }
}
