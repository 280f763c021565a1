//! Every invalid file is refused with its message and line, before any engine call.

mod common;
#[path = "invalid/engine_urls.rs"]
mod engine_urls;

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
fn a_missing_config_file_is_named_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let run = common::deckhand_in(dir.path(), &["validate"], &[]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: invalid configuration: there is no deckhand.toml in this directory\n  help: write a starter one with `deckhand init`, or name another file or directory with -f PATH\n",
        "{run:?}"
    );
    let run = common::deckhand_in(dir.path(), &["validate", "-f", "fleet.toml"], &[]);
    assert_eq!(
        run.stderr,
        "error: invalid configuration: there is no file or directory fleet.toml\n  help: check the path given with -f\n",
        "{run:?}"
    );
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    let run = common::deckhand_in(dir.path(), &["validate", "-f", "conf"], &[]);
    assert_eq!(
        run.stderr,
        "error: invalid configuration: no *.toml file in directory conf\n  help: put the fleet's file there (`deckhand init` writes a starter deckhand.toml), or name a file with -f PATH\n",
        "{run:?}"
    );
}

#[test]
fn every_problem_of_every_file_is_reported_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    std::fs::create_dir(&conf).unwrap();
    std::fs::write(
        conf.join("00-fleet.toml"),
        "[fleet]\nname = \"x\"\nbase_imag = \"i:1\"\nhold_on_session = 1\n",
    )
    .unwrap();
    std::fs::write(
        conf.join("10-deckies.toml"),
        "[deckies.web-01]\nservces = []\nip = 10\n\n[deckies.web-02]\nservices = []\nservices = []\n",
    )
    .unwrap();
    let run = common::deckhand_in(dir.path(), &["validate", "-f", "conf"], &[]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: invalid configuration: conf/00-fleet.toml:3:1: unknown key 'base_imag' in [fleet]
  help: did you mean 'base_image'?
conf/00-fleet.toml:4:19: 'hold_on_session' (fleet.hold_on_session) must be true or false, not an integer
  help: write hold_on_session = true or hold_on_session = false, without quotes
conf/10-deckies.toml:2:1: unknown key 'servces' in [deckies.web-01]
  help: did you mean 'services'?
conf/10-deckies.toml:3:6: 'ip' (deckies.web-01.ip) must be a string, not an integer
  help: put the value in quotes: ip = \"10\"
conf/10-deckies.toml:7:1: duplicate key 'services'
  help: a key is set once per table: remove one of the two
5 problems found
",
        "{run:?}"
    );
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

/// Hostile inputs too big or too odd to keep as fixture files, generated here.
mod generated {
    use super::common;

    const HEAD: &str =
        "[fleet]\nname = \"big\"\nbase_image = \"img:1\"\n\n[services.ssh]\nimage = \"img:1\"\n";

    fn validate(text: impl AsRef<[u8]>) -> common::Run {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("deckhand.toml"), text).unwrap();
        common::deckhand_in(dir.path(), &["validate"], &[])
    }

    #[test]
    fn ten_thousand_deckies_validate_and_an_error_in_the_last_is_placed() {
        let mut text = HEAD.to_string();
        for i in 0..10_000 {
            text += &format!("\n[deckies.d{i:05}]\nservices = [\"ssh\"]\n");
        }
        let run = validate(&text);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            run.stdout.contains("10000 deckies, 20000 containers"),
            "{run:?}"
        );

        let bad = text.replacen(
            "[deckies.d09999]\nservices = [\"ssh\"]",
            "[deckies.d09999]\nservices = [\"smb\"]",
            1,
        );
        let line = bad
            .lines()
            .position(|l| l == "services = [\"smb\"]")
            .unwrap()
            + 1;
        let run = validate(&bad);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(
            run.stderr.contains(&format!(
                "deckhand.toml:{line}:13: unknown service 'smb' for decky d09999"
            )),
            "{run:?}"
        );
    }

    #[test]
    fn a_megabyte_name_gives_a_short_error() {
        let run = validate(format!(
            "{HEAD}\n[deckies.{}]\nservices = []\n",
            "a".repeat(1 << 20)
        ));
        assert_eq!(run.code, 1);
        assert!(
            run.stderr.contains("characters left out"),
            "{}",
            &run.stderr[..200]
        );
        assert!(
            run.stderr.len() < 2_000,
            "{} bytes of error",
            run.stderr.len()
        );
    }

    #[test]
    fn inline_content_over_64_mib_is_refused() {
        let run = validate(format!(
            "{HEAD}\n[deckies.web-01]\nservices = []\n\n[deckies.web-01.files.\"/big\"]\ncontent = \"{}\"\n",
            "x".repeat(64 * 1024 * 1024 + 1)
        ));
        assert_eq!(run.code, 1);
        assert!(
            run.stderr.contains(
                "deckhand.toml:12:11: file /big: the content is 67108865 bytes, over the limit"
            ),
            "{run:?}"
        );
    }

    #[test]
    fn a_fifo_source_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        std::fs::write(
            dir.path().join("deckhand.toml"),
            format!("{HEAD}\n[deckies.web-01]\nservices = []\n\n[deckies.web-01.files.\"/x\"]\nsource = \"pipe\"\n"),
        )
        .unwrap();
        let run = common::deckhand_in(dir.path(), &["validate"], &[]);
        assert_eq!(run.code, 1);
        assert!(
            run.stderr.contains("source 'pipe' is not a regular file"),
            "{run:?}"
        );
    }

    #[test]
    fn sensitive_content_stays_out_of_error_messages() {
        let run = validate(format!(
            "{HEAD}\n[deckies.web-01]\nservices = []\n\n[deckies.web-01.files.\"/root/key\"]\ncontent = \"Err-Secret-4471\"\nsensitive = true\nowner = \"root\"\n\n[deckies.web-01.files.\"/root/b64\"]\ncontent_b64 = \"RXJyLVNlY3JldC00NDcx!\"\nsensitive = true\n"
        ));
        assert_eq!(run.code, 1);
        assert!(
            run.stderr.contains("invalid owner") && run.stderr.contains("base64"),
            "{run:?}"
        );
        let owner_at = run.stderr.find("invalid owner").unwrap();
        assert!(
            owner_at < run.stderr.find("base64").unwrap(),
            "problems in reading order: {run:?}"
        );
        assert!(
            !run.all().contains("Err-Secret-4471") && !run.all().contains("RXJyLVNlY3JldC00NDcx"),
            "{run:?}"
        );
    }
}

#[test]
fn a_usage_error_exits_1_because_2_means_changes() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["plan", "--format", "yaml"],
        vec!["watch", "--interval", "0"],
        vec!["frobnicate"],
    ] {
        let run = common::deckhand_in(dir.path(), &args, &[]);
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        assert!(run.stderr.contains("error:"), "{run:?}");
    }
    assert_eq!(common::deckhand_in(dir.path(), &["--help"], &[]).code, 0);
}
