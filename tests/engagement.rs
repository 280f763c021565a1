//! Engagement-aware changes (SPEC §11), against the real engine: while
//! someone holds a TCP session to a decky's listening service, that decky's
//! replaces and restores wait (plan says `held`, apply leaves it alone, the
//! other deckies go on); once the session ends they happen; `--force`
//! applies them anyway.

mod common;

use std::time::Duration;

use common::watch::{within, Watch};
use common::{cat, docker, docker_try, Fleet};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;

/// Decky a runs an echo service on port 2222 holding a bait; decky b is
/// where the "intruder" connects from, with a bait of its own.
const CONFIG: &str = concat!(
    fleet_table!(),
    r#"
[services.echo]
image = "{image}"
command = ["nc", "-ll", "-p", "2222", "-e", "cat"]
ports = [2222]

[deckies.{fleet}-a]
services = ["echo"]

[deckies.{fleet}-a.files."/srv/bait"]
content = "a\n"
target = "base"

[deckies.{fleet}-b]
services = ["echo"]

[deckies.{fleet}-b.files."/srv/bait"]
content = "b\n"
target = "base"
"#
);

/// The address of `container` on its network.
fn address(container: &str) -> String {
    let format = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}";
    docker(&["inspect", "-f", format, container])
}

/// An open session from decky b to decky a's echo port, until dropped.
struct Session {
    from: String,
}

impl Session {
    fn open(fleet: &Fleet) -> Session {
        let ip = address(&fleet.n("a"));
        let from = fleet.n("b-echo");
        let client = format!("sleep 3600 | nc {} 2222", ip.trim());
        docker(&["exec", "-d", &from, "sh", "-c", &client]);
        Session { from }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // pid 1 (b's own `nc -ll`) ignores the signal.
        let kill = "kill $(pidof sleep) $(pidof nc)";
        let _ = docker_try(&["exec", &self.from, "sh", "-c", kill]);
    }
}

fn plan_json(fleet: &Fleet, extra: &[&str]) -> Value {
    let mut args = vec!["plan", "--format", "json"];
    args.extend(extra);
    let run = fleet.deckhand(&args);
    assert_eq!(run.code, 0, "{run:?}");
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"))
}

/// Waits until the plan holds decky a (the session is seen), and returns it.
fn held_plan(fleet: &Fleet) -> Value {
    let mut last = Value::Null;
    let held = within(Duration::from_secs(60), || {
        last = plan_json(fleet, &[]);
        last["held"].as_array().is_some_and(|h| !h.is_empty())
    });
    assert!(held.is_some(), "never held: {last:#}");
    last
}

fn tamper(fleet: &Fleet) {
    for d in ["a", "b"] {
        docker(&["exec", &fleet.n(d), "sh", "-c", "echo stolen > /srv/bait"]);
    }
}

#[test]
fn a_live_session_holds_its_deckys_replace_and_restore_and_the_rest_goes_on() {
    let fleet = Fleet::new("engaged");
    fleet.write(CONFIG);
    fleet.apply();
    let before = fleet.containers();
    let opened = time::OffsetDateTime::now_utc();
    let session = Session::open(&fleet);
    tamper(&fleet);
    // A change that replaces decky a's base (and its service with it).
    fleet.write(&CONFIG.replace(
        "[deckies.{fleet}-a]\n",
        "[deckies.{fleet}-a]\nenv = { ROLE = \"db\" }\n",
    ));

    let plan = held_plan(&fleet);
    let held = &plan["held"][0];
    assert_eq!(held["decky"], fleet.n("a").as_str(), "{plan:#}");
    let b_ip = address(&fleet.n("b"));
    let session_text = held["sessions"][0].as_str().unwrap().to_string();
    assert!(
        session_text.starts_with(&format!("{}:", b_ip.trim()))
            && session_text.ends_with("-> port 2222"),
        "{plan:#}"
    );
    // Held: the base's replace (its service with it) and the bait's restore.
    let held_kinds: Vec<String> = held["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["action"].as_str().unwrap(),
                c["kind"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        held_kinds,
        ["replace decky", "replace service", "create file"],
        "{plan:#}"
    );
    let planned: Vec<&Value> = plan["changes"].as_array().unwrap().iter().collect();
    assert!(
        planned.iter().all(|c| c["decky"] == fleet.n("b").as_str()),
        "only b's restore is planned: {plan:#}"
    );
    // Since: when deckhand first saw it (after the session opened, before
    // now), the same in every later plan, and said so.
    let since = held["since"].as_str().unwrap().to_string();
    let seen = time::OffsetDateTime::parse(&since, &Rfc3339).unwrap();
    assert!(
        opened - time::Duration::seconds(1) <= seen,
        "{since} before {opened}"
    );
    assert!(seen <= time::OffsetDateTime::now_utc(), "{since}");
    let peer = session_text.split(" -> ").next().unwrap();
    assert_eq!(held["peer"], peer, "{plan:#}");
    let text = fleet.plan();
    assert!(
        text.stdout.contains(&format!(
            "decky {} held: live session from {peer} since {since} (port 2222); since: first seen by deckhand",
            fleet.n("a")
        )),
        "{text:?}"
    );
    assert_eq!(held_plan(&fleet)["held"][0]["since"], since.as_str());

    // Apply: b healed, a left as it is (same containers, bait as tampered).
    fleet.apply();
    assert_eq!(cat(&fleet.n("b"), "/srv/bait"), b"b\n");
    assert_eq!(cat(&fleet.n("a"), "/srv/bait"), b"stolen\n");
    let during = fleet.containers();
    for name in [fleet.n("a"), fleet.n("a-echo")] {
        assert_eq!(
            during[&name].id, before[&name].id,
            "{name} was replaced during the session"
        );
    }

    // The session ends: what it held is planned and applied.
    drop(session);
    let ended = within(Duration::from_secs(60), || {
        plan_json(&fleet, &[])["held"]
            .as_array()
            .is_some_and(Vec::is_empty)
    });
    assert!(ended.is_some(), "still held after the session ended");
    fleet.apply();
    assert_eq!(cat(&fleet.n("a"), "/srv/bait"), b"a\n");
    assert_ne!(
        fleet.containers()[&fleet.n("a")].id,
        before[&fleet.n("a")].id
    );
    fleet.assert_no_changes();
}

#[test]
fn force_applies_what_a_session_would_hold() {
    let fleet = Fleet::new("engforce");
    fleet.write(CONFIG);
    fleet.apply();
    let _session = Session::open(&fleet);
    tamper(&fleet);
    held_plan(&fleet);
    let forced = plan_json(&fleet, &["--force"]);
    assert_eq!(forced["held"], Value::Array(vec![]), "{forced:#}");
    let run = fleet.deckhand(&["apply", "--auto-approve", "--force", "--no-color"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(cat(&fleet.n("a"), "/srv/bait"), b"a\n");
}

#[test]
fn watch_applies_what_a_session_held_once_it_ends() {
    let fleet = Fleet::new("engwatch");
    fleet.write(CONFIG);
    fleet.apply();
    let session = Session::open(&fleet);
    tamper(&fleet);
    held_plan(&fleet);
    let watch = Watch::start_json(&fleet, 600);
    watch.wait_for("\"type\":\"held\"", Duration::from_secs(60));
    // SPEC §9: a held event names the decky, the peer and since when.
    let event: Value = watch
        .output()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["type"] == "held")
        .unwrap();
    assert_eq!(event["decky"], fleet.n("a").as_str(), "{event}");
    let b_ip = address(&fleet.n("b"));
    assert!(
        event["peer"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}:", b_ip.trim())),
        "{event}"
    );
    assert!(
        time::OffsetDateTime::parse(event["since"].as_str().unwrap(), &Rfc3339).is_ok(),
        "{event}"
    );
    assert_eq!(
        cat(&fleet.n("b"), "/srv/bait"),
        b"b\n",
        "{}",
        watch.output()
    );
    assert_eq!(cat(&fleet.n("a"), "/srv/bait"), b"stolen\n");
    drop(session);
    let healed = within(Duration::from_secs(60), || {
        cat(&fleet.n("a"), "/srv/bait") == b"a\n"
    });
    let healed = healed.unwrap_or_else(|| panic!("{}", watch.output()));
    eprintln!("restored {} ms after the session ended", healed.as_millis());
    assert!(
        watch.output().contains("session ended"),
        "{}",
        watch.output()
    );
}

/// Decky a rotates between two services every 10 s; decky b is where the
/// session comes from.
const ROTATING: &str = concat!(
    fleet_table!(),
    r#"seed_file = ".deckhand/seed"

[services.echo]
image = "{image}"
command = ["nc", "-ll", "-p", "2222", "-e", "cat"]
ports = [2222]

[services.p]
image = "{image}"
command = ["sleep", "infinity"]

[services.q]
image = "{image}"
command = ["sleep", "infinity"]

[deckies.{fleet}-a]
services = ["echo"]

[deckies.{fleet}-b]
services = ["echo"]

[rotation]
every = "10s"

[rotation.deckies.{fleet}-a]
pool = ["p", "q"]
"#
);

/// The containers a plan changes (not held).
fn changed(plan: &Value) -> Vec<String> {
    let changes = plan["changes"].as_array().unwrap();
    let names = changes.iter().filter_map(|c| c["container"].as_str());
    names.map(str::to_string).collect()
}

#[test]
fn a_live_session_holds_a_rotation_due_until_it_ends() {
    let fleet = Fleet::new("engrot");
    fleet.write_seed(0x51, 0o600);
    fleet.write(ROTATING);
    fleet.apply();
    let session = Session::open(&fleet);
    held_plan(&fleet);
    // An epoch whose choice differs from what runs: `--force` plans it whole.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let at = |k: i64| {
        let t = time::OffsetDateTime::from_unix_timestamp(k * 10).unwrap();
        t.format(&Rfc3339).unwrap()
    };
    let first = now / 10 + 1;
    let due = (first..first + 64)
        .map(at)
        .find(|t| !changed(&plan_json(&fleet, &["--at", t, "--force"])).is_empty())
        .expect("two services, one active, 64 epochs: one of them differs from now");
    let forced = changed(&plan_json(&fleet, &["--at", &due, "--force"]));
    assert!(
        forced.iter().all(|c| c.starts_with(&fleet.n("a-"))),
        "{forced:?}"
    );
    let held = plan_json(&fleet, &["--at", &due]);
    assert!(changed(&held).is_empty(), "the rotation went on: {held:#}");
    assert_eq!(held["held"][0]["decky"], fleet.n("a").as_str(), "{held:#}");
    drop(session);
    let mut last = Value::Null;
    let released = within(Duration::from_secs(60), || {
        last = plan_json(&fleet, &["--at", &due]);
        changed(&last) == forced
    });
    assert!(
        released.is_some(),
        "still held after the session ended: {last:#}"
    );
}
