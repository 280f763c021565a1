//! Several engines (SPEC §6), on real engines: the machine's own as `local`,
//! and a second one started in its own network namespace and reached over TCP
//! with TLS client certificates.

mod common;

use common::engine2::SecondEngine;
use common::sshd::Sshd;
use common::watch::{within, Watch};
use common::{cat, deckhand_in, docker, Fleet};

use std::time::Duration;

/// Copies the second engine's client certificates next to the config, so the
/// config names them by relative paths.
fn copy_certs(fleet: &Fleet, engine: &SecondEngine) {
    for f in ["ca.pem", "cert.pem", "key.pem"] {
        let bytes = std::fs::read(engine.certs.join(f)).expect("cert");
        fleet.write_file(&format!("certs/{f}"), &bytes);
    }
}

fn config(engine: &SecondEngine, a_host: &str, a_services: &str) -> String {
    format!(
        r#"{fleet_table}
[hosts.edge]
docker_host = "{tcp}"
tls = {{ ca = "certs/ca.pem", cert = "certs/cert.pem", key = "certs/key.pem" }}

[services.ssh]
image = "{{image}}"
command = ["sleep", "infinity"]

[services.http]
image = "{{image}}"
command = ["httpd", "-f", "-p", "80"]

[deckies.{{fleet}}-a]
host = "{a_host}"
services = {a_services}

[deckies.{{fleet}}-a.files."/etc/motd"]
content = "decky a\n"

[deckies.{{fleet}}-b]
host = "edge"
services = ["http"]

[deckies.{{fleet}}-b.files."/var/www/index.html"]
content = "<h1>b</h1>\n"
target = "http"
"#,
        tcp = engine.tcp,
        fleet_table = fleet_table!(),
    )
}

fn local_names(fleet: &Fleet) -> Vec<String> {
    fleet.containers().into_keys().collect()
}

fn edge_names(fleet: &Fleet, engine: &SecondEngine) -> Vec<String> {
    engine
        .names(&format!("deckhand.fleet={}", fleet.name))
        .into_iter()
        .filter(|n| !n.starts_with("deckhand."))
        .collect()
}

#[test]
fn deckies_on_two_engines_are_planned_and_applied_in_one_run_and_a_cut_or_stopped_engine_fails_only_its_part(
) {
    let fleet = Fleet::new("hosts");
    let engine = SecondEngine::start(&format!("h{}", std::process::id()));
    copy_certs(&fleet, &engine);
    fleet.write(&config(&engine, "local", r#"["ssh"]"#));
    let (a, b) = (fleet.n("a"), fleet.n("b"));

    // One plan over both engines, grouped by host; JSON names each change's host.
    let plan = fleet.plan();
    assert_eq!(plan.code, 0, "{plan:?}");
    let local_at = plan.stdout.find("## host local").expect("a local section");
    let edge_at = plan.stdout.find("## host edge").expect("an edge section");
    assert!(local_at < edge_at, "{plan:?}");
    assert!(
        plan.stdout[local_at..edge_at].contains(&format!("decky {a}")),
        "{plan:?}"
    );
    assert!(
        plan.stdout[edge_at..].contains(&format!("decky {b}")),
        "{plan:?}"
    );
    assert!(plan.stdout.contains("Plan: 6 to add"), "{plan:?}");
    let json = fleet.deckhand(&["plan", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("json plan");
    assert_eq!(v["hosts"], serde_json::json!(["local", "edge"]));
    for c in v["changes"].as_array().unwrap() {
        let want = if c["decky"] == serde_json::json!(b) {
            "edge"
        } else {
            "local"
        };
        assert_eq!(c["host"], want, "{c}");
    }

    fleet.apply();
    assert_eq!(local_names(&fleet), [a.clone(), format!("{a}-ssh")]);
    assert_eq!(
        edge_names(&fleet, &engine),
        [b.clone(), format!("{b}-http")]
    );
    let page = engine.docker(&["exec", &format!("{b}-http"), "cat", "/var/www/index.html"]);
    assert_eq!(page, "<h1>b</h1>\n");
    fleet.assert_no_changes();
    // Each engine holds its own file record and no lock after the run.
    let holders = engine.names(&format!("deckhand.fleet={}", fleet.name));
    assert!(holders.iter().any(|n| n.contains("record")), "{holders:?}");
    assert!(!holders.iter().any(|n| n.contains("lock")), "{holders:?}");

    // Moving decky a to the other engine destroys it here and creates it there.
    fleet.write(&config(&engine, "edge", r#"["ssh"]"#));
    let plan = fleet.plan();
    assert!(
        plan.stdout
            .contains("Plan: 3 to add, 0 to change, 0 to replace, 2 to destroy."),
        "{plan:?}"
    );
    fleet.apply();
    assert!(local_names(&fleet).is_empty(), "{:?}", local_names(&fleet));
    assert_eq!(
        edge_names(&fleet, &engine),
        [
            a.clone(),
            format!("{a}-ssh"),
            b.clone(),
            format!("{b}-http")
        ]
    );
    fleet.assert_no_changes();

    // Back to local with one more service; then the edge engine goes away. The
    // local part is still planned and applied; the edge part fails, exit 1.
    fleet.write(&config(&engine, "local", r#"["ssh", "http"]"#));
    // What the edge engine holds: decky a there would be destroyed if it were reached.
    let edge_state = || {
        engine.docker(&[
            "ps",
            "-a",
            "--no-trunc",
            "--format",
            "{{.ID}} {{.Names}} {{.State}}",
        ])
    };
    let edge_before = edge_state();
    assert!(edge_before.contains(&format!("{a}-ssh")), "{edge_before}");
    engine.cut();
    let started = std::time::Instant::now();
    let run = fleet.deckhand(&["apply", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("host edge: cannot reach the Docker engine"),
        "{run:?}"
    );
    assert!(
        started.elapsed().as_secs() < 30,
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        local_names(&fleet),
        [a.clone(), format!("{a}-http"), format!("{a}-ssh")],
        "{run:?}"
    );
    // Nothing happened on the unreachable engine (seen through its socket).
    assert_eq!(edge_state(), edge_before);
    let plan = fleet.plan();
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(plan.stderr.contains("host edge"), "{plan:?}");
    assert!(!docker(&["ps", "-a", "--format", "{{.Names}}"])
        .contains(&format!("deckhand.lock.{}", fleet.name)));

    // The link back: the edge part converges (decky a leaves it).
    engine.restore();
    fleet.apply();
    assert_eq!(
        edge_names(&fleet, &engine),
        [b.clone(), format!("{b}-http")]
    );
    fleet.assert_no_changes();

    // The edge engine stopped: refused at once, the local part still planned.
    engine.stop();
    let plan = fleet.plan();
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(plan.stderr.contains("host edge: cannot reach"), "{plan:?}");
    assert!(plan.stdout.contains("No changes. Fleet"), "{plan:?}");
    assert!(
        plan.stdout
            .contains("on host(s): local (not planned: edge)."),
        "{plan:?}"
    );
}

#[test]
fn a_server_certificate_from_another_ca_is_refused() {
    let fleet = Fleet::new("tlsca");
    let engine = SecondEngine::start(&format!("c{}", std::process::id()));
    copy_certs(&fleet, &engine);
    // A CA of its own, which did not sign the engine's certificate.
    let other = fleet.dir.path().join("certs/other-ca.pem");
    let ok = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=other",
        ])
        .arg("-keyout")
        .arg(fleet.dir.path().join("certs/other-key.pem"))
        .arg("-out")
        .arg(&other)
        .output()
        .expect("openssl")
        .status
        .success();
    assert!(ok);
    fleet.write(&config(&engine, "local", "[]").replace("certs/ca.pem", "certs/other-ca.pem"));
    let plan = fleet.plan();
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(plan.stderr.contains("host edge: cannot reach"), "{plan:?}");
    assert!(
        plan.stderr
            .contains("invalid peer certificate: UnknownIssuer"),
        "{plan:?}"
    );
    // The local part is still planned.
    assert!(
        plan.stdout.contains(&format!("decky {}", fleet.n("a"))),
        "{plan:?}"
    );
    // A client key that is not the certificate's: named before any connection.
    let key = std::fs::read(engine.certs.join("server-key.pem")).unwrap();
    fleet.write_file("certs/other-key.pem", &key);
    fleet.write(&config(&engine, "local", "[]").replace("certs/key.pem", "certs/other-key.pem"));
    let plan = fleet.plan();
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(
        plan.stderr
            .contains("the TLS cert and key do not go together"),
        "{plan:?}"
    );
    // The right files: the engine is reached, and nothing was created on it meanwhile.
    fleet.write(&config(&engine, "local", "[]"));
    assert_eq!(fleet.plan().code, 0);
    assert!(edge_names(&fleet, &engine).is_empty());
}

#[test]
fn an_ssh_engine_is_reached_through_the_system_ssh_client() {
    let sshd = Sshd::start();
    let fleet = Fleet::new("ssh");
    // `local` itself redefined as the machine's engine seen through ssh.
    fleet.write(&format!(
        r#"{fleet_table}
[hosts.local]
docker_host = "ssh://root@127.0.0.1:{port}"

[deckies.{{fleet}}-a]
services = []

[deckies.{{fleet}}-a.files."/etc/motd"]
content = "over ssh\n"
"#,
        port = sshd.port,
        fleet_table = fleet_table!(),
    ));
    let ssh = sshd.ssh_command(&sshd.client_key());
    let env = [("DECKHAND_SSH_COMMAND", ssh.as_str())];
    let run = deckhand_in(
        fleet.dir.path(),
        &["apply", "--auto-approve", "--no-color"],
        &env,
    );
    assert_eq!(run.code, 0, "{run:?}");
    let a = fleet.n("a");
    assert_eq!(
        fleet.containers().into_keys().collect::<Vec<_>>(),
        [a.as_str()]
    );
    assert_eq!(cat(&a, "/etc/motd"), b"over ssh\n");
    let plan = deckhand_in(fleet.dir.path(), &["plan", "--no-color"], &env);
    assert!(plan.stdout.contains("No changes."), "{plan:?}");

    // A key the server refuses: the login error, and nothing else happens.
    let stranger = sshd.ssh_command(&sshd.stranger_key());
    let plan = deckhand_in(
        fleet.dir.path(),
        &["plan", "--no-color"],
        &[("DECKHAND_SSH_COMMAND", stranger.as_str())],
    );
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(plan.stderr.contains("ssh could not log in"), "{plan:?}");
    assert!(plan.stderr.contains("Permission denied"), "{plan:?}");
}

#[test]
fn watch_reconciles_every_engine_and_heals_a_removal_on_the_second() {
    let fleet = Fleet::new("hwatch");
    let engine = SecondEngine::start(&format!("w{}", std::process::id()));
    copy_certs(&fleet, &engine);
    fleet.write(&config(&engine, "local", "[]"));
    let b = fleet.n("b");
    let watch = Watch::start(&fleet, 600);
    watch.wait_for("applied", Duration::from_secs(20));
    assert_eq!(
        edge_names(&fleet, &engine),
        [b.clone(), format!("{b}-http")]
    );
    assert_eq!(local_names(&fleet), [fleet.n("a")]);

    // A container removed by hand on the second engine: its event starts a pass there.
    let old = engine.docker(&["inspect", "-f", "{{.Id}}", &format!("{b}-http")]);
    engine.docker(&["rm", "-f", &format!("{b}-http")]);
    let healed = within(Duration::from_secs(15), || {
        let ids = engine.docker(&[
            "ps",
            "-q",
            "--no-trunc",
            "--filter",
            &format!("name={b}-http"),
        ]);
        !ids.trim().is_empty() && ids.trim() != old.trim()
    });
    assert!(healed.is_some(), "not recreated:\n{}", watch.output());
    assert!(
        watch
            .output()
            .contains(&format!("container {b}-http removed")),
        "{}",
        watch.output()
    );

    // A save that adds a service on the local decky applies there.
    fleet.write(&config(&engine, "local", r#"["ssh"]"#));
    let live = within(Duration::from_secs(15), || {
        local_names(&fleet).contains(&fleet.n("a-ssh"))
    });
    assert!(live.is_some(), "not live:\n{}", watch.output());
}

#[test]
fn a_build_context_is_built_on_the_engine_that_needs_it() {
    let fleet = Fleet::new("hbuild");
    let engine = SecondEngine::start(&format!("b{}", std::process::id()));
    copy_certs(&fleet, &engine);
    fleet.write_file(
        "images/web/Dockerfile",
        format!("FROM {}\nCOPY index.html /srv/built.html\n", common::IMAGE).as_bytes(),
    );
    fleet.write_file("images/web/index.html", b"<h1>built</h1>\n");
    // The http service is built instead of pulled; only decky b (on edge) runs it.
    let svc = fleet.name.clone();
    let text = config(&engine, "local", "[]")
        .replace(
            "[services.http]\nimage = \"{image}\"",
            &format!("[services.{svc}]\nbuild = \"images/web\""),
        )
        .replace("services = [\"http\"]", &format!("services = [\"{svc}\"]"))
        .replace("target = \"http\"", &format!("target = \"{svc}\""));
    fleet.write(&text);
    let run = fleet.apply();
    assert!(
        run.stdout.contains("on edge: Successfully built"),
        "{run:?}"
    );
    let built = |images: String| {
        images
            .lines()
            .any(|l| l.starts_with(&format!("deckhand-build:{svc}-")))
    };
    assert!(built(engine.docker(&[
        "images",
        "--format",
        "{{.Repository}}:{{.Tag}}"
    ])));
    assert!(
        !built(docker(&["images", "--format", "{{.Repository}}:{{.Tag}}"])),
        "built on the engine that does not run it"
    );
    let page = engine.docker(&[
        "exec",
        &fleet.n(&format!("b-{svc}")),
        "cat",
        "/srv/built.html",
    ]);
    assert_eq!(page, "<h1>built</h1>\n");
    fleet.assert_no_changes();
}
