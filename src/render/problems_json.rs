//! What a check found (SPEC §4), as JSON: in `plan --format json` under
//! `problems`, and in `apply --json`'s `error` event. Pure: values in,
//! values out.

use serde_json::{json, Map, Value};

use crate::plan::checks::{headline, Problem};

/// One problem: `check` and its fields, the `host`, its `message` and `help`.
pub fn problem(host: &str, p: &Problem) -> Value {
    let mut v = serde_json::to_value(p).expect("a problem is plain strings");
    v["host"] = json!(host);
    v["message"] = json!(p.message());
    v["help"] = json!(p.help());
    v
}

/// Every problem of one engine.
pub fn problems(host: &str, found: &[Problem]) -> Vec<Value> {
    found.iter().map(|p| problem(host, p)).collect()
}

/// The `error` event of an engine whose plan the checks stopped: what is
/// wrong under `message` (a line per problem), what to do under `help` (a
/// line per problem), each problem under `problems`.
pub fn blocked_event(fleet: &str, host: &str, found: &[Problem]) -> Map<String, Value> {
    let mut said = vec![headline(found.len())];
    said.extend(found.iter().map(|p| format!("  {}", p.message())));
    let help: Vec<String> = found.iter().map(Problem::help).collect();
    let mut e = super::events_json::error(fleet, Some(host), &said.join("\n"));
    e.insert("help".into(), json!(help.join("\n")));
    e.insert("problems".into(), json!(problems(host, found)));
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found() -> Vec<Problem> {
        vec![
            Problem::AddressHeld {
                decky: "corp-web".into(),
                container: "corp-web".into(),
                network: "lan".into(),
                ip: "10.1.0.10".into(),
                holder: "nc-legacy".into(),
            },
            Problem::PortBound {
                decky: "corp-db".into(),
                container: "corp-db-ssh".into(),
                port: "2222/tcp".into(),
            },
        ]
    }

    #[test]
    fn a_problem_carries_its_check_fields_host_and_words() {
        let v = problem("edge", &found()[0]);
        insta::assert_snapshot!(serde_json::to_string_pretty(&v).unwrap());
    }

    #[test]
    fn a_stopped_plan_is_one_error_event_with_help_apart() {
        let mut e = blocked_event("corp", "local", &found());
        e.remove("time");
        assert!(!e["message"].as_str().unwrap().contains("help:"));
        assert_eq!(e["problems"].as_array().unwrap().len(), 2);
        insta::assert_snapshot!(serde_json::to_string_pretty(&e).unwrap());
    }
}
