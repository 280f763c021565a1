//! Planning one file: compare the declared file with what was read back.

use std::time::Instant;

use crate::desired::{Ensure, FileContent, FileSpec, Mtime, OnDrift};
use crate::live::{LiveContent, LiveFile, LiveFileState};
use crate::record::{content_digest, Written};

use super::{Action, ContentChange, Digest, EvidenceOf, FileChange};

/// What was seen of one declared file: its live state, and what deckhand
/// last wrote there (from the record), in the container with id `container_id`.
pub struct Seen<'a> {
    pub live: &'a LiveFile,
    pub written: Option<&'a Written>,
    pub container_id: &'a str,
}

/// What a text diff may cost: both sides whole and at most `max` bytes, and
/// done by `deadline`; else sizes and digests are shown.
#[derive(Debug, Clone, Copy)]
pub struct DiffLimits {
    pub max: usize,
    pub deadline: Instant,
}

/// The step one declared file needs.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // made once per file, moved into the plan at once
pub enum Step {
    Change(Action, Vec<String>, FileChange),
    /// `on_drift = "report"`: someone else changed it; shown and left as
    /// found, with evidence kept when its content is not deckhand's.
    Drift {
        what: Vec<String>,
        evidence: bool,
    },
}

/// The step one declared file whose container keeps living needs; `None`:
/// nothing differs.
pub fn compare(spec: &FileSpec, seen: &Seen<'_>, limits: DiffLimits) -> Option<Step> {
    let change = |action, reasons, detail| Some(Step::Change(action, reasons, detail));
    let state = match (seen.live, &spec.ensure) {
        (LiveFile::Unreadable(why), _) => {
            let why = format!("cannot read {} in {}: {why}", spec.path, spec.container);
            return change(Action::Update, vec![why.clone()], blocked(spec, why));
        }
        (LiveFile::Blocked { .. }, Ensure::Absent) | (LiveFile::Missing, Ensure::Absent) => {
            return None
        }
        // A seed is written when absent, and is someone else's once anything is there.
        (LiveFile::Blocked { .. } | LiveFile::Present(_), _) if spec.on_drift == OnDrift::Seed => {
            return None
        }
        (LiveFile::Blocked { by, kind }, Ensure::Present(want)) => {
            return in_the_way(spec, seen, want, by, kind, limits)
        }
        (LiveFile::Missing, Ensure::Present(want)) => {
            return change(
                Action::Create,
                vec!["not present live".to_string()],
                creation(spec.sensitive, want, limits),
            );
        }
        (LiveFile::Present(state), _) => state,
    };
    let Ensure::Present(want) = &spec.ensure else {
        let mut deletion = deletion(spec.sensitive, state, limits);
        let foreign = !is_written(state, seen.written);
        deletion.evidence = foreign.then(|| evidence_of(&spec.path, seen));
        return change(
            Action::Delete,
            keeps_evidence(vec!["ensure = \"absent\"".to_string()], foreign),
            deletion,
        );
    };
    if state.kind == "directory" {
        return in_the_way(spec, seen, want, &spec.path, "directory", limits);
    }
    let declared = content_digest(&want.bytes);
    let (reasons, content) = differences(spec, want, &declared, state, limits);
    if reasons.is_empty() {
        return None;
    }
    let foreign =
        state.kind != "file" || !(state.content.is(&declared) || is_written(state, seen.written));
    let drifted = seen.written.is_some_and(|w| !matches_written(state, w));
    if drifted && spec.on_drift == OnDrift::Report {
        return Some(Step::Drift {
            what: reasons,
            evidence: foreign,
        });
    }
    let mut update = FileChange::new(Some(want.clone()), spec.sensitive, content);
    update.evidence = foreign.then(|| evidence_of(&spec.path, seen));
    change(Action::Update, keeps_evidence(reasons, foreign), update)
}

/// What differs between the declared file (whose sha256 is `declared`) and
/// the live one, and how its content changes.
fn differences(
    spec: &FileSpec,
    want: &FileContent,
    declared: &str,
    state: &LiveFileState,
    limits: DiffLimits,
) -> (Vec<String>, ContentChange) {
    let mut reasons = Vec::new();
    let content = if state.kind != "file" {
        reasons.push(format!("is a {} live", state.kind));
        opaque(Some(&state.content), &want.bytes)
    } else if !state.content.is(declared) {
        reasons.push("content changed".to_string());
        content_change(spec.sensitive, Some(&state.content), &want.bytes, limits)
    } else {
        ContentChange::Unchanged
    };
    if state.mode != want.mode {
        reasons.push(format!("mode {:04o} -> {:04o}", state.mode, want.mode));
    }
    if (state.uid, state.gid) != (want.uid, want.gid) {
        reasons.push(format!(
            "owner {}:{} -> {}:{}",
            state.uid, state.gid, want.uid, want.gid
        ));
    }
    if let Mtime::Absolute(t) = want.mtime {
        if state.mtime != t {
            reasons.push(format!("mtime {} -> {}", rfc3339(state.mtime), rfc3339(t)));
        }
    }
    (reasons, content)
}

/// Something stands in the way of the file: a directory at its path, or
/// `kind` at `by` where a parent directory belongs. Where deckhand wrote the
/// file before, someone else put it there: evidence, then it is removed. A
/// directory the image itself has is the operator's to move: the step fails.
fn in_the_way(
    spec: &FileSpec,
    seen: &Seen<'_>,
    want: &FileContent,
    by: &str,
    kind: &str,
    limits: DiffLimits,
) -> Option<Step> {
    let what = if by == spec.path {
        format!("a {kind} is at the path live")
    } else {
        format!("a {kind} at {by} stands where a directory belongs")
    };
    if seen.written.is_none() {
        let why = format!("{what}, and deckhand never wrote this file: it removes only what stands where it wrote; choose another path");
        return Some(Step::Change(Action::Update, vec![what], blocked(spec, why)));
    }
    if spec.on_drift == OnDrift::Report {
        return Some(Step::Drift {
            what: vec![what],
            evidence: true,
        });
    }
    let mut update = creation(spec.sensitive, want, limits);
    update.clear = Some(by.to_string());
    update.evidence = Some(evidence_of(by, seen));
    Some(Step::Change(
        Action::Update,
        vec![format!("{what}: removed")],
        update,
    ))
    .map(|step| match step {
        Step::Change(a, r, c) => Step::Change(a, keeps_evidence(r, true), c),
        drift => drift,
    })
}

/// A step that cannot be done: apply fails it with `why` and touches nothing.
fn blocked(spec: &FileSpec, why: String) -> FileChange {
    let mut change = FileChange::new(None, spec.sensitive, ContentChange::Unchanged);
    change.blocked = Some(why);
    change
}

fn evidence_of(path: &str, seen: &Seen<'_>) -> EvidenceOf {
    EvidenceOf {
        path: path.to_string(),
        container_id: seen.container_id.to_string(),
    }
}

/// The reasons, saying evidence is kept first when it is.
fn keeps_evidence(mut reasons: Vec<String>, evidence: bool) -> Vec<String> {
    if evidence {
        reasons.push("evidence kept first".to_string());
    }
    reasons
}

/// Whether the live content is what deckhand last wrote there.
fn is_written(state: &LiveFileState, written: Option<&Written>) -> bool {
    state.kind == "file" && written.is_some_and(|w| state.content.is(&w.sha256))
}

/// Whether the live file is as deckhand left it: content, mode and owner.
fn matches_written(state: &LiveFileState, w: &Written) -> bool {
    is_written(state, Some(w)) && (state.mode, state.uid, state.gid) == (w.mode, w.uid, w.gid)
}

/// A live file dropped earlier and no longer declared, to delete: evidence
/// first when its content is not what deckhand wrote.
pub fn dropped(state: &LiveFileState, seen: &Seen<'_>, path: &str) -> (Vec<String>, FileChange) {
    // The record keeps no flags: assume sensitive and show no bytes.
    let mut change = FileChange::new(None, true, opaque_deletion(&state.content));
    let foreign = !is_written(state, seen.written);
    change.evidence = foreign.then(|| evidence_of(path, seen));
    let reasons = vec!["dropped by deckhand, no longer in the file".to_string()];
    (keeps_evidence(reasons, foreign), change)
}

/// A file written into a container that the plan creates or replaces.
pub fn creation(sensitive: bool, want: &FileContent, limits: DiffLimits) -> FileChange {
    let content = content_change(sensitive, None, &want.bytes, limits);
    FileChange::new(Some(want.clone()), sensitive, content)
}

/// A live file to delete.
pub fn deletion(sensitive: bool, state: &LiveFileState, limits: DiffLimits) -> FileChange {
    let live = &state.content;
    let diff = (!sensitive && diffable(live, limits.max))
        .then(|| text_diff(&live.head, b"", limits.deadline))
        .flatten();
    FileChange::new(
        None,
        sensitive,
        diff.unwrap_or_else(|| opaque_deletion(live)),
    )
}

fn opaque_deletion(live: &LiveContent) -> ContentChange {
    ContentChange::Opaque {
        before: Some(Digest::of_live(live)),
        after: None,
    }
}

/// Whether live content can be shown as text: read whole, within `max`, text.
fn diffable(live: &LiveContent, max: usize) -> bool {
    live.whole() && live.head.len() <= max && is_text(&live.head)
}

/// How content changes from `before` (none: created) to `after`: a text
/// diff when both sides are text, whole and within the limits and the diff
/// is done in time; else sizes and digests.
fn content_change(
    sensitive: bool,
    before: Option<&LiveContent>,
    after: &[u8],
    limits: DiffLimits,
) -> ContentChange {
    let text = before.is_none_or(|b| diffable(b, limits.max))
        && after.len() <= limits.max
        && is_text(after);
    let before_bytes = before.map_or(&b""[..], |b| &b.head[..]);
    let diff = (!sensitive && text)
        .then(|| text_diff(before_bytes, after, limits.deadline))
        .flatten();
    diff.unwrap_or_else(|| opaque(before, after))
}

fn opaque(before: Option<&LiveContent>, after: &[u8]) -> ContentChange {
    ContentChange::Opaque {
        before: before.map(Digest::of_live),
        after: Some(Digest::of(after)),
    }
}

/// A unified diff of two texts; `None` when it could not be done by `deadline`.
fn text_diff(before: &[u8], after: &[u8], deadline: Instant) -> Option<ContentChange> {
    let (old, new) = (
        String::from_utf8_lossy(before),
        String::from_utf8_lossy(after),
    );
    let diff = similar::TextDiff::configure()
        .deadline(deadline)
        .diff_lines(old.as_ref(), new.as_ref());
    // Past its deadline the diff gave up and approximated: not shown.
    if Instant::now() >= deadline {
        return None;
    }
    let mut out = String::new();
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        out.push_str(&hunk.to_string());
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    Some(ContentChange::TextDiff(out))
}

/// Text: UTF-8 without NUL bytes. Anything else is shown by size and digest.
pub fn is_text(bytes: &[u8]) -> bool {
    !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok()
}

pub fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| secs.to_string())
}

#[cfg(test)]
mod tests {
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
        let (_, reasons, change) =
            change(step(&spec(b"v1\n", false), &blocked, Some(&wrote(b"v1\n"))));
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
}
