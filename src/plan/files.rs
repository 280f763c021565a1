//! Planning one file: compare the declared file with what was read back.

use crate::desired::{Ensure, FileContent, FileSpec, Mtime, OnDrift};
use crate::live::{LiveFile, LiveFileState};
use crate::record::{content_digest, Written};

use super::{Action, ContentChange, Digest, EvidenceOf, FileChange};

/// What was seen of one declared file: its live state, and what deckhand
/// last wrote there (from the record), in the container with id `container_id`.
pub struct Seen<'a> {
    pub live: &'a LiveFile,
    pub written: Option<&'a Written>,
    pub container_id: &'a str,
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
pub fn compare(spec: &FileSpec, seen: &Seen<'_>) -> Option<Step> {
    let change = |action, reasons, detail| Some(Step::Change(action, reasons, detail));
    let state = match (seen.live, &spec.ensure) {
        (LiveFile::Unreadable(why), _) => {
            let why = format!("cannot read {} in {}: {why}", spec.path, spec.container);
            return change(Action::Update, vec![why.clone()], blocked(spec, why));
        }
        (LiveFile::Blocked { .. }, Ensure::Absent) | (LiveFile::Missing, Ensure::Absent) => {
            return None
        }
        (LiveFile::Blocked { by, kind }, Ensure::Present(want)) => {
            return in_the_way(spec, seen, want, by, kind)
        }
        (LiveFile::Missing, Ensure::Present(want)) => {
            return change(
                Action::Create,
                vec!["not present live".to_string()],
                creation(spec.sensitive, want),
            );
        }
        (LiveFile::Present(state), _) => state,
    };
    let Ensure::Present(want) = &spec.ensure else {
        let mut deletion = deletion(spec.sensitive, state);
        let foreign = !is_written(state, seen.written);
        deletion.evidence = foreign.then(|| evidence_of(&spec.path, seen));
        return change(
            Action::Delete,
            keeps_evidence(vec!["ensure = \"absent\"".to_string()], foreign),
            deletion,
        );
    };
    if state.kind == "directory" {
        return in_the_way(spec, seen, want, &spec.path, "directory");
    }
    let (reasons, content) = differences(spec, want, state);
    if reasons.is_empty() {
        return None;
    }
    let foreign =
        state.kind != "file" || !(is_declared(state, want) || is_written(state, seen.written));
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

/// What differs between the declared file and the live one, and how its
/// content changes.
fn differences(
    spec: &FileSpec,
    want: &FileContent,
    state: &LiveFileState,
) -> (Vec<String>, ContentChange) {
    let mut reasons = Vec::new();
    let content = if state.kind != "file" {
        reasons.push(format!("is a {} live", state.kind));
        opaque(Some(&state.bytes), &want.bytes)
    } else if state.bytes != want.bytes {
        reasons.push("content changed".to_string());
        content_change(spec.sensitive, Some(&state.bytes), &want.bytes)
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
    let mut update = creation(spec.sensitive, want);
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

/// Whether the live content is the declared content.
fn is_declared(state: &LiveFileState, want: &FileContent) -> bool {
    state.kind == "file" && state.bytes == want.bytes
}

/// Whether the live content is what deckhand last wrote there.
fn is_written(state: &LiveFileState, written: Option<&Written>) -> bool {
    state.kind == "file" && written.is_some_and(|w| w.sha256 == content_digest(&state.bytes))
}

/// Whether the live file is as deckhand left it: content, mode and owner.
fn matches_written(state: &LiveFileState, w: &Written) -> bool {
    is_written(state, Some(w)) && (state.mode, state.uid, state.gid) == (w.mode, w.uid, w.gid)
}

/// A live file dropped earlier and no longer declared, to delete: evidence
/// first when its content is not what deckhand wrote.
pub fn dropped(state: &LiveFileState, seen: &Seen<'_>, path: &str) -> (Vec<String>, FileChange) {
    // The record keeps no flags: assume sensitive and show no bytes.
    let mut change = deletion(true, state);
    let foreign = !is_written(state, seen.written);
    change.evidence = foreign.then(|| evidence_of(path, seen));
    let reasons = vec!["dropped by deckhand, no longer in the file".to_string()];
    (keeps_evidence(reasons, foreign), change)
}

/// A file written into a container that the plan creates or replaces.
pub fn creation(sensitive: bool, want: &FileContent) -> FileChange {
    let content = content_change(sensitive, None, &want.bytes);
    FileChange::new(Some(want.clone()), sensitive, content)
}

/// A live file to delete.
pub fn deletion(sensitive: bool, state: &LiveFileState) -> FileChange {
    let content = if sensitive || !is_text(&state.bytes) {
        ContentChange::Opaque {
            before: Some(Digest::of(&state.bytes)),
            after: None,
        }
    } else {
        text_diff(&state.bytes, b"")
    };
    FileChange::new(None, sensitive, content)
}

fn content_change(sensitive: bool, before: Option<&[u8]>, after: &[u8]) -> ContentChange {
    let text = before.is_none_or(is_text) && is_text(after);
    if sensitive || !text {
        opaque(before.map(|b| b.to_vec()).as_ref(), after)
    } else {
        text_diff(before.unwrap_or_default(), after)
    }
}

fn opaque(before: Option<&Vec<u8>>, after: &[u8]) -> ContentChange {
    ContentChange::Opaque {
        before: before.map(|b| Digest::of(b)),
        after: Some(Digest::of(after)),
    }
}

fn text_diff(before: &[u8], after: &[u8]) -> ContentChange {
    let (old, new) = (
        String::from_utf8_lossy(before),
        String::from_utf8_lossy(after),
    );
    let diff = similar::TextDiff::from_lines(old.as_ref(), new.as_ref());
    let mut out = String::new();
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        out.push_str(&hunk.to_string());
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    ContentChange::TextDiff(out)
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
        }
    }

    fn state(kind: &str, bytes: &[u8]) -> LiveFileState {
        LiveFileState {
            kind: kind.into(),
            bytes: bytes.to_vec(),
            mode: 0o600,
            uid: 1000,
            gid: 1000,
            mtime: 1_700_000_000,
            link: None,
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
}
