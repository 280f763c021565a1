//! Saved plans: applied exactly, or refused as stale when the config or the live state moved.

mod common;

use common::{docker, Fleet};

const CONFIG: &str = concat!(
    fleet_table!(),
    ssh_service!(),
    r#"
[deckies.{fleet}-a]
services = ["ssh"]

[deckies.{fleet}-a.files."/root/.pgpass"]
content = "db:5432:*:admin:Saved-Secret-91\n"
sensitive = true

[deckies.{fleet}-b]
services = []
"#
);

fn save(fleet: &Fleet) -> String {
    let run = fleet.deckhand(&["plan", "--out", "reviewed.plan"]);
    assert_eq!(run.code, 0, "{run:?}");
    let text = std::fs::read_to_string(fleet.dir.path().join("reviewed.plan")).unwrap();
    assert!(
        !text.contains("Saved-Secret-91"),
        "sensitive content in the saved plan"
    );
    text
}

#[test]
fn a_saved_plan_applies_exactly_its_steps() {
    let fleet = Fleet::new("saved");
    fleet.write(CONFIG);
    save(&fleet);
    let run = fleet.deckhand(&["apply", "reviewed.plan", "--no-color"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("Apply complete: 4 steps done."),
        "{run:?}"
    );
    assert!(!run.all().contains("Saved-Secret-91"));
    let names: Vec<String> = fleet.containers().into_keys().collect();
    assert_eq!(names, vec![fleet.n("a"), fleet.n("a-ssh"), fleet.n("b")]);
    fleet.assert_no_changes();
    // Applied once, the same plan is stale: the live state it was made from is gone.
    let again = fleet.deckhand(&["apply", "reviewed.plan"]);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.stderr.contains("plan is stale"), "{again:?}");
}

// Regression: `apply PLANFILE --auto-approve` was refused as a conflict; CI
// scripts pass it (Terraform accepts it), and a saved plan never asks anyway.
#[test]
fn a_saved_plan_is_applied_with_auto_approve_too() {
    let fleet = Fleet::new("savedaa");
    fleet.write(CONFIG);
    save(&fleet);
    let run = fleet.deckhand(&["apply", "reviewed.plan", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("Apply complete: 4 steps done."),
        "{run:?}"
    );
    fleet.assert_no_changes();
}

/// `apply reviewed.plan` exits 1 with `message` and changes nothing on the engine.
fn assert_refused_as_stale(fleet: &Fleet, message: &str) {
    let before = fleet.engine_state();
    let run = fleet.deckhand(&["apply", "reviewed.plan"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains(message), "{run:?}");
    assert_eq!(
        fleet.engine_state(),
        before,
        "a stale plan changed the engine"
    );
}

#[test]
fn a_saved_plan_is_refused_after_any_change_and_the_engine_is_untouched() {
    let fleet = Fleet::new("stale");
    fleet.write(CONFIG);
    fleet.apply();

    // An edit of the TOML.
    fleet.write(&CONFIG.replace("services = []", "services = [\"ssh\"]"));
    save(&fleet);
    fleet.write(&CONFIG.replace(
        "services = []",
        "services = [\"ssh\"]\nhostname = \"other\"",
    ));
    assert_refused_as_stale(
        &fleet,
        &format!(
            "plan is stale: the configuration ({}) changed since the plan was made: {} changed; nothing was changed",
            fleet.path().display(),
            fleet.path().display()
        ),
    );

    // A file edited inside a decky.
    fleet.write(&CONFIG.replace("services = []", "services = [\"ssh\"]"));
    save(&fleet);
    docker(&[
        "exec",
        &fleet.n("a-ssh"),
        "sh",
        "-c",
        "echo x >> /root/.pgpass",
    ]);
    let ssh = fleet.n("a-ssh");
    assert_refused_as_stale(
        &fleet,
        &format!("plan is stale: the live state of fleet '{}' changed since the plan was made: file {ssh}:/root/.pgpass: content changed; nothing was changed", fleet.name),
    );

    // A container stopped out of band (same id and labels, another state).
    save(&fleet);
    docker(&["kill", &fleet.n("b")]);
    assert_refused_as_stale(
        &fleet,
        &format!(
            "changed since the plan was made: container {}: state running -> exited; nothing",
            fleet.n("b")
        ),
    );

    // A service container removed out of band.
    save(&fleet);
    docker(&["rm", "-f", &ssh]);
    assert_refused_as_stale(
        &fleet,
        &format!("changed since the plan was made: container {ssh}: gone"),
    );

    // A fresh plan of the same state applies.
    save(&fleet);
    let run = fleet.deckhand(&["apply", "reviewed.plan"]);
    assert_eq!(run.code, 0, "{run:?}");
    fleet.assert_no_changes();
}
