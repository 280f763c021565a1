//! `deckhand watch` as a child process against the real engine: saves become
//! passes, drift is healed, bad edits change nothing, SIGTERM ends it cleanly.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::proxy::Proxy;
use common::watch::{within, Watch};
use common::{docker, Fleet};

const CONFIG: &str = concat!(
    fleet_table!(),
    http_service!(),
    ssh_service!(),
    r#"
[deckies.{fleet}-a]
services = ["http"]

[deckies.{fleet}-a.files."/root/notes.txt"]
content = "v0\n"
target = "base"

[deckies.{fleet}-b]
services = ["http"]
"#
);

/// The fleet's container `suffix` runs, under another id than `old`.
fn recreated(fleet: &Fleet, suffix: &str, old: &str) -> bool {
    let name = fleet.n(suffix);
    running(&name) && fleet.containers().get(&name).is_some_and(|c| c.id != old)
}

fn running(name: &str) -> bool {
    let (ok, out) = common::docker_try(&["inspect", "-f", "{{.State.Running}}", name]);
    ok && out.trim() == "true"
}

#[test]
fn a_saved_service_goes_live_and_its_neighbours_keep_their_ids() {
    let fleet = Fleet::new("wadd");
    fleet.write(CONFIG);
    let mut watch = Watch::start(&fleet, 60);
    let before = fleet.containers();
    assert_eq!(before.len(), 4, "{}", watch.output());

    fleet.write(&CONFIG.replace(
        "[deckies.{fleet}-b]\nservices = [\"http\"]",
        "[deckies.{fleet}-b]\nservices = [\"http\", \"ssh\"]",
    ));
    // How soon is measured (the bench's business), not asserted: a busy machine is slow.
    let latency = within(Duration::from_secs(60), || running(&fleet.n("b-ssh")))
        .unwrap_or_else(|| panic!("b-ssh not live within 60 s:\n{}", watch.output()));
    eprintln!("save to live: {} ms", latency.as_millis());
    watch.wait_for("pass 2 done", Duration::from_secs(60));
    watch.assert_running();
    let after = fleet.containers();
    for (name, c) in &before {
        assert_eq!(after[name].id, c.id, "{name} was recreated");
        assert_eq!(after[name].started_at, c.started_at, "{name} was restarted");
    }
    assert_eq!(after.len(), 5);
    assert!(
        watch.output().contains("deckhand.toml saved"),
        "{}",
        watch.output()
    );

    // Between passes the lock is free: a person can apply.
    let run = fleet.deckhand(&["apply", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("No changes."), "{run:?}");

    // A replace removes containers: their events are deckhand's own and start no pass.
    fleet.write(
        &CONFIG
            .replace(
                "services = [\"http\"]\n\n[deckies.{fleet}-a.files",
                "services = [\"http\", \"ssh\"]\n\n[deckies.{fleet}-a.files",
            )
            .replace(
                "[services.http]\nimage = \"{image}\"",
                "[services.http]\nimage = \"{alt}\"",
            ),
    );
    watch.wait_for("pass 3 done", Duration::from_secs(60));
    // A marker through the same event stream: an engine's events come in
    // order, so any the replace caused were seen before this one.
    let marker = fleet.n("b");
    docker(&["rm", "-f", &marker]);
    watch.wait_for("pass 4 done", Duration::from_secs(60));
    let out = watch.output();
    assert!(out.contains("replaced"), "{out}");
    let pass4 = out
        .lines()
        .find(|l| l.contains(" pass 4 ("))
        .unwrap_or_default();
    let reasons = pass4.split_once(" (").map(|(_, r)| r).unwrap_or_default();
    assert!(
        reasons
            .trim_end_matches(')')
            .split(", ")
            .all(|r| r.starts_with(&format!("container {marker} "))),
        "the replace's own events started a pass: {out}"
    );
    assert_eq!(watch.settled(Duration::from_secs(60)), 4, "{out}");
}

#[test]
fn an_invalid_save_is_reported_changes_nothing_and_the_next_good_save_applies() {
    let fleet = Fleet::new("wbad");
    fleet.write(CONFIG);
    let mut watch = Watch::start(&fleet, 60);
    let before = fleet.engine_state();

    // A syntax error.
    fleet.write(&CONFIG.replace("[deckies.{fleet}-b]", "[deckies.{fleet}-b"));
    watch.wait_for("pass 2 done", Duration::from_secs(60));
    let out = watch.output();
    assert!(out.contains("invalid configuration"), "{out}");
    assert!(
        out.contains("deckhand.toml:22:"),
        "file and line expected:\n{out}"
    );
    watch.assert_running();

    // A service that is not in the catalog.
    fleet.write(&CONFIG.replace(
        "services = [\"http\"]\n\n[deckies.{fleet}-a.files",
        "services = [\"http\", \"smb\"]\n\n[deckies.{fleet}-a.files",
    ));
    watch.wait_for("pass 3 done", Duration::from_secs(60));
    let out = watch.output();
    assert!(
        out.contains("unknown service 'smb'") || out.contains("'smb'"),
        "{out}"
    );
    assert!(
        out.contains("deckhand.toml:16:"),
        "file and line expected:\n{out}"
    );
    watch.assert_running();
    assert_eq!(
        fleet.engine_state(),
        before,
        "an invalid save changed the engine"
    );

    // Fixed: applied.
    fleet.write(&CONFIG.replace("content = \"v0\\n\"", "content = \"v1\\n\""));
    watch.wait_for("pass 4 done", Duration::from_secs(60));
    assert_eq!(common::cat(&fleet.n("a"), "/root/notes.txt"), b"v1\n");
    watch.assert_running();
}

#[test]
fn a_removed_container_is_recreated_on_its_event() {
    let fleet = Fleet::new("wheal");
    fleet.write(CONFIG);
    // A long interval: only the engine's event can bring the container back in time.
    let mut watch = Watch::start(&fleet, 600);
    let old = fleet.containers()[&fleet.n("a-http")].id.clone();

    docker(&["rm", "-f", &fleet.n("a-http")]);
    let took = within(Duration::from_secs(60), || {
        recreated(&fleet, "a-http", &old)
    })
    .unwrap_or_else(|| panic!("a-http not recreated:\n{}", watch.output()));
    eprintln!("rm -f to recreated: {} ms", took.as_millis());
    assert!(
        watch
            .output()
            .contains(&format!("container {} removed", fleet.n("a-http"))),
        "{}",
        watch.output()
    );
    watch.assert_running();
}

#[test]
fn a_file_edited_inside_a_decky_is_restored_on_the_interval() {
    let fleet = Fleet::new("wfile");
    fleet.write(CONFIG);
    // Through the engine, nothing tells of the edit: the interval finds it.
    let mut watch = Watch::start_env(&fleet, 2, &[], &[("DECKHAND_READ", "engine")]);
    docker(&[
        "exec",
        &fleet.n("a"),
        "sh",
        "-c",
        "echo intruder > /root/notes.txt",
    ]);
    let took = within(Duration::from_secs(60), || {
        common::cat(&fleet.n("a"), "/root/notes.txt") == b"v0\n"
    })
    .unwrap_or_else(|| panic!("notes.txt not restored:\n{}", watch.output()));
    eprintln!(
        "in-container edit to restored: {} ms (interval 2 s)",
        took.as_millis()
    );
    assert!(watch.output().contains("(interval)"), "{}", watch.output());
    watch.assert_running();
}

#[test]
fn a_burst_of_five_saves_makes_one_pass_with_the_last_content() {
    let fleet = Fleet::new("wburst");
    fleet.write(CONFIG);
    // A debounce far longer than the writes are apart (20 ms), so that a busy
    // machine cannot split the burst; each gap is checked against it.
    let watch = Watch::start_with(&fleet, 60, &["--debounce-ms", "2000"]);
    assert_eq!(watch.passes(), 1);

    let mut last = Instant::now();
    for i in 1..=5 {
        fleet.write(&CONFIG.replace("content = \"v0\\n\"", &format!("content = \"v{i}\\n\"")));
        let gap = last.elapsed();
        assert!(gap < Duration::from_millis(2000), "a write took {gap:?}");
        last = Instant::now();
    }
    watch.wait_for("pass 2 done", Duration::from_secs(60));
    assert_eq!(common::cat(&fleet.n("a"), "/root/notes.txt"), b"v5\n");
    // A later save is pass 3: the burst made pass 2 alone.
    fleet.write(&CONFIG.replace("content = \"v0\\n\"", "content = \"v6\\n\""));
    watch.wait_for("pass 3 done", Duration::from_secs(60));
    assert_eq!(common::cat(&fleet.n("a"), "/root/notes.txt"), b"v6\n");
    assert_eq!(
        watch.settled(Duration::from_secs(60)),
        3,
        "{}",
        watch.output()
    );
}

#[test]
fn sigterm_exits_0_and_releases_the_lock() {
    let fleet = Fleet::new("wterm");
    fleet.write(CONFIG);
    let mut watch = Watch::start(&fleet, 60);
    let pid = watch.child.id().to_string();
    let sent = Instant::now();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = loop {
        if let Some(status) = watch.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(60),
            "still running 60 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "{}", watch.output());
    assert!(watch.output().contains("stopped"));
    let (found, _) = common::docker_try(&["inspect", &format!("deckhand.lock.{}", fleet.name)]);
    assert!(!found, "the lock was left behind");
}

#[test]
fn the_engine_going_away_is_reported_and_on_its_return_everything_is_observed_again() {
    let fleet = Fleet::new("wlost");
    fleet.write(CONFIG);
    let socket = fleet.dir.path().join("engine.sock");
    let proxy = Proxy::start(&socket);
    let url = proxy.url();
    let mut watch = Watch::start_with(&fleet, 60, &["--docker-host", &url]);

    proxy.kill();
    watch.wait_for("lost the engine's events", Duration::from_secs(60));
    // Meanwhile a container goes: the engine will not replay that to a new subscriber.
    let old = fleet.containers()[&fleet.n("a-http")].id.clone();
    docker(&["rm", "-f", &fleet.n("a-http")]);
    watch.assert_running();

    let _back = Proxy::start(&socket);
    watch.wait_for("engine events back", Duration::from_secs(60));
    within(Duration::from_secs(60), || {
        recreated(&fleet, "a-http", &old)
    })
    .unwrap_or_else(|| {
        panic!(
            "a-http not recreated after the engine came back:\n{}",
            watch.output()
        )
    });
    assert!(watch.output().contains("engine back"), "{}", watch.output());
    watch.assert_running();
}

#[test]
fn plan_only_prints_each_pass_plan_and_changes_nothing() {
    let fleet = Fleet::new("wplan");
    fleet.write(CONFIG);
    let mut watch = Watch::start_with(&fleet, 60, &["--plan-only"]);
    let out = watch.output();
    assert!(
        out.contains("5 changes to apply (--plan-only: not applied)"),
        "{out}"
    );
    assert!(out.contains(&format!("+ decky {}", fleet.n("a"))), "{out}");
    fleet.write(&CONFIG.replace("services = [\"http\"]\n", "services = []\n"));
    watch.wait_for("pass 2 done", Duration::from_secs(60));
    let out = watch.output();
    assert_eq!(
        out.matches("to apply (--plan-only: not applied)").count(),
        2,
        "{out}"
    );
    watch.assert_running();
    assert!(
        fleet.engine_state().starts_with("--- networks"),
        "plan-only changed the engine: {}",
        fleet.engine_state()
    );
}

#[test]
fn a_pass_that_would_destroy_many_deckies_destroys_none_and_applies_the_rest() {
    let fleet = Fleet::new("wmass");
    let four = concat!(
        fleet_table!(),
        r#"
[deckies.{fleet}-a]
services = []

[deckies.{fleet}-a.files."/srv/note"]
content = "v1\n"

[deckies.{fleet}-b]
services = []

[deckies.{fleet}-c]
services = []

[deckies.{fleet}-d]
services = []
"#
    );
    fleet.write(four);
    let watch = Watch::start(&fleet, 60);
    let before = fleet.containers();
    // A truncated save: three deckies gone, and decky a's note changed.
    let cut = four.find("\n[deckies.{fleet}-b]").unwrap();
    fleet.write(&four[..cut].replace("v1", "v2"));
    watch.wait_for("pass 2 done", Duration::from_secs(60));
    let out = watch.output();
    assert!(out.contains("would destroy 3 deckies"), "{out}");
    assert!(out.contains("more than --max-destroy 2"), "{out}");
    for d in ["b", "c", "d"] {
        let name = fleet.n(d);
        assert_eq!(
            fleet.containers().get(&name),
            before.get(&name),
            "{name} was touched:\n{out}"
        );
    }
    assert_eq!(
        common::cat(&fleet.n("a"), "/srv/note"),
        b"v2\n",
        "the rest was not applied:\n{out}"
    );
    drop(watch);
    // The operator confirms: apply destroys them.
    fleet.apply();
    assert_eq!(fleet.containers().len(), 1);
}
