//! Every invalid file is refused with its message and line, before any engine call.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

#[derive(serde::Deserialize)]
struct Expected {
    message: String,
    line: usize,
}

#[test]
fn every_invalid_fixture_is_refused_with_its_message_and_line() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid");
    let expected: BTreeMap<String, Expected> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let fixtures: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".toml").map(str::to_string))
        .collect();
    assert!(fixtures.len() >= 25, "only {} fixtures", fixtures.len());
    for name in &fixtures {
        assert!(
            expected.contains_key(name),
            "{name}.toml has no entry in expected.json"
        );
    }
    let mut failures = Vec::new();
    for (name, want) in &expected {
        let file = format!("{name}.toml");
        let location = format!("{file}:{}:", want.line);
        // `plan` is pointed at an engine that does not exist: the config error
        // must come first, so no engine call is made, let alone a change.
        for args in [vec!["validate", "-f", &file], vec!["plan", "-f", &file]] {
            let run = common::deckhand_in(
                &dir,
                &args,
                &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
            );
            if run.code != 1
                || !run.stderr.contains(&want.message)
                || !run.stderr.contains(&location)
                || run.stderr.contains("cannot reach")
            {
                failures.push(format!(
                    "{name} ({}): want exit 1, '{}' at {location}; got {run:?}",
                    args[0], want.message
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn a_missing_config_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let run = common::deckhand_in(dir.path(), &["validate"], &[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("cannot read deckhand.toml"), "{run:?}");
}

#[test]
fn an_unreachable_engine_is_named_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("deckhand.toml"),
        "[fleet]\nname = \"x\"\nbase_image = \"i:1\"\n",
    )
    .unwrap();
    let run = common::deckhand_in(
        dir.path(),
        &["plan", "--docker-host", "unix:///nonexistent/docker.sock"],
        &[],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("cannot reach the Docker engine at unix:///nonexistent/docker.sock")
            && run.stderr.contains("--docker-host"),
        "{run:?}"
    );
}
