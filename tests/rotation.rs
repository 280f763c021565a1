//! Rotation as a plan (SPEC §11) on the real engine: `plan --at` shows the
//! choice of an epoch, stable and per decky, and watch applies it when the
//! epoch begins.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::watch::Watch;
use common::Fleet;

const EVERY: u64 = 10;

const FLEET: &str = concat!(
    fleet_table!(),
    r#"seed_file = ".deckhand/seed"

[services.a]
image = "{image}"
command = ["sleep", "infinity"]

[services.b]
image = "{image}"
command = ["sleep", "infinity"]

[services.c]
image = "{image}"
command = ["sleep", "infinity"]

[services.d]
image = "{image}"
command = ["sleep", "infinity"]

[deckies.{fleet}-x]
services = []

[deckies.{fleet}-y]
services = []

[rotation]
every = "10s"

[rotation.deckies.{fleet}-x]
pool = ["a", "b", "c", "d"]
active = 2

[rotation.deckies.{fleet}-y]
pool = ["a", "b", "c", "d"]
active = 2
"#
);

/// A decky that wears one of two personas, rotated.
const PERSONAS: &str = concat!(
    fleet_table!(),
    r#"seed_file = ".deckhand/seed"

[deckies.{fleet}-p]
services = []

[rotation]
every = "10s"

[rotation.deckies.{fleet}-p]
personas = ["linux", "windows"]
"#
);

fn seeded(hint: &str) -> Fleet {
    seeded_with(hint, FLEET)
}

fn seeded_with(hint: &str, config: &str) -> Fleet {
    let fleet = Fleet::new(hint);
    fleet.write_seed(0x24, 0o600);
    fleet.write(config);
    fleet
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn rfc3339(unix: u64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix as i64).unwrap();
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// `plan --at` as JSON.
fn plan_at(fleet: &Fleet, at: &str) -> serde_json::Value {
    let run = fleet.deckhand(&["plan", "--at", at, "--format", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    serde_json::from_str(&run.stdout).unwrap()
}

/// The changes of a plan as (action, container, reasons).
fn changes(plan: &serde_json::Value) -> Vec<(String, String, Vec<String>)> {
    let all = plan["changes"].as_array().unwrap();
    all.iter()
        .map(|c| {
            let reasons = c["reasons"].as_array().unwrap();
            (
                c["action"].as_str().unwrap().to_string(),
                c["container"].as_str().unwrap_or_default().to_string(),
                reasons
                    .iter()
                    .map(|r| r.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

/// The services of `decky` a plan from nothing creates.
fn created(plan: &serde_json::Value, decky: &str) -> BTreeSet<String> {
    let all = plan["changes"].as_array().unwrap();
    all.iter()
        .filter(|c| c["decky"] == decky && c["action"] == "create")
        .filter_map(|c| Some(c["service"].as_str()?.to_string()))
        .collect()
}

#[test]
fn each_decky_gets_its_own_choice_stable_from_plan_to_plan() {
    let fleet = seeded("rotsame");
    let (x, y) = (fleet.n("x"), fleet.n("y"));
    let base = now() / EVERY * EVERY + 3600;
    let mut differ = false;
    for k in 0..4 {
        let at = rfc3339(base + k * EVERY);
        let first = plan_at(&fleet, &at);
        assert_eq!(first, plan_at(&fleet, &at), "two plans at {at} differ");
        let (cx, cy) = (created(&first, &x), created(&first, &y));
        assert_eq!((cx.len(), cy.len()), (2, 2), "{first}");
        differ |= cx != cy;
        let epoch = (base + k * EVERY) / EVERY;
        let notes = first["notes"].to_string();
        assert!(
            notes.contains(&format!("rotation epoch {epoch}")),
            "{notes}"
        );
        for (action, container, reasons) in changes(&first) {
            if action == "create" && container.contains("-x-") {
                let r = format!("rotation epoch {epoch}");
                assert!(reasons.contains(&r), "{container}: {reasons:?}");
            }
        }
    }
    assert!(
        differ,
        "deckies x and y chose the same services in 4 epochs"
    );
}

#[test]
fn a_rotation_due_shortly_is_planned_ahead_and_applied_by_watch() {
    let fleet = seeded("rotwatch");
    fleet.apply();
    // The next epoch whose choice differs from what runs now.
    let mut k = now() / EVERY + 1;
    let plan = loop {
        let plan = plan_at(&fleet, &rfc3339(k * EVERY));
        if !changes(&plan).is_empty() {
            break plan;
        }
        k += 1;
    };
    let reason = format!("rotation epoch {k}");
    let planned = changes(&plan);
    for (_, container, reasons) in &planned {
        assert!(reasons.contains(&reason), "{container}: {reasons:?}");
    }
    let text = fleet.deckhand(&["plan", "--at", &rfc3339(k * EVERY), "--no-color"]);
    assert!(text.stdout.contains(&reason), "{text:?}");
    let watch = Watch::start(&fleet, 3600);
    watch.wait_for(&format!("pass 2 ({reason}"), Duration::from_secs(90));
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let live = fleet.containers();
        let done = planned
            .iter()
            .all(|(action, container, _)| match action.as_str() {
                "create" => live.contains_key(container),
                _ => !live.contains_key(container),
            });
        if done {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not applied: {planned:?}\n{}",
            watch.output()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Stopped with SIGTERM, a pass in flight ends first; its log stays.
    drop(watch);
    let out = std::fs::read_to_string(fleet.dir.path().join("watch.log")).unwrap();
    // Watch may have gone on to a later epoch (every 10 s) before it stopped:
    // what runs is the choice of the last epoch it applied.
    let last = out
        .split("rotation epoch ")
        .skip(1)
        .filter_map(|rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .max()
        .unwrap_or(k);
    assert!(last >= k, "{out}");
    let after = plan_at(&fleet, &rfc3339(last * EVERY));
    assert!(changes(&after).is_empty(), "epoch {last}: {after}\n{out}");
}

#[test]
fn a_bad_rotation_is_refused_with_file_and_line() {
    let fleet = seeded("rotbad");
    let bad = FLEET.replace("every = \"10s\"", "every = \"2s\"").replace(
        "pool = [\"a\", \"b\", \"c\", \"d\"]\nactive = 2\n\n[rotation.deckies.{fleet}-y]",
        "pool = [\"a\", \"nope\"]\nactive = 2\n\n[rotation.deckies.{fleet}-y]",
    );
    fleet.write(&bad);
    let run = fleet.deckhand(&["validate"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("deckhand.toml:30:9: [rotation] every = \"2s\" is too short"),
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("deckhand.toml:33:14: rotation pool of decky"),
        "{run:?}"
    );
    assert!(run.stderr.contains("unknown service 'nope'"), "{run:?}");
    let unseeded = FLEET.replace("seed_file = \".deckhand/seed\"\n", "");
    fleet.write(&unseeded);
    let run = fleet.deckhand(&["validate"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("[fleet] has no seed_file"), "{run:?}");
}

#[test]
fn a_rotated_persona_is_planned_ahead_as_a_replace_of_the_base_that_names_it() {
    let fleet = seeded_with("rotpersona", PERSONAS);
    fleet.apply();
    let first = now() / EVERY + 1;
    let (k, plan) = (first..first + 64)
        .map(|k| (k, plan_at(&fleet, &rfc3339(k * EVERY))))
        .find(|(_, plan)| !changes(plan).is_empty())
        .expect("two personas, 64 epochs: one of them differs from the one worn now");
    let planned = changes(&plan);
    assert_eq!(planned.len(), 1, "{plan}");
    let (action, container, reasons) = &planned[0];
    assert_eq!(
        (action.as_str(), container.as_str()),
        ("replace", &*format!("{}-p", fleet.name))
    );
    let swap = ["persona linux -> windows", "persona windows -> linux"];
    assert!(
        reasons.iter().any(|r| swap.contains(&r.as_str())),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&format!("rotation epoch {k}")),
        "{reasons:?}"
    );
    let sysctl = reasons
        .iter()
        .any(|r| r.starts_with("sysctl net.ipv4.ip_default_ttl"));
    assert!(sysctl, "the persona's sysctls are named too: {reasons:?}");
}

#[test]
fn a_persona_both_fixed_and_rotated_or_unknown_is_refused() {
    let fleet = seeded_with("rotpersbad", PERSONAS);
    let both = PERSONAS.replace("services = []\n", "services = []\npersona = \"bsd\"\n");
    fleet.write(&both);
    let run = fleet.deckhand(&["validate"]);
    assert_eq!(run.code, 1, "{run:?}");
    let said = format!(
        "decky {}-p sets persona = \"bsd\", and its rotation rotates personas",
        fleet.name
    );
    assert!(run.stderr.contains(&said), "{run:?}");
    fleet.write(&PERSONAS.replace("\"windows\"]", "\"amiga\"]"));
    let run = fleet.deckhand(&["validate"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("unknown persona 'amiga'"), "{run:?}");
    // A decky not in the file, rotating services and personas: told once.
    let nobody = PERSONAS.replace(
        "personas = [\"linux\", \"windows\"]",
        "personas = [\"linux\", \"windows\"]\n\n[rotation.deckies.nobody]\npool = [\"x\"]\npersonas = [\"linux\", \"bsd\"]\n\n[services.x]\nimage = \"{image}\"",
    );
    fleet.write(&nobody);
    let run = fleet.deckhand(&["validate"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr.matches("there is no decky 'nobody'").count(),
        1,
        "{run:?}"
    );
}
