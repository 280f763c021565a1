//! The gitops example (examples/gitops), run with the commands its CI workflow
//! runs, on a copy renamed to this test's fleet; and its split config planned
//! against the same config as one file.

mod common;

use std::path::Path;
use std::process::Command;

use common::{docker, Fleet, Run};

/// Copies examples/gitops into the fleet's directory, renamed so that its
/// containers, network and subnet (`10.214.<n>.0/24`, reserved: held until
/// the returned value drops) are this test's own.
fn copy_example(fleet: &Fleet) -> common::net::Subnets {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/gitops");
    copy_tree(&example, fleet.dir.path());
    let subnet = common::net::reserve(&[214]);
    let third = subnet.third;
    let fleet_dir = fleet.dir.path().join("fleet");
    for entry in std::fs::read_dir(&fleet_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text
                .replace("name = \"gitops\"", &format!("name = \"{}\"", fleet.name))
                .replace("gitops_lan", &format!("{}_lan", fleet.name))
                .replace("172.31.78.", &format!("10.214.{third}."))
                .replace("[deckies.", &format!("[deckies.{}-", fleet.name));
            std::fs::write(&path, text).unwrap();
        }
    }
    subnet
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Runs `ci/deckhand.sh STEP` as the workflow does; returns the run and what
/// it wrote to GITHUB_OUTPUT.
fn ci(fleet: &Fleet, step: &str) -> (Run, String) {
    let outputs = fleet.dir.path().join("github_output");
    std::fs::write(&outputs, "").unwrap();
    let out = Command::new("bash")
        .arg(fleet.dir.path().join("ci/deckhand.sh"))
        .arg(step)
        .env("DECKHAND", env!("CARGO_BIN_EXE_deckhand"))
        .env("GITHUB_OUTPUT", &outputs)
        .output()
        .expect("run ci/deckhand.sh");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    (run, std::fs::read_to_string(&outputs).unwrap())
}

fn plan_md(fleet: &Fleet) -> String {
    std::fs::read_to_string(fleet.dir.path().join("plan.md")).unwrap()
}

#[test]
fn the_ci_workflow_plans_applies_the_reviewed_plan_and_refuses_a_stale_one() {
    let fleet = Fleet::new("gitops");
    let _subnet = copy_example(&fleet);

    // Pull request: validate and a markdown plan with changes.
    let (run, outputs) = ci(&fleet, "plan");
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(outputs, "changes=true\n");
    let md = plan_md(&fleet);
    assert!(md.contains("<details>"), "{md}");
    assert!(md.contains(&fleet.n("dmz-web-01")), "{md}");
    assert!(md.contains("sensitive"), "{md}");
    assert!(
        !md.contains("Spring2025!") && !md.contains("Tr0ub4dor"),
        "{md}"
    );
    assert!(fleet.dir.path().join("deckhand.plan").exists());

    // main, after review: the saved plan is applied.
    let (run, _) = ci(&fleet, "apply");
    assert_eq!(run.code, 0, "{run:?}");
    let containers = fleet.containers();
    assert_eq!(
        containers.len(),
        11,
        "4 bases, 6 services, 1 singleton: {containers:?}"
    );
    assert!(containers.values().all(|c| c.status == "running"));
    assert_eq!(
        common::cat(&fleet.n("dmz-web-01-http"), "/var/www/index.html"),
        std::fs::read(fleet.dir.path().join("fleet/files/index.html")).unwrap()
    );

    // The next run finds nothing to do.
    let (run, outputs) = ci(&fleet, "plan");
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(outputs, "changes=false\n");
    assert!(plan_md(&fleet).contains("No changes."));

    // A reviewed plan goes stale when the fleet moves before it is applied.
    let dmz = fleet.dir.path().join("fleet/dmz.toml");
    let text = std::fs::read_to_string(&dmz).unwrap();
    std::fs::write(
        &dmz,
        text.replace("hostname = \"mx1\"", "hostname = \"mx2\""),
    )
    .unwrap();
    let (run, outputs) = ci(&fleet, "plan");
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(outputs, "changes=true\n");
    docker(&["rm", "-f", &fleet.n("int-db-01-mysql")]);
    let before = fleet.engine_state();
    let (run, _) = ci(&fleet, "apply");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("plan is stale"), "{run:?}");
    assert_eq!(
        fleet.engine_state(),
        before,
        "a stale plan changed the engine"
    );
}

#[test]
fn three_split_files_plan_exactly_like_the_same_fleet_in_one_file() {
    let fleet = Fleet::new("split");
    let _subnet = copy_example(&fleet);
    let split = fleet.dir.path().join("fleet");
    let single = fleet.dir.path().join("single");
    copy_tree(&split.join("files"), &single.join("files"));
    let mut parts: Vec<_> = std::fs::read_dir(&split)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    parts.sort();
    assert!(
        parts.len() >= 3,
        "the example is split over at least three files"
    );
    let joined: String = parts
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap() + "\n")
        .collect();
    std::fs::write(single.join("deckhand.toml"), joined).unwrap();

    let json = |path: &str| {
        let run = fleet.deckhand(&["plan", "-f", path, "--format", "json"]);
        assert_eq!(run.code, 0, "{run:?}");
        run.stdout
    };
    let from_split = json("fleet");
    assert!(
        from_split.contains("\"action\": \"create\""),
        "{from_split}"
    );
    assert_eq!(from_split, json("single/deckhand.toml"));

    // Applied from the split files, the one-file fleet sees nothing to change:
    // the containers' spec digests and the files agree too.
    let run = fleet.deckhand(&["apply", "-f", "fleet", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 0, "{run:?}");
    let run = fleet.deckhand(&["plan", "-f", "single/deckhand.toml", "--no-color"]);
    assert!(run.stdout.contains("No changes."), "{run:?}");

    // A decky defined in two files is an error naming both.
    std::fs::write(
        split.join("zz-extra.toml"),
        format!("[deckies.{}]\nservices = []\n", fleet.n("dmz-web-01")),
    )
    .unwrap();
    let run = fleet.deckhand(&["validate", "-f", "fleet"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("zz-extra.toml") && run.stderr.contains("dmz.toml"),
        "{run:?}"
    );
}
