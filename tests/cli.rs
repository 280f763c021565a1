//! The command line as an operator and a script meet it: machine output of
//! plan, status and validate, status's exit codes, and what deckhand says to
//! a command it does not take.

mod common;

use common::{docker, Fleet};
use serde_json::Value;

const CONFIG: &str = concat!(
    fleet_table!(),
    ssh_service!(),
    r#"
[deckies.{fleet}-a]
services = ["ssh"]

[deckies.{fleet}-a.files."/etc/motd"]
content = "welcome\n"
"#
);

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn plan_json_is_the_same_as_format_json() {
    let fleet = Fleet::new("pjson");
    fleet.write(CONFIG);
    let short = fleet.deckhand(&["plan", "--json"]);
    let long = fleet.deckhand(&["plan", "--format", "json"]);
    assert_eq!((short.code, long.code), (0, 0), "{short:?}{long:?}");
    let (short, long) = (json(&short.stdout), json(&long.stdout));
    assert_eq!(short, long);
    assert_eq!(short["summary"]["add"], 3, "{short}");
}

#[test]
fn status_exits_2_with_detailed_exitcode_when_a_container_is_down_or_a_bait_differs() {
    let fleet = Fleet::new("status");
    fleet.write(CONFIG);
    let status = |args: &[&str]| {
        let mut all = vec!["status", "--no-color", "--detailed-exitcode"];
        all.extend(args);
        fleet.deckhand(&all)
    };
    // Nothing live: every container is missing.
    let run = status(&[]);
    assert_eq!(run.code, 2, "{run:?}");
    fleet.apply();
    let run = status(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("Bait files"), "{run:?}");
    // Without the flag, status is 0 whatever it shows.
    let ssh = fleet.n("a-ssh");
    docker(&["stop", "-t", "0", &ssh]);
    let run = status(&[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(fleet.deckhand(&["status"]).code, 0);
    docker(&["start", &ssh]);
    assert_eq!(status(&[]).code, 0);

    docker(&["exec", &ssh, "sh", "-c", "echo owned > /etc/motd"]);
    let run = status(&[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "\nBait files that differ from the file:\n  {ssh}:/etc/motd: "
        )) && run.stdout.contains("(apply restores it)\n"),
        "{run:?}"
    );
    let run = status(&["--format", "json"]);
    assert_eq!(run.code, 2, "{run:?}");
    let v = json(&run.stdout);
    assert_eq!(v["fleet"], fleet.name.as_str());
    assert_eq!(v["baits"][0]["container"], ssh.as_str(), "{v}");
    assert_eq!(v["baits"][0]["path"], "/etc/motd", "{v}");
    let rows = v["containers"].as_array().expect("containers");
    assert_eq!(rows.len(), 2, "{v}");
    assert!(rows
        .iter()
        .all(|r| r["state"] == "running" && r["healthy"] == true));
    assert_eq!(json(&status(&["--json"]).stdout), v);
}

#[test]
fn validate_prints_json_for_a_valid_and_an_invalid_file() {
    let fleet = Fleet::new("vjson");
    fleet.write(CONFIG);
    let run = fleet.deckhand(&["validate", "--format", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let v = json(&run.stdout);
    assert_eq!(
        (&v["valid"], &v["deckies"], &v["containers"], &v["files"]),
        (
            &Value::from(true),
            &Value::from(1),
            &Value::from(2),
            &Value::from(1)
        ),
        "{v}"
    );
    let run = fleet.deckhand(&["validate"]);
    assert_eq!(
        run.stdout,
        format!(
            "deckhand.toml is valid: fleet '{}', 1 decky, 2 containers, 1 file (0 absent).\n",
            fleet.name
        )
    );

    fleet.write(&CONFIG.replace("services = [\"ssh\"]", "services = 7"));
    let run = fleet.deckhand(&["validate", "--json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let v = json(&run.stdout);
    assert_eq!(v["valid"], false, "{v}");
    let problem = &v["problems"][0];
    assert_eq!(problem["line"], 11, "{v}");
    assert!(problem["file"].as_str().unwrap().ends_with("deckhand.toml"));
    assert!(
        !problem["message"].as_str().unwrap().contains("help:"),
        "{v}"
    );
}

#[test]
fn a_json_error_carries_its_help_apart() {
    let fleet = Fleet::new("jerr");
    fleet.write(CONFIG);
    let run = fleet.deckhand(&["destroy", "--json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let v = json(run.stdout.trim());
    assert_eq!(v["type"], "error");
    assert_eq!(v["message"], "--json never prompts");
    assert_eq!(
        v["help"],
        "pass --auto-approve (preview with `deckhand plan --destroy` first), or apply a plan saved with `deckhand plan --destroy --out FILE`"
    );
}

#[test]
fn import_of_a_compose_file_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let run = common::deckhand_in(dir.path(), &["import", "docker-compose.yml"], &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        "error: deckhand import reads the containers DECNET deployed from the engine; it does not read docker-compose.yml\n  help: deploy it first (`docker-compose -f docker-compose.yml up -d`), then run `deckhand import --fleet NAME --out deckhand.toml`\n"
    );
}

#[test]
fn offline_commands_do_not_offer_docker_host_and_verbose_names_its_variable_once() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["validate", "schema"] {
        let run = common::deckhand_in(dir.path(), &[command, "--help"], &[]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(!run.stdout.contains("--docker-host"), "{run:?}");
    }
    let run = common::deckhand_in(dir.path(), &["plan", "--help"], &[]);
    assert!(run.stdout.contains("--docker-host <URL>"), "{run:?}");
    assert_eq!(run.stdout.matches("DECKHAND_VERBOSE").count(), 1, "{run:?}");
}

#[test]
fn init_writes_a_starter_that_validates_and_plans_and_a_gitignore_holding_deckhand() {
    let tmp = tempfile::tempdir().unwrap();
    let fleet = format!("t{}init", std::process::id());
    let dir = tmp.path().join(&fleet);
    std::fs::create_dir(&dir).unwrap();
    let run = common::deckhand_in(&dir, &["init"], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        format!("Wrote deckhand.toml (example 'minimal', fleet '{fleet}') and .gitignore (holds .deckhand/, where evidence is kept).\nNext: deckhand validate, then deckhand plan.\n")
    );
    let ignore = std::fs::read_to_string(dir.join(".gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == ".deckhand/"), "{ignore}");
    let run = common::deckhand_in(&dir, &["validate"], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let run = common::deckhand_in(&dir, &["plan", "--no-color"], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("Plan: 3 to add, 0 to change, 0 to replace, 0 to destroy."),
        "{run:?}"
    );
    // Never over an existing file.
    let before = std::fs::read(dir.join("deckhand.toml")).unwrap();
    let run = common::deckhand_in(&dir, &["init", "--example", "quickstart"], &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        "error: deckhand.toml exists; nothing was written\n  help: run `deckhand init` in an empty directory, or edit that file\n"
    );
    assert_eq!(std::fs::read(dir.join("deckhand.toml")).unwrap(), before);

    let other = tmp.path().join("q");
    std::fs::create_dir(&other).unwrap();
    let run = common::deckhand_in(&other, &["init", "--example", "quickstart"], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(other.join("files/bash_history").exists());
    assert_eq!(common::deckhand_in(&other, &["validate"], &[]).code, 0);
    let run = common::deckhand_in(&other, &["init", "--example", "nope"], &[]);
    assert!(
        run.stderr
            .starts_with("error: no example 'nope'\n  help: the examples are: minimal ("),
        "{run:?}"
    );
}

#[test]
fn completions_and_a_man_page_come_from_the_cli_itself() {
    let dir = tempfile::tempdir().unwrap();
    let run = common::deckhand_in(dir.path(), &["completions", "bash"], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let script = dir.path().join("deckhand.bash");
    std::fs::write(&script, &run.stdout).unwrap();
    // Bash loads it, and it completes deckhand.
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p deckhand",
            script.display()
        ))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("deckhand"));
    for shell in ["zsh", "fish"] {
        let run = common::deckhand_in(dir.path(), &["completions", shell], &[]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            run.stdout.contains("destroy") && run.stdout.contains("--auto-approve"),
            "{shell}"
        );
    }
    let run = common::deckhand_in(dir.path(), &["man"], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains(".TH deckhand 1"), "{}", run.stdout);
    assert!(
        run.stdout.contains("Keeps a fleet of DECNET deckies"),
        "{}",
        run.stdout
    );
}
