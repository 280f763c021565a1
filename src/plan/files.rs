//! Planning one file: compare the declared file with what was read back.

use crate::desired::{Ensure, FileContent, FileSpec, Mtime};
use crate::live::{LiveFile, LiveFileState};

use super::{Action, ContentChange, Digest, FileChange};

/// What to do with one declared file whose container keeps living.
/// `Ok(None)`: nothing differs. `Err`: the file cannot be managed, with why.
pub fn compare(
    spec: &FileSpec,
    live: &LiveFile,
) -> Result<Option<(Action, Vec<String>, FileChange)>, String> {
    let live = match live {
        LiveFile::Unreadable(why) => {
            return Err(format!(
                "cannot read {} in {}: {why}",
                spec.path, spec.container
            ))
        }
        LiveFile::Missing => None,
        LiveFile::Present(state) => Some(state),
    };
    match (&spec.ensure, live) {
        (Ensure::Absent, None) => Ok(None),
        (Ensure::Absent, Some(state)) => Ok(Some((
            Action::Delete,
            vec!["ensure = \"absent\"".to_string()],
            deletion(spec.sensitive, state),
        ))),
        (Ensure::Present(want), None) => Ok(Some((
            Action::Create,
            vec!["not present live".to_string()],
            creation(spec.sensitive, want),
        ))),
        (Ensure::Present(want), Some(state)) => update(spec, want, state),
    }
}

/// A declared file that is present live: updated when anything differs.
fn update(
    spec: &FileSpec,
    want: &FileContent,
    state: &LiveFileState,
) -> Result<Option<(Action, Vec<String>, FileChange)>, String> {
    if state.kind == "directory" {
        return Err(format!(
            "{} in {} is a directory live; deckhand does not replace a directory with a file",
            spec.path, spec.container
        ));
    }
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
    if reasons.is_empty() {
        return Ok(None);
    }
    let change = FileChange {
        write: Some(want.clone()),
        sensitive: spec.sensitive,
        content,
    };
    Ok(Some((Action::Update, reasons, change)))
}

/// A file written into a container that the plan creates or replaces.
pub fn creation(sensitive: bool, want: &FileContent) -> FileChange {
    FileChange {
        write: Some(want.clone()),
        sensitive,
        content: content_change(sensitive, None, &want.bytes),
    }
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
    FileChange {
        write: None,
        sensitive,
        content,
    }
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

    fn live(bytes: &[u8]) -> LiveFile {
        LiveFile::Present(LiveFileState {
            kind: "file".into(),
            bytes: bytes.to_vec(),
            mode: 0o600,
            uid: 1000,
            gid: 1000,
            mtime: 1_700_000_000,
        })
    }

    #[test]
    fn an_identical_file_is_no_change() {
        assert_eq!(compare(&spec(b"a\n", false), &live(b"a\n")), Ok(None));
    }

    #[test]
    fn a_text_edit_shows_a_unified_diff() {
        let (action, reasons, change) = compare(&spec(b"a\nb\n", false), &live(b"a\nb\nx\n"))
            .unwrap()
            .unwrap();
        assert_eq!(action, Action::Update);
        assert_eq!(reasons, vec!["content changed"]);
        assert_eq!(
            change.content,
            ContentChange::TextDiff("@@ -1,3 +1,2 @@\n a\n b\n-x\n".to_string())
        );
    }

    #[test]
    fn a_sensitive_edit_shows_only_sizes_and_digests() {
        let (_, _, change) = compare(&spec(b"password=hunter2\n", true), &live(b"password=old\n"))
            .unwrap()
            .unwrap();
        let ContentChange::Opaque { before, after } = change.content else {
            panic!("sensitive content must be opaque")
        };
        assert_eq!(before.unwrap().size, 13);
        assert_eq!(after.unwrap().size, 17);
    }

    #[test]
    fn mode_owner_and_mtime_drift_are_named() {
        let drifted = LiveFile::Present(LiveFileState {
            kind: "file".into(),
            bytes: b"a\n".to_vec(),
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: 1_800_000_000,
        });
        let (_, reasons, _) = compare(&spec(b"a\n", false), &drifted).unwrap().unwrap();
        assert_eq!(
            reasons,
            vec![
                "mode 0644 -> 0600",
                "owner 0:0 -> 1000:1000",
                "mtime 2027-01-15T08:00:00Z -> 2023-11-14T22:13:20Z"
            ]
        );
    }

    #[test]
    fn a_relative_mtime_is_not_compared_after_writing() {
        let mut s = spec(b"a\n", false);
        if let Ensure::Present(c) = &mut s.ensure {
            c.mtime = Mtime::Offset(-86_400);
        }
        assert_eq!(compare(&s, &live(b"a\n")), Ok(None));
    }

    #[test]
    fn binary_content_is_never_diffed_as_text() {
        let (_, _, change) = compare(&spec(b"\x00\xff", false), &live(b"\x00\xfe"))
            .unwrap()
            .unwrap();
        assert!(matches!(change.content, ContentChange::Opaque { .. }));
    }
}
