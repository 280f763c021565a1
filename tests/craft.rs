//! Deception craft (SPEC §11) on the real engine: bait made per decky.

mod common;

use common::{cat, Fleet};

const FLEET: &str = concat!(
    fleet_table!(),
    r#"seed_file = ".deckhand/seed"

[deckies.{fleet}-a]
services = []

[deckies.{fleet}-b]
services = []

[deckies.{fleet}-a.files."/root/notes.txt"]
content = "host {hostname} ({decky})\nkey={random:hex:24}\npw={random:words:3}\n"
template = true

[deckies.{fleet}-b.files."/root/notes.txt"]
content = "host {hostname} ({decky})\nkey={random:hex:24}\npw={random:words:3}\n"
template = true
"#
);

fn seeded(hint: &str, mode: u32) -> Fleet {
    let fleet = Fleet::new(hint);
    fleet.write_seed(0x5a, mode);
    fleet.write(FLEET);
    fleet
}

#[test]
fn two_deckies_with_one_templated_bait_differ_and_stay_stable() {
    let fleet = seeded("tpl", 0o600);
    let first = fleet.plan();
    assert_eq!(first.code, 0, "{first:?}");
    // The plan shows the expanded text, and the same text every time.
    let (a, b) = (fleet.n("a"), fleet.n("b"));
    assert!(
        first.stdout.contains(&format!("+host {a} ({a})")),
        "{first:?}"
    );
    assert!(
        first.stdout.contains(&format!("+host {b} ({b})")),
        "{first:?}"
    );
    assert!(!first.stdout.contains("{random"), "{first:?}");
    assert_eq!(fleet.plan().stdout, first.stdout, "a second plan differs");
    fleet.apply();

    let in_a = String::from_utf8(cat(&a, "/root/notes.txt")).unwrap();
    let in_b = String::from_utf8(cat(&b, "/root/notes.txt")).unwrap();
    let line = |s: &str, k: &str| {
        let l = s.lines().find(|l| l.starts_with(k)).unwrap_or_default();
        l.to_string()
    };
    assert_eq!(line(&in_a, "key=").len(), 4 + 24, "{in_a}");
    assert_eq!(line(&in_a, "pw=")[3..].split('-').count(), 3, "{in_a}");
    assert_ne!(line(&in_a, "key="), line(&in_b, "key="));
    assert_ne!(line(&in_a, "pw="), line(&in_b, "pw="));
    assert!(first.stdout.contains(&format!("+{}", line(&in_a, "key="))));
    fleet.assert_no_changes();
}

#[test]
fn a_world_readable_seed_is_refused_and_nothing_changes() {
    let fleet = seeded("tplopen", 0o644);
    let plan = fleet.plan();
    assert_ne!(plan.code, 0, "{plan:?}");
    assert!(plan.stderr.contains("deckhand.toml:"), "{plan:?}");
    assert!(plan.stderr.contains("seed_file"), "{plan:?}");
    assert!(plan.stderr.contains("world-readable"), "{plan:?}");
    assert!(plan.stderr.contains("chmod 600"), "{plan:?}");
    let apply = fleet.deckhand(&["apply", "--auto-approve", "--no-color"]);
    assert_ne!(apply.code, 0, "{apply:?}");
    assert!(fleet.containers().is_empty(), "{apply:?}");
}
