//! Tests of planning one file (`files.rs`).

use super::*;

fn spec(bytes: &[u8], sensitive: bool) -> FileSpec {
    FileSpec {
        decky: "web-01".into(),
        target: "base".into(),
        container: "web-01".into(),
        path: "/root/x".into(),
        sensitive,
        ensure: Ensure::Present(FileContent {
            bytes: bytes.to_vec(),
            mode: 0o600,
            uid: 1000,
            gid: 1000,
            mtime: Mtime::Absolute(1_700_000_000),
        }),
        on_drift: Default::default(),
        canary: None,
    }
}

fn state(kind: &str, bytes: &[u8]) -> LiveFileState {
    LiveFileState {
        kind: kind.into(),
        content: LiveContent::of(bytes),
        mode: 0o600,
        uid: 1000,
        gid: 1000,
        mtime: 1_700_000_000,
        link: None,
    }
}

/// The default limits of a diff.
fn limits() -> DiffLimits {
    let budget = crate::budget::Budget::default();
    DiffLimits {
        max: budget.diff_max,
        deadline: Instant::now() + budget.diff_deadline,
    }
}

fn live(bytes: &[u8]) -> LiveFile {
    LiveFile::Present(state("file", bytes))
}

/// What deckhand wrote: `bytes`, mode 0600, owner 1000:1000.
fn wrote(bytes: &[u8]) -> Written {
    Written {
        sha256: content_digest(bytes),
        mode: 0o600,
        uid: 1000,
        gid: 1000,
    }
}

/// The step for `spec` over `live`, with what deckhand last wrote there.
fn step(spec: &FileSpec, live: &LiveFile, written: Option<&Written>) -> Option<Step> {
    compare(
        spec,
        &Seen {
            live,
            written,
            container_id: "c0ffee",
        },
        limits(),
    )
}

fn change(step: Option<Step>) -> (Action, Vec<String>, FileChange) {
    match step {
        Some(Step::Change(a, r, c)) => (a, r, c),
        other => panic!("expected a change, got {other:?}"),
    }
}

#[test]
fn an_identical_file_is_no_change() {
    assert!(step(&spec(b"a\n", false), &live(b"a\n"), None).is_none());
}

#[test]
fn a_text_edit_shows_a_unified_diff() {
    let (action, reasons, change) = change(step(
        &spec(b"a\nb\n", false),
        &live(b"a\nb\nx\n"),
        Some(&wrote(b"a\nb\n")),
    ));
    assert_eq!(action, Action::Update);
    assert_eq!(reasons, vec!["content changed", "evidence kept first"]);
    assert_eq!(
        change.content,
        ContentChange::TextDiff("@@ -1,3 +1,2 @@\n a\n b\n-x\n".to_string())
    );
}

#[test]
fn a_sensitive_edit_shows_only_sizes_and_digests() {
    let (_, _, change) = change(step(
        &spec(b"password=hunter2\n", true),
        &live(b"password=old\n"),
        None,
    ));
    let ContentChange::Opaque { before, after } = change.content else {
        panic!("sensitive content must be opaque")
    };
    assert_eq!(before.unwrap().size, 13);
    assert_eq!(after.unwrap().size, 17);
}

#[test]
fn mode_owner_and_mtime_drift_are_named() {
    let mut drifted = state("file", b"a\n");
    (drifted.mode, drifted.uid, drifted.gid, drifted.mtime) = (0o644, 0, 0, 1_800_000_000);
    let (_, reasons, change) = change(step(
        &spec(b"a\n", false),
        &LiveFile::Present(drifted),
        Some(&wrote(b"a\n")),
    ));
    assert_eq!(
        reasons,
        vec![
            "mode 0644 -> 0600",
            "owner 0:0 -> 1000:1000",
            "mtime 2027-01-15T08:00:00Z -> 2023-11-14T22:13:20Z"
        ]
    );
    assert_eq!(
        change.evidence, None,
        "the content is deckhand's: nothing to keep"
    );
}

#[test]
fn a_relative_mtime_is_not_compared_after_writing() {
    let mut s = spec(b"a\n", false);
    if let Ensure::Present(c) = &mut s.ensure {
        c.mtime = Mtime::Offset(-86_400);
    }
    assert!(step(&s, &live(b"a\n"), None).is_none());
}

#[test]
fn binary_content_is_never_diffed_as_text() {
    let (_, _, change) = change(step(&spec(b"\x00\xff", false), &live(b"\x00\xfe"), None));
    assert!(matches!(change.content, ContentChange::Opaque { .. }));
}

#[test]
fn an_operators_edit_of_the_file_keeps_no_evidence() {
    // Live is what deckhand wrote; the declared content moved on.
    let (_, reasons, change) = change(step(
        &spec(b"v2\n", false),
        &live(b"v1\n"),
        Some(&wrote(b"v1\n")),
    ));
    assert_eq!(change.evidence, None);
    assert_eq!(reasons, vec!["content changed"]);
}

#[test]
fn an_intruders_edit_keeps_evidence_of_that_container() {
    let (_, _, change) = change(step(
        &spec(b"v1\n", false),
        &live(b"v1\nwget evil\n"),
        Some(&wrote(b"v1\n")),
    ));
    let evidence = change.evidence.expect("evidence of the intruder's content");
    assert_eq!(
        (evidence.path.as_str(), evidence.container_id.as_str()),
        ("/root/x", "c0ffee")
    );
}

#[test]
fn under_report_an_intruders_edit_is_drift_left_as_found() {
    let mut s = spec(b"v1\n", false);
    s.on_drift = OnDrift::Report;
    match step(&s, &live(b"tampered\n"), Some(&wrote(b"v1\n"))) {
        Some(Step::Drift { what, evidence }) => {
            assert_eq!(what, vec!["content changed"]);
            assert!(evidence);
        }
        other => panic!("expected drift, got {other:?}"),
    }
    // The operator's own edit is applied even under report.
    s.ensure = spec(b"v2\n", false).ensure;
    assert!(matches!(
        step(&s, &live(b"v1\n"), Some(&wrote(b"v1\n"))),
        Some(Step::Change(..))
    ));
}

#[test]
fn a_seed_is_written_when_absent_and_never_compared_after() {
    let mut s = spec(b"v1\n", false);
    s.on_drift = OnDrift::Seed;
    let (action, reasons, change) = change(step(&s, &LiveFile::Missing, None));
    assert_eq!(
        (action, reasons),
        (Action::Create, vec!["not present live".to_string()])
    );
    assert_eq!(change.evidence, None);
    // Rewritten, chmodded, or a directory in its place: left as found, no evidence.
    let mut other = state("file", b"DECNET canary\n");
    other.mode = 0o777;
    for found in [
        LiveFile::Present(other),
        LiveFile::Present(state("directory", b"")),
    ] {
        assert!(step(&s, &found, None).is_none(), "{found:?}");
        assert!(
            step(&s, &found, Some(&wrote(b"v1\n"))).is_none(),
            "{found:?}"
        );
    }
    let blocked = LiveFile::Blocked {
        by: "/root".into(),
        kind: "file".into(),
    };
    assert!(step(&s, &blocked, None).is_none());
}

#[test]
fn a_directory_where_deckhand_wrote_is_kept_then_removed() {
    let dir = LiveFile::Present(state("directory", b""));
    let (_, reasons, change) = change(step(&spec(b"v1\n", false), &dir, Some(&wrote(b"v1\n"))));
    assert_eq!(change.clear.as_deref(), Some("/root/x"));
    assert!(change.evidence.is_some() && change.blocked.is_none());
    assert_eq!(
        reasons,
        vec![
            "a directory is at the path live: removed",
            "evidence kept first"
        ]
    );
}

#[test]
fn a_directory_the_image_has_fails_the_step_and_removes_nothing() {
    let dir = LiveFile::Present(state("directory", b""));
    let (_, _, change) = change(step(&spec(b"v1\n", false), &dir, None));
    assert!(change
        .blocked
        .unwrap()
        .contains("deckhand never wrote this file"));
    assert_eq!((change.clear, change.write), (None, None));
}

#[test]
fn a_file_where_a_parent_directory_belongs_is_removed_when_deckhand_wrote_below_it() {
    let blocked = LiveFile::Blocked {
        by: "/root".into(),
        kind: "file".into(),
    };
    let (_, reasons, change) = change(step(&spec(b"v1\n", false), &blocked, Some(&wrote(b"v1\n"))));
    assert_eq!(change.clear.as_deref(), Some("/root"));
    assert_eq!(change.evidence.unwrap().path, "/root");
    assert!(
        reasons[0].contains("a file at /root stands where a directory belongs"),
        "{reasons:?}"
    );
}

#[test]
fn an_unreadable_file_fails_its_own_step_only() {
    let unreadable = LiveFile::Unreadable("over the cap".into());
    let (_, _, change) = change(step(&spec(b"v1\n", false), &unreadable, None));
    assert!(change.blocked.unwrap().contains("over the cap"));
}

/// Live content over the largest declared content: read that far, no digest.
fn over_cap() -> LiveFile {
    let mut over = state("file", b"");
    over.content = LiveContent {
        size: crate::config::MAX_SOURCE_BYTES + 1,
        sha256: None,
        head: vec![0; 16],
    };
    LiveFile::Present(over)
}

#[test]
fn a_file_over_the_cap_is_restored_with_evidence_and_shown_by_size() {
    // Regression: such a file was unreadable, and never restored.
    let (action, reasons, change) = change(step(
        &spec(b"v1\n", false),
        &over_cap(),
        Some(&wrote(b"v1\n")),
    ));
    assert_eq!(action, Action::Update);
    assert_eq!(reasons, vec!["content changed", "evidence kept first"]);
    assert!(change.write.is_some() && change.blocked.is_none());
    let ContentChange::Opaque { before, .. } = change.content else {
        panic!("an over-cap file is never diffed")
    };
    assert_eq!(before.unwrap().sha256, None);
}

#[test]
fn text_past_the_diff_limit_is_shown_by_size_and_digest() {
    let big = "line\n".repeat(60_000);
    let (_, reasons, change) = change(step(&spec(b"v1\n", false), &live(big.as_bytes()), None));
    assert_eq!(reasons[0], "content changed");
    assert!(matches!(change.content, ContentChange::Opaque { .. }));
}

#[test]
fn a_diff_out_of_time_falls_back_to_sizes_and_digests_in_bounded_time() {
    // Regression: 240 KB of distinct lines over a short bait took 8.9 s.
    // The bound is generous for a busy machine; the diff's own deadline is 200 ms.
    let lines: String = (0..24_000).map(|n| format!("{n:09}\n")).collect();
    let started = Instant::now();
    let (_, reasons, change) = change(step(
        &spec(b"short\n", false),
        &live(lines.as_bytes()),
        None,
    ));
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert_eq!(reasons[0], "content changed");
    assert!(
        matches!(change.content, ContentChange::Opaque { .. }),
        "{:?}",
        change.content
    );
}

#[test]
fn a_diff_due_at_once_is_not_made() {
    let spent = DiffLimits {
        max: 1024,
        deadline: Instant::now(),
    };
    let content = content_change(false, Some(&LiveContent::of(b"a\n")), b"b\n", spent);
    assert!(matches!(content, ContentChange::Opaque { .. }));
}
