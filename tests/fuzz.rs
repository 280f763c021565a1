//! A bounded fuzz run over parse + validate + plan + render: mutated configs
//! (bytes inserted, deleted, duplicated; TOML tokens spliced in; invalid
//! UTF-8) against random live states. Nothing may panic, and a sensitive
//! file's content never reaches any rendered plan.
//!
//! Cases: `PROPTEST_CASES` (default 10,000 here). A failure prints a minimal
//! input that proptest shrank it to.

use std::cell::Cell;

use deckhand::desired::{DesiredState, Ensure, Role};
use deckhand::live::{LiveContainer, LiveFile, LiveFileState, LiveState};
use deckhand::record::FileRecord;
use deckhand::render::style::Style;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// The marker inside the sensitive file of each seed.
const MARK: &str = "S3CRET-MARK-7731";
/// What an intruder appends to a sensitive file live: only sensitive files
/// ever carry it, so it must never show in any output.
const LIVE_MARK: &str = "L1VE-SECRET-4419";

const SEEDS: [&str; 2] = [
    r#"[fleet]
name = "fz"
base_image = "img:1"
network = "lan"
services = ["sniffer"]

[networks.lan]
subnet = "10.1.0.0/24"
gateway = "10.1.0.1"

[services.ssh]
image = "img:1"
command = ["sleep", "infinity"]
env = { BANNER = "x" }
ports = [22]

[services.http]
image = "img:2"
entrypoint = ["httpd"]

[services.sniffer]
image = "img:1"
singleton = true

[deckies.web-01]
services = ["ssh", "http"]
ip = "10.1.0.10"
hostname = "www"

[deckies.web-01.service_config.ssh]
BANNER = "y"

[deckies.web-01.files."/root/.aws/credentials"]
content = "key = S3CRET-MARK-7731\n"
sensitive = true
mode = 0o600

[deckies.web-01.files."/home/a/.bash_history"]
content = "ls\nid\n"
owner = "1000:1000"
mtime = "2025-01-12T09:30:00Z"

[deckies.db-01]
services = []
image = "img:3"

[deckies.db-01.files."/srv/blob"]
content_b64 = "AAEC/w=="
mtime_offset = "-3d"

[deckies.db-01.files."/etc/old"]
ensure = "absent"
"#,
    r#"[fleet]
name = "fz2"
base_image = "img:1"

[services.ftp]
image = "img:1"

[deckies.a1]
services = ["ftp"]

[deckies.a1.files."/x/y"]
source = "blob"
target = "ftp"

[deckies.a1.files."/root/token"]
content = "S3CRET-MARK-7731"
sensitive = true
"#,
];

/// Splices that push mutations towards the grammar's corners.
const TOKENS: [&str; 24] = [
    "[",
    "]",
    "\"",
    "=",
    "\n",
    ".",
    "[deckies.",
    "[services.",
    "files.\"/",
    "services = [",
    "\"ssh\"",
    "0o7777",
    "-1",
    "\u{0}",
    "\"\"\"",
    "ensure = \"absent\"\n",
    "sensitive = true\n",
    "target = \"base\"\n",
    "../",
    "{",
    "}",
    "mode = \"0999\"\n",
    "\u{1b}[31m",
    "\u{ff}",
];

#[derive(Debug, Clone)]
enum Mutation {
    Insert(usize, Vec<u8>),
    Token(usize, usize),
    Delete(usize, usize),
    DuplicateLine(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..4))
            .prop_map(|(at, b)| Mutation::Insert(at, b)),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, t)| Mutation::Token(at, t)),
        (any::<usize>(), 1usize..40).prop_map(|(at, n)| Mutation::Delete(at, n)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
    ]
}

fn mutate(seed: &str, mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = seed.as_bytes().to_vec();
    for m in mutations {
        let len = bytes.len().max(1);
        match m {
            Mutation::Insert(at, b) => {
                let at = at % len;
                bytes.splice(at..at, b.iter().copied());
            }
            Mutation::Token(at, t) => {
                let at = at % len;
                bytes.splice(at..at, TOKENS[*t].bytes());
            }
            Mutation::Delete(at, n) => {
                let at = at % len;
                let end = (at + n).min(bytes.len());
                bytes.drain(at..end);
            }
            Mutation::DuplicateLine(at) => {
                let text = bytes.clone();
                let lines: Vec<&[u8]> = text.split(|b| *b == b'\n').collect();
                let line = lines[at % lines.len()];
                let mut copy = line.to_vec();
                copy.push(b'\n');
                let at = at % len;
                bytes.splice(at..at, copy);
            }
        }
    }
    bytes
}

/// What the live side looks like: per desired container, whether it exists,
/// runs, and has the desired digest; per file, what is there.
#[derive(Debug, Clone)]
struct LiveShape {
    containers: Vec<(bool, u8, bool)>,
    files: Vec<u8>,
    extra_decky: bool,
    record: bool,
}

fn live_shape() -> impl Strategy<Value = LiveShape> {
    (
        proptest::collection::vec((any::<bool>(), 0u8..3, any::<bool>()), 0..12),
        proptest::collection::vec(0u8..5, 0..12),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(containers, files, extra_decky, record)| LiveShape {
            containers,
            files,
            extra_decky,
            record,
        })
}

fn live_state(desired: &DesiredState, shape: &LiveShape) -> LiveState {
    let mut live = LiveState::default();
    for (i, spec) in desired.containers.iter().enumerate() {
        let (exists, state, same) = shape.containers.get(i).copied().unwrap_or((true, 0, true));
        if !exists {
            continue;
        }
        live.containers.insert(
            spec.name.clone(),
            LiveContainer {
                id: format!("id{i}"),
                name: spec.name.clone(),
                role: Some(spec.role),
                decky: spec.decky.clone(),
                service: spec.service.clone(),
                state: ["running", "exited", "created"][state as usize].to_string(),
                spec: Some(spec.clone()),
                digest: Some(if same {
                    spec.digest()
                } else {
                    "old".to_string()
                }),
                unwritable: if state == 2 {
                    vec![("/srv".into(), "tmpfs".into())]
                } else {
                    vec![]
                },
                lans: spec.joins(),
                ..Default::default()
            },
        );
    }
    if shape.extra_decky {
        live.containers.insert(
            "gone-01".into(),
            LiveContainer {
                id: "idx".into(),
                name: "gone-01".into(),
                role: Some(Role::Base),
                decky: Some("gone-01".into()),
                service: None,
                state: "running".into(),
                spec: None,
                digest: None,
                ..Default::default()
            },
        );
    }
    for (i, f) in desired.files.iter().enumerate() {
        let kind = shape.files.get(i).copied().unwrap_or(0);
        let desired_bytes = match &f.ensure {
            Ensure::Present(c) => c.bytes.clone(),
            Ensure::Absent => b"left over".to_vec(),
        };
        let live_file = match kind {
            0 => LiveFile::Missing,
            1 => LiveFile::Unreadable("permission denied".into()),
            2 => present(desired_bytes),
            // The intruder's edit: only a sensitive file gets the live marker.
            3 => present(
                [
                    desired_bytes.as_slice(),
                    b"\nintruder edit ",
                    if f.sensitive { LIVE_MARK } else { "plain" }.as_bytes(),
                ]
                .concat(),
            ),
            _ => present(vec![0, 159, 146, 150, 255]),
        };
        live.files
            .insert((f.container.clone(), f.path.clone()), live_file);
    }
    live.networks.insert("bridge".into());
    if shape.record {
        live.record = Some(FileRecord {
            generation: 3,
            files: [("web-01-ssh".to_string(), "/tmp/old".to_string())].into(),
            adopted: Default::default(),
            written: Default::default(),
        });
    }
    live
}

fn present(bytes: Vec<u8>) -> LiveFile {
    LiveFile::Present(LiveFileState {
        kind: "file".into(),
        content: deckhand::live::LiveContent::of(&bytes),
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime: 1_700_000_000,
        link: None,
    })
}

/// Everything that may legitimately show: the desired state with sensitive
/// contents blanked, and live bytes of files that are not sensitive.
fn visible(desired: &DesiredState, live: &LiveState) -> String {
    let mut d = desired.clone();
    let mut sensitive = Vec::new();
    let mut shown = String::new();
    for f in &mut d.files {
        if let Ensure::Present(c) = &mut f.ensure {
            if f.sensitive {
                sensitive.push((f.container.clone(), f.path.clone()));
            } else {
                shown += &String::from_utf8_lossy(&c.bytes);
            }
            c.bytes.clear();
        }
    }
    let mut text = format!("{d:?}{shown}");
    for (key, f) in &live.files {
        if !sensitive.contains(key) {
            if let LiveFile::Present(s) = f {
                text += &String::from_utf8_lossy(&s.content.head);
            }
        }
    }
    text
}

/// Every string of a JSON value, keys included, one per line.
fn json_strings(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => format!("{s}\n"),
        serde_json::Value::Array(a) => a.iter().map(json_strings).collect(),
        serde_json::Value::Object(o) => o
            .iter()
            .map(|(k, v)| format!("{k}\n{}", json_strings(v)))
            .collect(),
        _ => String::new(),
    }
}

#[test]
fn parse_validate_plan_and_render_never_panic_nor_leak() {
    let cases: u32 = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("blob"), [0u8, 1, 2, 255]).unwrap();
    let path = dir.path().join("deckhand.toml");
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let loaded = Cell::new(0usize);
    let planned = Cell::new(0usize);
    let executions = Cell::new(0usize);
    let strategy = (
        0..SEEDS.len(),
        proptest::collection::vec(mutation(), 0..6),
        live_shape(),
    );
    runner
        .run(&strategy, |(seed, mutations, shape)| {
            executions.set(executions.get() + 1);
            let bytes = mutate(SEEDS[seed], &mutations);
            std::fs::write(&path, &bytes).unwrap();
            let Ok(config) = deckhand::config::load(&path) else {
                return Ok(());
            };
            loaded.set(loaded.get() + 1);
            let desired = &config.desired;
            let live = live_state(desired, &shape);
            let Ok(plan) = deckhand::plan::plan(desired, &live, &[], "local") else {
                return Ok(());
            };
            planned.set(planned.get() + 1);
            let mut out = Vec::new();
            deckhand::render::text::render(&plan, &mut out, Style { color: false }).unwrap();
            deckhand::render::markdown::render(&plan, &mut out, 65_536).unwrap();
            let mut json = Vec::new();
            deckhand::render::json::render(&plan, &mut json).unwrap();
            let json: serde_json::Value =
                serde_json::from_slice(&json).expect("the JSON plan parses");
            // Decoded strings, so that no JSON escape can hide a marker.
            let out = format!("{}{}", String::from_utf8_lossy(&out), json_strings(&json));
            prop_assert!(
                !out.contains(LIVE_MARK),
                "a sensitive file's live content in a rendered plan:\n{out}"
            );
            if out.contains(MARK) {
                prop_assert!(
                    visible(desired, &live).contains(MARK),
                    "sensitive content in a rendered plan:\n{out}"
                );
            }
            Ok(())
        })
        .unwrap();
    let (executions, loaded, planned) = (executions.get(), loaded.get(), planned.get());
    eprintln!(
        "fuzz: {executions} executions, {loaded} configs valid, {planned} planned and rendered"
    );
    assert!(
        planned * 20 >= executions,
        "mutations too destructive: {planned} of {executions} planned"
    );
}

#[test]
fn the_seeds_are_valid_so_mutations_start_from_a_real_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("blob"), [0u8]).unwrap();
    for seed in SEEDS {
        let path = dir.path().join("deckhand.toml");
        std::fs::write(&path, seed).unwrap();
        let loaded = deckhand::config::load(&path).expect("seed is valid");
        assert!(
            loaded.desired.files.iter().any(|f| f.sensitive),
            "every seed has a sensitive file for the leak check"
        );
        let mut live = LiveState::default();
        live.networks.insert("bridge".into());
        let plan = deckhand::plan::plan(&loaded.desired, &live, &[], "local").unwrap();
        assert!(!plan.is_empty());
    }
}
