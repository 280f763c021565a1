//! Canaries (SPEC §11) on the real engine: each token is planted in its
//! decky and told by `deckhand canaries` alone; no plan, event or log shows it.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::{cat, Fleet};

const FLEET: &str = concat!(
    fleet_table!(),
    r#"seed_file = ".deckhand/seed"

[deckies.{fleet}-a]
services = []
hostname = "files-01"

[deckies.{fleet}-b]
services = []

[deckies.{fleet}-a.files."/home/admin/.aws/credentials"]
canary = "aws"
owner = "1000:1000"
mode = 0o600

[deckies.{fleet}-a.files."/home/admin/.ssh/id_ed25519"]
canary = "ssh_key"
owner = "1000:1000"
mode = 0o600

[deckies.{fleet}-a.files."/root/.my.cnf"]
canary = "password"

[deckies.{fleet}-a.files."/root/todo.txt"]
canary = "url"

[deckies.{fleet}-b.files."/home/admin/.aws/credentials"]
canary = "aws"
"#
);

/// One canary as `deckhand canaries --format json` lists it.
#[derive(Debug, Clone, serde::Deserialize)]
struct Listed {
    id: String,
    kind: String,
    decky: String,
    path: String,
    token: String,
    current: bool,
}

fn seeded(hint: &str) -> Fleet {
    let fleet = Fleet::new(hint);
    fleet.write_seed(0x42, 0o600);
    fleet.write(FLEET);
    fleet
}

/// The current canaries.
fn listed(fleet: &Fleet) -> Vec<Listed> {
    let all = every_generation(fleet);
    all.into_iter().filter(|c| c.current).collect()
}

/// Every generation `deckhand canaries` lists, current or older.
fn every_generation(fleet: &Fleet) -> Vec<Listed> {
    let run = fleet.deckhand(&["canaries", "--format", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"))
}

/// Each listed canary's token is in its decky's file (an SSH key's
/// fingerprint is that of the key, as ssh-keygen computes it).
fn assert_planted(canaries: &[Listed]) {
    for c in canaries {
        let text = String::from_utf8(cat(&c.decky, &c.path)).unwrap();
        match c.kind.as_str() {
            "ssh_key" => {
                assert_eq!(
                    deckhand::canary::fingerprint(&text).as_deref(),
                    Some(c.token.as_str()),
                    "{text}"
                );
                let dir = tempfile::tempdir().unwrap();
                let key = dir.path().join("key");
                std::fs::write(&key, &text).unwrap();
                std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
                let out = std::process::Command::new("ssh-keygen")
                    .args(["-l", "-f"])
                    .arg(&key)
                    .output()
                    .expect("ssh-keygen is installed (scripts/test-tools.sh)");
                let out = String::from_utf8_lossy(&out.stdout);
                assert!(out.contains(&c.token) && out.contains("(ED25519)"), "{out}");
                let public = std::process::Command::new("ssh-keygen")
                    .arg("-y")
                    .arg("-f")
                    .arg(&key)
                    .output()
                    .unwrap();
                assert!(public.status.success(), "ssh-keygen -y: {public:?}");
                assert!(String::from_utf8_lossy(&public.stdout).starts_with("ssh-ed25519 AAAA"));
            }
            _ => assert!(text.contains(&c.token), "{c:?}: {text}"),
        }
    }
}

/// Where in `out` a token (or an SSH key's body) shows.
fn leaks(out: &str, canaries: &[Listed], bodies: &[String]) -> Vec<String> {
    let tokens = canaries.iter().map(|c| &c.token);
    tokens
        .chain(bodies)
        .filter(|t| out.contains(t.as_str()))
        .cloned()
        .collect()
}

/// The lines of each SSH key's base64 body.
fn key_bodies(canaries: &[Listed]) -> Vec<String> {
    let keys = canaries.iter().filter(|c| c.kind == "ssh_key");
    let text = keys.map(|c| String::from_utf8(cat(&c.decky, &c.path)).unwrap());
    let lines: Vec<String> = text
        .flat_map(|t| t.lines().map(String::from).collect::<Vec<_>>())
        .collect();
    lines
        .into_iter()
        .filter(|l| !l.starts_with("-----") && l.len() > 20)
        .collect()
}

/// Every path under `dir`, and what the JSON sidecars there say.
fn evidence_names(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        out.push(p.display().to_string());
        if p.is_dir() {
            out.extend(evidence_names(&p));
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(std::fs::read_to_string(&p).unwrap());
        }
    }
    out
}

/// The content of every evidence copy (not its json notes) under `dir`.
fn evidence_files(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(evidence_files(&p));
        } else if p.extension().is_none_or(|x| x != "json") {
            out.push(std::fs::read(&p).unwrap());
        }
    }
    out
}

#[test]
fn a_canarys_token_is_in_the_container_and_nowhere_in_any_output() {
    let fleet = seeded("canary");
    let mut outputs = vec![];
    for args in [
        &["plan", "--no-color"][..],
        &["plan", "--format", "json"],
        &["plan", "--format", "markdown"],
        &["apply", "--auto-approve", "--json"],
    ] {
        let run = fleet.deckhand(args);
        assert!(run.code == 0, "{args:?}: {run:?}");
        outputs.push((args.join(" "), run.all()));
    }
    let canaries = listed(&fleet);
    assert_eq!(canaries.len(), 5, "{canaries:?}");
    let plan = &outputs[0].1;
    for c in &canaries {
        assert!(
            plan.contains(&format!("canary {}", c.id)),
            "{} not named: {plan}",
            c.id
        );
    }
    assert_planted(&canaries);
    let a = canaries
        .iter()
        .filter(|c| c.kind == "aws")
        .collect::<Vec<_>>();
    assert_ne!(a[0].token, a[1].token, "two deckies, one token");

    // The intruder rewrites a canary; watch restores it and says so.
    let aws = canaries
        .iter()
        .find(|c| c.kind == "aws" && c.decky == fleet.n("a"))
        .unwrap();
    let watch = common::watch::Watch::start(&fleet, 600);
    // Taken before the intruder writes: watch may restore it at any moment after.
    let planted = cat(&aws.decky, &aws.path);
    common::docker(&[
        "exec",
        &aws.decky,
        "sh",
        "-c",
        &format!("echo stolen-by-intruder >> {}", aws.path),
    ]);
    let healed = common::watch::within(Duration::from_secs(60), || {
        cat(&aws.decky, &aws.path) == planted
    });
    assert!(healed.is_some(), "not restored:\n{}", watch.output());
    watch.settled(Duration::from_secs(60));
    assert!(watch.output().contains(&aws.path), "{}", watch.output());
    outputs.push(("watch".into(), watch.output()));
    drop(watch);
    let status = fleet.deckhand(&["status", "--no-color"]);
    outputs.push(("status".into(), status.all()));

    // Evidence keeps the intruder's bytes, but no name there tells a token.
    let names = evidence_names(&fleet.dir.path().join(".deckhand/evidence"));
    assert!(
        !names.is_empty(),
        "no evidence kept of the rewritten canary"
    );
    outputs.push(("evidence names".into(), names.join("\n")));
    assert!(
        evidence_files(&fleet.dir.path().join(".deckhand/evidence"))
            .iter()
            .any(|bytes| bytes.ends_with(b"stolen-by-intruder\n")),
        "no evidence copy holds the intruder's bytes: {names:?}"
    );
    let bodies = key_bodies(&canaries);
    assert!(!bodies.is_empty());
    for (label, out) in &outputs {
        assert_eq!(
            leaks(out, &canaries, &bodies),
            Vec::<String>::new(),
            "{label}:\n{out}"
        );
    }
    assert_planted(&canaries);
    fleet.assert_no_changes();
}

#[test]
fn rotating_a_deckys_canaries_is_planned_as_updates_and_kept() {
    let fleet = seeded("rotate");
    fleet.apply();
    let before = listed(&fleet);
    let (a, b) = (fleet.n("a"), fleet.n("b"));

    let preview = fleet.deckhand(&["plan", "--no-color", "--rotate-canaries", &a]);
    assert_eq!(preview.code, 0, "{preview:?}");
    assert!(
        preview
            .stdout
            .contains("Plan: 0 to add, 4 to change, 0 to replace, 0 to destroy."),
        "{preview:?}"
    );
    assert_eq!(
        listed(&fleet)[0].token,
        before[0].token,
        "a preview rotates nothing"
    );

    let run = fleet.deckhand(&[
        "apply",
        "--auto-approve",
        "--no-color",
        "--rotate-canaries",
        &a,
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let after = listed(&fleet);
    for (old, new) in before.iter().zip(&after) {
        assert_eq!((&old.decky, &old.path), (&new.decky, &new.path));
        if old.decky == a {
            assert_ne!(old.token, new.token, "{} kept its token", old.path);
            assert_ne!(old.id, new.id);
            assert!(
                run.stdout.contains(&format!("canary {}", new.id)),
                "{run:?}"
            );
        } else {
            assert_eq!(old.token, new.token, "{b} was not rotated");
        }
    }
    assert_eq!(
        leaks(&run.all(), &after, &key_bodies(&after)),
        Vec::<String>::new(),
        "{run:?}"
    );
    assert_eq!(
        leaks(&run.all(), &before, &[]),
        Vec::<String>::new(),
        "{run:?}"
    );
    assert_planted(&after);
    // The older generation stays listed (it may still be planted, or copied away).
    let old: Vec<(String, String)> = every_generation(&fleet)
        .into_iter()
        .filter(|c| !c.current)
        .map(|c| (c.id, c.token))
        .collect();
    let rotated: Vec<(String, String)> = before
        .iter()
        .filter(|c| c.decky == a)
        .map(|c| (c.id.clone(), c.token.clone()))
        .collect();
    assert_eq!(old, rotated);
    let kept =
        std::fs::read_to_string(fleet.dir.path().join(".deckhand/canary-rotations.toml")).unwrap();
    assert!(kept.contains(&format!("\"{a}\" = 1")), "{kept}");
    fleet.assert_no_changes();

    // A rotation --target would leave unplanted is refused before anything is kept.
    let outside = fleet.deckhand(&[
        "apply",
        "--auto-approve",
        "--target",
        &b,
        "--rotate-canaries",
        &a,
    ]);
    assert_eq!(outside.code, 1, "{outside:?}");
    assert!(
        outside.stderr.contains("not among the --target deckies"),
        "{outside:?}"
    );
    let still =
        std::fs::read_to_string(fleet.dir.path().join(".deckhand/canary-rotations.toml")).unwrap();
    assert_eq!(still, kept);

    let unknown = fleet.deckhand(&["apply", "--auto-approve", "--rotate-canaries", "nope"]);
    assert_eq!(unknown.code, 1, "{unknown:?}");
    assert!(unknown.stderr.contains("no decky 'nope'"), "{unknown:?}");
}

/// Every window of `width` characters of each secret: a slice of a token
/// shown anywhere (cut, wrapped or escaped around it) is a leak too.
fn slices(secrets: &[String], width: usize) -> Vec<String> {
    let windows = secrets.iter().flat_map(|s| {
        let chars: Vec<char> = s.chars().collect();
        let count = chars.len().saturating_sub(width) + 1;
        (0..count)
            .map(|i| {
                chars[i..(i + width).min(chars.len())]
                    .iter()
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
    });
    windows.collect()
}

/// The drawn part of a token: not the fleet's name in a URL, nor `AKIA`.
fn secret_part(c: &Listed) -> String {
    let token = c.token.as_str();
    let part = match c.kind.as_str() {
        "aws" => token.strip_prefix("AKIA"),
        "url" => token.rsplit('/').next(),
        "ssh_key" => token.strip_prefix("SHA256:"),
        _ => Some(token),
    };
    part.unwrap_or_else(|| panic!("a {} token of another shape: {c:?}", c.kind))
        .to_string()
}

/// Every file under `dir`, except the evidence (which keeps the intruder's
/// bytes, and a canary's, on purpose) and the seed.
fn state_files(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut out = vec![];
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if path.is_dir() && name != "evidence" {
                todo.push(path);
            } else if path.is_file() && name != "seed" {
                let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).to_string();
                out.push((path.display().to_string(), text));
            }
        }
    }
    out
}

#[test]
fn no_command_output_or_state_file_shows_a_slice_of_a_token() {
    let fleet = seeded("canslice");
    fleet.apply();
    let canaries = listed(&fleet);
    assert_eq!(canaries.len(), 5, "{canaries:?}");
    let secrets: Vec<String> = canaries
        .iter()
        .map(secret_part)
        .chain(key_bodies(&canaries))
        .collect();
    let windows = slices(&secrets, 12);
    assert!(windows.len() > secrets.len(), "{windows:?}");
    // The check can find what it looks for: the planted files show their slices.
    let aws = canaries.iter().find(|c| c.kind == "aws").unwrap();
    let planted = String::from_utf8(cat(&aws.decky, &aws.path)).unwrap();
    assert!(slices(&[secret_part(aws)], 12)
        .iter()
        .all(|w| planted.contains(w.as_str())));
    let mut outputs: Vec<(String, String)> = vec![];
    let saved = fleet.dir.path().join("saved.json");
    let saved_arg = saved.display().to_string();
    for args in [
        &["plan", "--no-color"][..],
        &["plan", "--format", "json"],
        &["plan", "--format", "markdown"],
        &["plan", "--at", "+2h", "--format", "json"],
        &["plan", "--at", "+2h", "--format", "markdown"],
        &["plan", "--out", &saved_arg],
        &["status", "--format", "json"],
        &["status", "--no-color"],
        &["validate", "--format", "json"],
        &["lint"],
        &["graph"],
        &["graph", "--format", "dot"],
    ] {
        let run = fleet.deckhand(args);
        assert!(run.code <= 1, "{args:?}: {run:?}");
        outputs.push((args.join(" "), run.all()));
    }
    let watch = common::watch::Watch::start_json(&fleet, 600);
    watch.settled(Duration::from_secs(60));
    assert!(
        watch.output().contains("\"type\":\"pass\""),
        "{}",
        watch.output()
    );
    outputs.push(("watch --json".into(), watch.output()));
    drop(watch);
    outputs.extend(state_files(&fleet.dir.path().join(".deckhand")));
    // The record of dropped files lives in the labels of its holder containers.
    let filter = format!("name=deckhand.record.{}", fleet.name);
    let holders = common::docker(&["ps", "-a", "-q", "--filter", &filter]);
    let ids: Vec<&str> = holders.split_whitespace().collect();
    assert!(!ids.is_empty(), "no record holder for {filter}");
    let record = common::docker(&[&["inspect"][..], &ids].concat());
    assert!(record.contains("/home/admin/.aws/credentials"), "{record}");
    outputs.push(("the record".into(), record));
    outputs.push((
        "saved plan".into(),
        std::fs::read_to_string(&saved).unwrap(),
    ));
    for (label, out) in &outputs {
        let shown: Vec<&String> = windows
            .iter()
            .filter(|w| out.contains(w.as_str()))
            .collect();
        assert!(shown.is_empty(), "{label} shows {shown:?}:\n{out}");
    }
}
