//! `--json` on apply, destroy and watch (SPEC §9): one JSON object per line,
//! each with its type's fields.

mod common;

use std::time::Duration;

use common::watch::{within, Watch};
use common::{docker, Fleet};
use serde_json::Value;

const CONFIG: &str = concat!(
    fleet_table!(),
    http_service!(),
    r#"
[deckies.{fleet}-a]
services = ["http"]

[deckies.{fleet}-a.files."/srv/bait"]
content = "v1\n"
target = "base"
"#
);

/// Every line of `out` as JSON, checked for the fields every event has and
/// those of its type.
fn events(out: &str, fleet: &str) -> Vec<Value> {
    let mut all = Vec::new();
    for line in out.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert_eq!(v["format_version"], 1, "{line}");
        assert!(
            v["time"].as_str().is_some_and(|t| t.ends_with('Z')),
            "{line}"
        );
        let kind = v["type"]
            .as_str()
            .unwrap_or_else(|| panic!("no type: {line}"));
        let fields: &[&str] = match kind {
            "plan" => &["plan"],
            "step" => &[
                "action", "kind", "host", "decky", "service", "path", "status", "error", "seconds",
            ],
            "pass" => &["status", "reasons"],
            "summary" => &["done", "failed"],
            "error" => &["message", "help"],
            "evidence" => &["host", "container", "path", "sha256", "size"],
            "drift" => &["host", "kind", "decky", "container", "path", "what"],
            "bait_access" => &["container", "path", "access", "untold"],
            other => panic!("unknown type {other}: {line}"),
        };
        for f in fields {
            assert!(v.get(*f).is_some(), "{kind} without {f}: {line}");
        }
        if kind != "error" {
            assert_eq!(v["fleet"], fleet, "{line}");
        }
        all.push(v);
    }
    all
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

#[test]
fn apply_json_is_one_event_per_line_from_plan_to_summary() {
    let fleet = Fleet::new("json");
    fleet.write(CONFIG);
    let refused = fleet.deckhand(&["apply", "--json"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    let error = events(&refused.stdout, &fleet.name);
    assert!(
        error[0]["message"]
            .as_str()
            .unwrap()
            .contains("--json never prompts"),
        "{refused:?}"
    );
    let help = error[0]["help"].as_str().unwrap_or_default();
    assert!(help.starts_with("pass --auto-approve"), "{refused:?}");

    let run = fleet.deckhand(&["apply", "--json", "--auto-approve"]);
    assert_eq!(run.code, 0, "{run:?}");
    let all = events(&run.stdout, &fleet.name);
    assert_eq!(all[0]["type"], "plan", "{run:?}");
    assert_eq!(all.last().unwrap()["type"], "summary", "{run:?}");
    let steps = of_type(&all, "step");
    let started = steps.iter().filter(|s| s["status"] == "started").count();
    let done = steps.iter().filter(|s| s["status"] == "done").count();
    assert_eq!((started, done), (3, 3), "{run:?}");
    assert!(
        steps
            .iter()
            .any(|s| s["kind"] == "file" && s["path"] == "/srv/bait"),
        "{run:?}"
    );
    assert_eq!(all.last().unwrap()["failed"], 0);

    // A failed step is a failed step event, and the summary counts it.
    fleet.write(&CONFIG.replace(
        "[services.http]\nimage = \"{image}\"",
        "[services.http]\nimage = \"127.0.0.1:1/deckhand/no-such:0\"",
    ));
    let run = fleet.deckhand(&["apply", "--json", "--auto-approve"]);
    assert_eq!(run.code, 1, "{run:?}");
    let all = events(&run.stdout, &fleet.name);
    let failed = of_type(&all, "step")
        .into_iter()
        .find(|s| s["status"] == "failed")
        .expect("a failed step");
    assert!(
        failed["error"].as_str().unwrap().contains("no-such"),
        "{run:?}"
    );
    assert_eq!(all.last().unwrap()["failed"], 1, "{run:?}");
}

#[test]
fn a_watch_that_heals_a_bait_file_says_so_in_events() {
    let fleet = Fleet::new("jsonw");
    fleet.write(CONFIG);
    let watch = Watch::start_json(&fleet, 1);
    let healed = |out: &str| {
        let all = events(out, &fleet.name);
        let steps = of_type(&all, "step").into_iter();
        steps
            .filter(|s| s["path"] == "/srv/bait" && s["status"] == "done")
            .count()
    };
    // Dropped by the first pass (tampering before that would race the drop
    // itself), then tampered with, then healed by a later pass.
    within(Duration::from_secs(60), || healed(&watch.output()) == 1)
        .unwrap_or_else(|| panic!("never dropped:\n{}", watch.output()));
    docker(&[
        "exec",
        &fleet.n("a"),
        "sh",
        "-c",
        "echo tampered > /srv/bait",
    ]);
    within(Duration::from_secs(60), || healed(&watch.output()) == 2)
        .unwrap_or_else(|| panic!("not healed:\n{}", watch.output()));
    let all = events(&watch.output(), &fleet.name);
    let passes = of_type(&all, "pass");
    assert!(
        passes
            .iter()
            .any(|p| p["status"] == "started" && p["reasons"][0] == "start"),
        "{passes:?}"
    );
    assert!(passes.iter().any(|p| p["status"] == "ended"), "{passes:?}");
    assert!(!of_type(&all, "plan").is_empty() && !of_type(&all, "summary").is_empty());
    // The intruder's content was kept before it was healed.
    let kept = of_type(&all, "evidence");
    assert_eq!(kept.len(), 1, "{kept:?}");
    let copy = kept[0]["path"].as_str().unwrap();
    assert!(std::path::Path::new(copy).is_absolute(), "{copy}");
    assert_eq!(std::fs::read(copy).unwrap(), b"tampered\n");
}
