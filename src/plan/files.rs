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
#[path = "files_tests.rs"]
mod tests;
