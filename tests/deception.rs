//! Bait made per decky (SPEC §11), against the real engine: one templated
//! bait gives every decky its own content, the same on every plan.

mod common;

use common::{cat, Fleet};

const CONFIG: &str = concat!(
    fleet_table!(),
    "seed_file = \"deckhand.seed\"\n",
    ssh_service!(),
    r#"
[deckies.{fleet}-a]
services = ["ssh"]

[deckies.{fleet}-a.files."/root/.aws/credentials"]
template = true
content = "[default]\naws_access_key_id = AKIA{random:hex:16}\n# {decky} {hostname} {persona}\n"

[deckies.{fleet}-b]
services = ["ssh"]
persona = "windows"

[deckies.{fleet}-b.files."/root/.aws/credentials"]
template = true
content = "[default]\naws_access_key_id = AKIA{random:hex:16}\n# {decky} {hostname} {persona}\n"
"#
);

fn seeded(fleet: &Fleet) {
    use std::os::unix::fs::PermissionsExt as _;
    fleet.write_file("deckhand.seed", b"a test seed, not a secret, 32 b\n");
    let path = fleet.dir.path().join("deckhand.seed");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn two_deckies_with_one_templated_bait_differ_and_stay_stable() {
    let fleet = Fleet::new("tmpl");
    seeded(&fleet);
    fleet.write(CONFIG);
    let plan = fleet.plan();
    assert_eq!(plan.code, 0, "{plan:?}");
    // The plan shows the text each decky gets.
    let a_line = format!("+# {} {} linux", fleet.n("a"), fleet.n("a"));
    let b_line = format!("+# {} {} windows", fleet.n("b"), fleet.n("b"));
    assert!(
        plan.stdout.contains(&a_line) && plan.stdout.contains(&b_line),
        "{plan:?}"
    );
    fleet.apply();
    let a = String::from_utf8(cat(&fleet.n("a-ssh"), "/root/.aws/credentials")).unwrap();
    let b = String::from_utf8(cat(&fleet.n("b-ssh"), "/root/.aws/credentials")).unwrap();
    let key = |text: &str| text.lines().nth(1).unwrap().to_string();
    assert_ne!(key(&a), key(&b), "both deckies got the same key");
    for text in [&a, &b] {
        let id = key(text).replace("aws_access_key_id = AKIA", "");
        assert_eq!(id.len(), 16, "{text}");
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{text}");
        assert!(!text.contains('{'), "a placeholder left: {text}");
    }
    // Stable: the same values on every plan.
    fleet.assert_no_changes();
    fleet.assert_no_changes();
    // Another seed, other values.
    fleet.write_file("deckhand.seed", b"another seed, also 32 bytes lon\n");
    let plan = fleet.plan();
    assert!(plan.stdout.contains("aws_access_key_id"), "{plan:?}");
    assert!(
        plan.stdout.contains("Plan: 0 to add, 2 to change"),
        "{plan:?}"
    );
}

#[test]
fn a_world_readable_seed_is_refused_with_where_and_what_to_do() {
    use std::os::unix::fs::PermissionsExt as _;
    let fleet = Fleet::new("tmplseed");
    seeded(&fleet);
    let path = fleet.dir.path().join("deckhand.seed");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    fleet.write(CONFIG);
    let run = fleet.deckhand(&["validate"]);
    assert_eq!(run.code, 1, "{run:?}");
    let all = run.all();
    assert!(all.contains("deckhand.toml:5"), "{all}");
    assert!(all.contains("is readable by everyone (mode 0644)"), "{all}");
    assert!(all.contains("chmod 600"), "{all}");
}
