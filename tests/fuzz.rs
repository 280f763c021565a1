//! A bounded fuzz run over parse + validate + plan + render: mutated configs
//! (bytes inserted, deleted, duplicated; TOML tokens spliced in; invalid
//! UTF-8) against random live states (edited, binary, a symlink, a directory
//! or a blocked path where a file belongs; a record of what deckhand wrote).
//! Nothing may panic, and a sensitive file's content never reaches any
//! output: the plan as text, markdown and JSON, apply's and watch's step
//! lines, their NDJSON events and their summaries. The check is exact: the
//! same world with every sensitive byte disguised must give the very same
//! outputs, digests of sensitive content aside.
//!
//! Cases: `PROPTEST_CASES` (default 10,000 here). A failure prints a minimal
//! input that proptest shrank it to.

mod common;

use std::cell::Cell;
use std::time::Duration;

use deckhand::apply::{Event, Kept, Outcome, Report, Skip, Status, StepError};
use deckhand::desired::{DesiredState, Ensure, OnDrift, Role};
use deckhand::fleet::FleetReport;
use deckhand::live::{LiveContainer, LiveFile, LiveFileState, LiveState};
use deckhand::plan::{Detail, Plan};
use deckhand::record::{content_digest, FileRecord, Written};
use deckhand::render::style::Style;
use deckhand::render::view::Look;
use deckhand::render::{events_json, steps};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// The marker inside the sensitive text file of each seed.
const MARK: &str = "S3CRET-MARK-7731";
/// What an intruder appends to a sensitive file live: only sensitive files
/// ever carry it, so it must never show in any output.
const LIVE_MARK: &str = "L1VE-SECRET-4419";
/// A sensitive binary file's content (seed 1, `content_b64`): no marker in
/// it, so it is looked for in every form it could leak in.
const BINARY: [u8; 18] = [
    0x00, 0xd3, 0xc4, 0x9b, 0x1b, 0x5d, 0x7f, 0xe2, 0x80, 0xae, 0xfe, 0x42, 0x19, 0x88, 0x00, 0x61,
    0xc0, 0xaf,
];

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
on_drift = "report"

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

[deckies.db-01.files."/root/.ssh/id_ed25519"]
content_b64 = "ANPEmxtdf+KArv5CGYgAYcCv"
sensitive = true
"#,
    r#"[fleet]
name = "fz2"
base_image = "img:1"
on_drift = "report"

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
/// runs, and has the desired digest; per file, what is there and what the
/// record says deckhand wrote there.
#[derive(Debug, Clone)]
struct LiveShape {
    containers: Vec<(bool, u8, bool)>,
    files: Vec<(u8, u8)>,
    extra_decky: bool,
    record: bool,
}

fn live_shape() -> impl Strategy<Value = LiveShape> {
    (
        proptest::collection::vec((any::<bool>(), 0u8..3, any::<bool>()), 0..12),
        proptest::collection::vec((0u8..8, 0u8..4), 0..12),
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

/// How the bytes and link targets of sensitive files are drawn: as they are,
/// or disguised (the same lengths and equalities, other bytes).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bytes {
    Plain,
    Disguised,
}

impl Bytes {
    fn of(self, sensitive: bool, bytes: &[u8]) -> Vec<u8> {
        match (self, sensitive) {
            (Bytes::Disguised, true) => bytes.iter().map(|b| disguise(*b)).collect(),
            _ => bytes.to_vec(),
        }
    }

    fn text(self, sensitive: bool, s: &str) -> String {
        match (self, sensitive) {
            (Bytes::Disguised, true) => s.chars().map(rot13).collect(),
            _ => s.to_string(),
        }
    }
}

/// Every byte but NUL moved 100 places round 1..=255: a bijection.
fn disguise(b: u8) -> u8 {
    match b {
        0 => 0,
        b => ((u16::from(b) - 1 + 100) % 255 + 1) as u8,
    }
}

fn rot13(c: char) -> char {
    match c {
        'a'..='z' => (((c as u8 - b'a') + 13) % 26 + b'a') as char,
        'A'..='Z' => (((c as u8 - b'A') + 13) % 26 + b'A') as char,
        c => c,
    }
}

/// The desired state with every sensitive file's declared bytes drawn as `bytes` says.
fn drawn(desired: &DesiredState, bytes: Bytes) -> DesiredState {
    let mut d = desired.clone();
    for f in &mut d.files {
        if let Ensure::Present(c) = &mut f.ensure {
            c.bytes = bytes.of(f.sensitive, &c.bytes);
        }
    }
    d
}

fn live_containers(desired: &DesiredState, shape: &LiveShape, live: &mut LiveState) {
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
                spec: Some((**spec).clone()),
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
}

/// The live state of `desired` (its plain bytes) in `shape`; the bytes of
/// sensitive files, live and in the record, drawn as `bytes` says.
fn live_state(desired: &DesiredState, shape: &LiveShape, bytes: Bytes) -> LiveState {
    let mut live = LiveState::default();
    live_containers(desired, shape, &mut live);
    let mut written = std::collections::BTreeMap::new();
    for (i, f) in desired.files.iter().enumerate() {
        let (kind, wrote) = shape.files.get(i).copied().unwrap_or((0, 0));
        let declared = match &f.ensure {
            Ensure::Present(c) => c.bytes.clone(),
            Ensure::Absent => b"left over".to_vec(),
        };
        let file = live_file(kind, f.sensitive, &declared, &f.path);
        let key = (f.container.clone(), f.path.clone());
        if let Some(w) = record_of(wrote, &declared, &file) {
            written.insert(key.clone(), seen_as(w, f.sensitive, bytes));
        }
        live.files.insert(key, drawn_file(file, f.sensitive, bytes));
    }
    live.networks.insert("bridge".into());
    if shape.record {
        live.record = Some(FileRecord {
            generation: 3,
            files: [("web-01-ssh".to_string(), "/tmp/old".to_string())].into(),
            adopted: Default::default(),
            written,
        });
    }
    live
}

/// What stands at a declared path live: missing, unreadable, as declared,
/// edited by the intruder, binary, a symlink, a directory, or blocked by a
/// symlink where a parent directory belongs.
fn live_file(kind: u8, sensitive: bool, declared: &[u8], path: &str) -> LiveFile {
    // Only a sensitive file ever gets the live marker.
    let mark = if sensitive { LIVE_MARK } else { "plain" };
    match kind {
        0 => LiveFile::Missing,
        1 => LiveFile::Unreadable("permission denied".into()),
        2 => present("file", declared.to_vec(), None),
        3 => present(
            "file",
            [declared, b"\nintruder edit ", mark.as_bytes()].concat(),
            None,
        ),
        4 => present("file", vec![0, 159, 146, 150, 255], None),
        5 => present("symlink", vec![], Some(format!("/tmp/{mark}"))),
        6 => present("directory", vec![], None),
        _ => LiveFile::Blocked {
            by: path
                .rsplit_once('/')
                .map_or("/", |(dir, _)| dir)
                .to_string(),
            kind: "symlink".into(),
        },
    }
}

/// What the record says deckhand last wrote: nothing, the declared bytes,
/// what is live, or something older; as bytes, not yet a digest.
fn record_of(wrote: u8, declared: &[u8], live: &LiveFile) -> Option<(Vec<u8>, u32)> {
    let bytes = match (wrote, live) {
        (0, _) => return None,
        (1, _) => declared.to_vec(),
        (2, LiveFile::Present(s)) => s.content.head.clone(),
        _ => b"older content\n".to_vec(),
    };
    Some((bytes, 0o644))
}

fn seen_as((bytes, mode): (Vec<u8>, u32), sensitive: bool, drawn: Bytes) -> Written {
    Written {
        sha256: content_digest(&drawn.of(sensitive, &bytes)),
        mode,
        uid: 0,
        gid: 0,
    }
}

fn drawn_file(file: LiveFile, sensitive: bool, bytes: Bytes) -> LiveFile {
    match file {
        LiveFile::Present(mut s) => {
            s.content = deckhand::live::LiveContent::of(&bytes.of(sensitive, &s.content.head));
            s.link = s.link.map(|l| bytes.text(sensitive, &l));
            LiveFile::Present(s)
        }
        other => other,
    }
}

fn present(kind: &str, bytes: Vec<u8>, link: Option<String>) -> LiveFile {
    LiveFile::Present(LiveFileState {
        kind: kind.into(),
        content: deckhand::live::LiveContent::of(&bytes),
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime: 1_700_000_000,
        link,
    })
}

/// Every byte string of a sensitive file the world holds (declared, live,
/// written), in one order for the plain and the disguised world.
fn sensitive_bytes(desired: &DesiredState, shape: &LiveShape, bytes: Bytes) -> Vec<Vec<u8>> {
    let live = live_state(desired, shape, Bytes::Plain);
    let mut out = Vec::new();
    for (i, f) in desired
        .files
        .iter()
        .enumerate()
        .filter(|(_, f)| f.sensitive)
    {
        let key = (f.container.clone(), f.path.clone());
        if let Ensure::Present(c) = &f.ensure {
            out.push(c.bytes.clone());
        }
        if let Some(LiveFile::Present(s)) = live.files.get(&key) {
            out.push(s.content.head.clone());
        }
        let (kind, wrote) = shape.files.get(i).copied().unwrap_or((0, 0));
        let declared = match &f.ensure {
            Ensure::Present(c) => c.bytes.clone(),
            Ensure::Absent => b"left over".to_vec(),
        };
        let file = live_file(kind, true, &declared, &f.path);
        out.extend(record_of(wrote, &declared, &file).map(|(b, _)| b));
    }
    out.into_iter().map(|b| bytes.of(true, &b)).collect()
}

/// `out` with the digests of sensitive content (whole, and the 12-character
/// prefix step lines show) replaced by one name per content, so that the plain
/// and the disguised world can be compared. Both worlds' digests are replaced
/// in both: plain content may equal a sensitive one.
fn without_digests(out: &str, plain: &[Vec<u8>], disguised: &[Vec<u8>]) -> String {
    let mut out = out.to_string();
    for (i, (p, d)) in plain.iter().zip(disguised).enumerate() {
        for sha in [content_digest(p), content_digest(d)] {
            if out.contains(&sha[..12]) {
                let name = format!("<sensitive {i}>");
                out = out.replace(&sha, &name).replace(&sha[..12], &name);
            }
        }
    }
    out
}

/// How an executor could report each change: started, then done, failed or
/// skipped; evidence kept first where the plan keeps it; each drift.
fn events(plan: &Plan, live: &LiveState) -> (Vec<Event>, FleetReport) {
    let mut events = Vec::new();
    let mut report = Report::default();
    for (i, c) in plan.changes.iter().enumerate() {
        events.push(Event::Started(c.clone()));
        events.extend(evidence(c, live));
        let status = match i % 3 {
            0 => Status::Done,
            1 => Status::Failed(StepError::Evidence("cannot keep a copy".into())),
            _ => Status::Skipped(Skip::Interrupted),
        };
        let outcome = Outcome {
            change: c.clone(),
            status,
            elapsed: Duration::from_millis(250),
        };
        events.push(Event::Ended(outcome.clone()));
        report.outcomes.push(outcome);
    }
    events.extend(plan.drift.iter().cloned().map(Event::Drift));
    let report = FleetReport {
        hosts: vec![("local".into(), report)],
        adopted: 0,
        interrupted: false,
    };
    (events, report)
}

/// The evidence a file change keeps first, named as the keeper names copies.
fn evidence(c: &deckhand::plan::Change, live: &LiveState) -> Option<Event> {
    let Detail::File(f) = &c.detail else {
        return None;
    };
    let of = f.evidence.as_ref()?;
    let container = c.container()?.to_string();
    let bytes = match live.files.get(&(container.clone(), of.path.clone())) {
        Some(LiveFile::Present(s)) => s.content.head.clone(),
        _ => vec![],
    };
    let sha = content_digest(&bytes);
    Some(Event::Evidence {
        host: c.host.clone(),
        container: container.clone(),
        kept: Kept {
            path: format!("/ev/local/{container}{}/20260101-{}", of.path, &sha[..12]).into(),
            sha256: Some(sha),
            size: bytes.len() as u64,
            seen_before: false,
            dropped: vec![],
            left_out: 0,
        },
    })
}

/// Every output of one plan: text, markdown, JSON; then apply's and watch's
/// step lines, NDJSON events (`time` left out: it differs between runs; the
/// `plan` event is the JSON plan again) and summaries. JSON strings are also
/// given decoded, so that no escape can hide a marker.
fn outputs(plan: &Plan, live: &LiveState) -> String {
    let style = Style { color: false };
    let mut out = Vec::new();
    deckhand::render::text::render(plan, &mut out, style).unwrap();
    deckhand::render::markdown::render(plan, &mut out, 65_536).unwrap();
    let json = deckhand::render::json::to_value(plan);
    let mut out = String::from_utf8(out).unwrap() + &json_strings(&json);
    let (events, report) = events(plan, live);
    let mut lines = Vec::new();
    for e in &events {
        out.extend(steps::event_line(e, Look::PLAIN).map(|l| l + "\n"));
        lines.extend(events_json::of(e, &plan.fleet));
    }
    lines.push(events_json::summary(&plan.fleet, &report, &[]));
    for mut line in lines {
        line.remove("time");
        out += &json_strings(&serde_json::Value::Object(line.clone()));
        out += &events_json::line(line);
    }
    let apply = deckhand::render::run::Verb::Apply;
    out += &steps::summary(&report, &[], Look::PLAIN, apply).join("\n");
    out += &steps::watch_summary("local", &report.hosts[0].1, Look::PLAIN);
    out
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

/// Forms a run of binary content could leak in: lossy text, hex, the
/// sanitizer's escapes, `\xNN` each.
fn binary_forms(run: &[u8]) -> [String; 4] {
    [
        String::from_utf8_lossy(run).into_owned(),
        hex::encode(run),
        deckhand::safe::escape(&String::from_utf8_lossy(run)).into_owned(),
        run.iter().map(|b| format!("\\x{b:02x}")).collect(),
    ]
}

/// Where a distinctive run of the sensitive binary content shows in `out`.
fn binary_leaks(out: &str) -> Vec<String> {
    let forms = binary_forms(&BINARY[1..12]);
    forms.into_iter().filter(|f| out.contains(f)).collect()
}

/// What one case checks: no marker, no binary run, and the same outputs
/// when every sensitive byte is disguised. `None`: the plan failed; else
/// how many files drifted under `on_drift = "report"`.
fn check(desired: &DesiredState, shape: &LiveShape) -> Result<Option<usize>, TestCaseError> {
    let world = |bytes| {
        let live = live_state(desired, shape, bytes);
        let plan = deckhand::plan::plan(&drawn(desired, bytes), &live, &[], "local").ok()?;
        Some((outputs(&plan, &live), plan.drift.len()))
    };
    let Some((plain, drifts)) = world(Bytes::Plain) else {
        return Ok(None);
    };
    prop_assert!(
        !plain.contains(LIVE_MARK),
        "a sensitive file's live content:\n{plain}"
    );
    prop_assert!(
        binary_leaks(&plain).is_empty(),
        "binary sensitive content:\n{plain}"
    );
    let (disguised, _) = world(Bytes::Disguised).expect("a disguise changes no plan's success");
    let (p, d) = (
        sensitive_bytes(desired, shape, Bytes::Plain),
        sensitive_bytes(desired, shape, Bytes::Disguised),
    );
    let (plain, disguised) = (
        without_digests(&plain, &p, &d),
        without_digests(&disguised, &p, &d),
    );
    prop_assert!(
        plain == disguised,
        "sensitive content shows:\n{}",
        first_difference(&plain, &disguised)
    );
    Ok(Some(drifts))
}

/// The first line where two outputs differ, with the lines before it and
/// that line of each.
fn first_difference(a: &str, b: &str) -> String {
    let at = a.lines().zip(b.lines()).position(|(x, y)| x != y);
    let at = at.unwrap_or(a.lines().count().min(b.lines().count()));
    let before: Vec<&str> = a
        .lines()
        .skip(at.saturating_sub(4))
        .take(at.min(4))
        .collect();
    let line = |s: &str| s.lines().nth(at).unwrap_or("(none)").to_string();
    format!(
        "line {at}, after:\n{}\n  plain:     {}\n  disguised: {}",
        before.join("\n"),
        line(a),
        line(b)
    )
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
    let drifted = Cell::new(0usize);
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
            if let Some(n) = check(&config.desired, &shape)? {
                planned.set(planned.get() + 1);
                drifted.set(drifted.get() + n);
            }
            Ok(())
        })
        .unwrap();
    let (executions, loaded, planned) = (executions.get(), loaded.get(), planned.get());
    eprintln!(
        "fuzz: {executions} executions, {loaded} configs valid, {planned} planned and rendered, {} drifts",
        drifted.get()
    );
    assert!(
        planned * 20 >= executions,
        "mutations too destructive: {planned} of {executions} planned"
    );
    assert!(
        drifted.get() > 0,
        "no case reported drift (on_drift = \"report\")"
    );
}

#[test]
fn the_seeds_are_valid_so_mutations_start_from_a_real_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("blob"), [0u8]).unwrap();
    let binary = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, BINARY);
    assert_eq!(
        binary, "ANPEmxtdf+KArv5CGYgAYcCv",
        "seed 0's binary file holds BINARY"
    );
    for seed in SEEDS {
        let path = dir.path().join("deckhand.toml");
        std::fs::write(&path, seed).unwrap();
        let loaded = deckhand::config::load(&path).expect("seed is valid");
        let sensitive: Vec<&[u8]> = loaded
            .desired
            .files
            .iter()
            .filter(|f| f.sensitive)
            .filter_map(|f| match &f.ensure {
                Ensure::Present(c) => Some(c.bytes.as_slice()),
                Ensure::Absent => None,
            })
            .collect();
        assert!(
            sensitive
                .iter()
                .any(|b| String::from_utf8_lossy(b).contains(MARK)),
            "every seed has a sensitive file with the marker"
        );
        assert!(
            loaded
                .desired
                .files
                .iter()
                .any(|f| f.on_drift == OnDrift::Report),
            "every seed has a file under on_drift = \"report\""
        );
        let mut live = LiveState::default();
        live.networks.insert("bridge".into());
        let plan = deckhand::plan::plan(&loaded.desired, &live, &[], "local").unwrap();
        assert!(!plan.is_empty());
    }
}

// ---------------------------------------------------------------------------
// The same leak check on a real run: every output deckhand prints or writes.

/// A decky whose sensitive files the intruder edits (text, binary), turns
/// into a symlink, a directory or a blocked path, or edits under `on_drift`.
const REAL: &str = concat!(
    fleet_table!(),
    "seed_file = \".deckhand/seed\"\n",
    ssh_service!(),
    r#"
[deckies.{fleet}-a.files."/root/.aws/canary"]
canary = "aws"
[deckies.{fleet}-a]
services = ["ssh"]

[deckies.{fleet}-a.files."/root/.aws/credentials"]
content = "key = Declared-Mark-5521\n"
sensitive = true

[deckies.{fleet}-a.files."/root/.ssh/id_bin"]
content_b64 = "ANPEmxtdf+KArv5CGYgAYcCv"
sensitive = true

[deckies.{fleet}-a.files."/root/notes.txt"]
content = "Declared-Mark-5521 notes\n"
sensitive = true
on_drift = "report"

[deckies.{fleet}-a.files."/root/token"]
content = "Declared-Mark-5521 token\n"
sensitive = true

[deckies.{fleet}-a.files."/root/dir/secret"]
content = "Declared-Mark-5521 inner\n"
sensitive = true

[deckies.{fleet}-a.files."/root/cache"]
content = "Declared-Mark-5521 cache\n"
sensitive = true
"#
);

/// The intruder's binary content: no marker; bytes 1.. are looked for.
const LIVE_BINARY: &str = r"\001\323\304\233\033\135\177\342\200\256\376\102";
const LIVE_BINARY_BYTES: [u8; 12] = [
    0x01, 0xd3, 0xc4, 0x9b, 0x1b, 0x5d, 0x7f, 0xe2, 0x80, 0xae, 0xfe, 0x42,
];

/// The intruder's edits, from any state the decky is in; the symlink points
/// at a name with DEL, an 8-bit CSI and a bidi override (the engine's tar
/// keeps only the DEL in its ASCII header), and a planted file's name has NEL
/// and RLM (in the layer evidence of the destroy).
fn intrude(fleet: &common::Fleet) {
    let script = format!(
        "printf 'key = Live-Mark-8830\\n' > /root/.aws/credentials
         printf '{LIVE_BINARY}' > /root/.ssh/id_bin
         printf 'Live-Mark-8830 drift\\n' >> /root/notes.txt
         rm -rf /root/token && ln -s \"$(printf '/tmp/\\177\\302\\233\\342\\200\\256x')\" /root/token
         rm -rf /root/dir && printf 'Live-Mark-8830 blocker\\n' > /root/dir
         printf 'Live-Mark-8830 canary\\n' >> /root/.aws/canary
         rm -rf /root/cache && mkdir /root/cache && printf 'Live-Mark-8830 in\\n' > /root/cache/x
         touch \"$(printf '/tmp/\\302\\205planted\\342\\200\\217')\""
    );
    common::docker(&["exec", &fleet.n("a-ssh"), "sh", "-c", &script]);
}

/// What must never show: a marker, the declared or the live binary content
/// in any form, a raw control.
fn real_leaks(out: &str, tokens: &[String]) -> Vec<String> {
    let binary = binary_forms(&LIVE_BINARY_BYTES[1..]);
    let mut found: Vec<String> = ["Live-Mark-8830", "Declared-Mark-5521"]
        .into_iter()
        .map(String::from)
        .chain(binary)
        .chain(tokens.iter().cloned())
        .filter(|f| out.contains(f.as_str()))
        .collect();
    found.extend(binary_leaks(out));
    found.extend(
        out.chars()
            .filter(|c| raw_control(*c))
            .map(|c| format!("raw {c:?}")),
    );
    found
}

/// A character no terminal may get raw: a C0 or C1 control but newline and
/// tab, DEL, a bidi or invisible direction control.
fn raw_control(c: char) -> bool {
    let bidi = matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    (c.is_control() && c != '\n' && c != '\t') || bidi
}

/// Every `.json` deckhand wrote under the fleet's evidence directory.
fn sidecars(fleet: &common::Fleet) -> Vec<(String, String)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push((
                    p.display().to_string(),
                    std::fs::read_to_string(&p).unwrap(),
                ));
            }
        }
    }
    let mut out = Vec::new();
    walk(&fleet.dir.path().join(".deckhand/evidence"), &mut out);
    out
}

/// Runs `args`, which must exit with `code`, keeping what it printed under a label.
fn run(fleet: &common::Fleet, outputs: &mut Vec<(String, String)>, args: &[&str], code: i32) {
    let run = fleet.deckhand(args);
    assert_eq!(run.code, code, "{args:?}: {run:?}");
    outputs.push((args.join(" "), run.all()));
}

/// One watch pass (the intruder's edits healed), then stopped.
fn watch_once(fleet: &common::Fleet, outputs: &mut Vec<(String, String)>, extra: &[&str]) {
    intrude(fleet);
    let watch = common::watch::Watch::start_with(fleet, 600, extra);
    outputs.push((format!("watch {extra:?}"), watch.output()));
}

#[test]
fn an_intruders_secrets_and_controls_reach_no_output_of_a_real_run() {
    let fleet = common::Fleet::new("leak");
    fleet.write(REAL);
    fleet.write_seed(0x17, 0o600);
    fleet.apply();
    // A canary's token (SPEC §11) is looked for like the intruder's marks.
    let canaries = fleet.deckhand(&["canaries", "--format", "json"]);
    let canaries: serde_json::Value = serde_json::from_str(&canaries.stdout).unwrap();
    let tokens: Vec<String> = canaries
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["token"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(tokens.len(), 1, "{canaries}");
    let c = &canaries[0];
    let (decky, path) = (c["decky"].as_str().unwrap(), c["path"].as_str().unwrap());
    // Files of a decky with services go to its first service's container.
    let planted = String::from_utf8(common::cat(&format!("{decky}-ssh"), path)).unwrap();
    assert!(
        planted.contains(&tokens[0]),
        "{decky}:{path} lacks its token after apply"
    );
    intrude(&fleet);
    let mut outputs = Vec::new();
    for args in [
        &["plan", "--no-color"][..],
        &["plan", "--format", "markdown"],
        &["plan", "--format", "json", "--out", "saved.json"],
        &["status", "--no-color"],
        &["apply", "--auto-approve", "--no-color"],
    ] {
        run(&fleet, &mut outputs, args, 0);
    }
    let saved = std::fs::read_to_string(fleet.dir.path().join("saved.json")).unwrap();
    outputs.push(("saved plan".into(), saved));
    intrude(&fleet);
    run(
        &fleet,
        &mut outputs,
        &["apply", "--auto-approve", "--json"],
        0,
    );
    watch_once(&fleet, &mut outputs, &["--json"]);
    watch_once(&fleet, &mut outputs, &[]);
    run(
        &fleet,
        &mut outputs,
        &["destroy", "--auto-approve", "--json"],
        0,
    );
    let kept = sidecars(&fleet);
    // The intruder's names are kept, each control escaped as JSON \uXXXX.
    for escaped in [r"/tmp/\u007f", r"/tmp/\u0085planted\u200f"] {
        assert!(
            kept.iter().any(|(_, s)| s.contains(escaped)),
            "{escaped}: {kept:?}"
        );
    }
    outputs.extend(kept);
    let all: String = outputs
        .iter()
        .map(|(l, o)| format!("--- {l}\n{o}\n"))
        .collect();
    assert!(all.contains("drift"), "no drift reported:\n{all}");
    for (label, out) in &outputs {
        assert_eq!(
            real_leaks(out, &tokens),
            Vec::<String>::new(),
            "{label}:\n{out}"
        );
    }
}
