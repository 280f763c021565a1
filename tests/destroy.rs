//! `deckhand destroy` and `plan --destroy`: the fleet taken down on the real
//! engine, services before bases, then its record and lock; networks only
//! with --networks.

mod common;

use common::{docker, docker_try, Fleet};

const CONFIG: &str = concat!(
    fleet_table!(),
    "services = [\"sniffer\"]\n",
    http_service!(),
    sniffer_singleton!(),
    r#"
[networks.{fleet}_lan]
driver = "bridge"

[deckies.{fleet}-a]
services = ["http"]
network = "{fleet}_lan"

[deckies.{fleet}-a.files."/srv/bait"]
content = "bait\n"
target = "base"

[deckies.{fleet}-b]
services = ["http"]
"#
);

/// Names of every container carrying this fleet's label, holders included.
fn everything(fleet: &Fleet) -> Vec<String> {
    let label = format!("label=deckhand.fleet={}", fleet.name);
    let out = docker(&["ps", "-a", "--filter", &label, "--format", "{{.Names}}"]);
    let mut names: Vec<String> = out.lines().map(str::to_string).collect();
    names.sort();
    names
}

fn network_exists(fleet: &Fleet) -> bool {
    docker_try(&["network", "inspect", &format!("{}_lan", fleet.name)]).0
}

#[test]
fn destroy_takes_the_whole_fleet_down_and_its_networks_only_when_asked() {
    let fleet = Fleet::new("destroy");
    fleet.write(CONFIG);
    fleet.apply();
    assert!(everything(&fleet)
        .iter()
        .any(|n| n.starts_with("deckhand.record.")));

    // The preview changes nothing, and shows every container going.
    let before = fleet.deep_state();
    let plan = fleet.deckhand(&["plan", "--destroy", "--no-color", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{plan:?}");
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 0 to change, 0 to replace, 5 to destroy."),
        "{plan:?}"
    );
    assert!(
        plan.stdout
            .contains(&format!("(destroy takes decky {} down)", fleet.n("a"))),
        "{plan:?}"
    );
    assert!(
        plan.stdout.contains(&format!(
            "singleton {}-sniffer  (destroy takes the fleet down)",
            fleet.name
        )),
        "{plan:?}"
    );
    assert_eq!(
        fleet.deep_state(),
        before,
        "plan --destroy changed the engine"
    );

    // Without a terminal it needs --auto-approve, like apply, in its own words.
    let refused = fleet.deckhand(&["destroy", "--no-color"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert_eq!(
        refused.stderr,
        "error: destroy asks for confirmation on a terminal, and standard input is not one\n  help: pass --auto-approve to destroy without asking (preview with `deckhand plan --destroy` first), or apply a plan saved with `deckhand plan --destroy --out FILE`\n"
    );
    assert_eq!(fleet.deep_state(), before);

    let run = fleet.deckhand(&["destroy", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 0, "{run:?}");
    let a = fleet.n("a");
    let (service, base) = (
        run.stdout.find(&format!("service {a}-http: deleted")),
        run.stdout.find(&format!("decky {a}: deleted")),
    );
    assert!(
        service.is_some() && base.is_some() && service < base,
        "services before their base: {run:?}"
    );
    assert!(run.stdout.contains("removed the file record"), "{run:?}");
    assert!(
        run.stdout.contains("\nDestroy complete: 5 steps done.\n"),
        "{run:?}"
    );
    assert!(!run.stdout.contains("Apply"), "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "Kept as evidence (destroy never removes them; delete them yourself when no longer needed): {}\n",
            fleet.dir.path().join(".deckhand/evidence").display()
        )),
        "{run:?}"
    );
    assert_eq!(
        everything(&fleet),
        Vec::<String>::new(),
        "containers, record or lock left"
    );
    assert!(
        network_exists(&fleet),
        "a network was removed without --networks"
    );

    let run = fleet.deckhand(&["destroy", "--auto-approve", "--networks", "--no-color"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!network_exists(&fleet), "{run:?}");
    // Nothing is left to destroy.
    let plan = fleet.deckhand(&["plan", "--destroy", "--no-color"]);
    assert!(plan.stdout.contains("No changes."), "{plan:?}");
}

#[test]
fn destroy_with_a_target_takes_down_only_that_decky() {
    let fleet = Fleet::new("destroyt");
    fleet.write(&CONFIG.replace("network = \"{fleet}_lan\"\n", ""));
    fleet.apply();
    let kept: Vec<_> = [
        fleet.n("b"),
        fleet.n("b-http"),
        format!("{}-sniffer", fleet.name),
    ]
    .into_iter()
    .map(|n| (n.clone(), fleet.containers()[&n].clone()))
    .collect();
    let a = fleet.n("a");
    let run = fleet.deckhand(&["destroy", "--target", &a, "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 0, "{run:?}");
    let live = fleet.containers();
    assert!(
        !live.contains_key(&a) && !live.contains_key(&format!("{a}-http")),
        "{live:?}"
    );
    for (name, before) in kept {
        assert_eq!(live.get(&name), Some(&before), "{name} was touched");
    }
    // The record stays; the destroyed decky's files leave it, so a plan
    // recreates the decky and its file and deletes nothing.
    assert!(everything(&fleet)
        .iter()
        .any(|n| n.starts_with("deckhand.record.")));
    let plan = fleet.plan();
    assert!(
        plan.stdout
            .contains("Plan: 3 to add, 0 to change, 0 to replace, 0 to destroy."),
        "{plan:?}"
    );
}

#[test]
fn a_saved_destroy_plan_is_applied_exactly() {
    let fleet = Fleet::new("destroys");
    fleet.write(&CONFIG.replace("network = \"{fleet}_lan\"\n", ""));
    fleet.apply();
    let saved = fleet.deckhand(&["plan", "--destroy", "--out", "down.plan"]);
    assert_eq!(saved.code, 0, "{saved:?}");
    let run = fleet.deckhand(&["apply", "down.plan", "--no-color"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(everything(&fleet), Vec::<String>::new(), "{run:?}");
}
