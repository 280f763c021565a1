//! Giveaways in bait files: one content or one mtime on several deckies,
//! many files with one mtime, root's files in a user's home.

use std::collections::{BTreeMap, BTreeSet};

use crate::desired::{Ensure, FileContent, FileSpec, Mtime};

use super::{listed, Finding, Kind};

/// Files this short (an empty `.hushlogin`) look alike on real hosts too.
const MIN_BYTES: usize = 8;
/// This many files of one decky with one mtime look made, not lived in.
const MANY: usize = 3;

pub fn findings(files: &[FileSpec]) -> Vec<Finding> {
    let present: Vec<(&FileSpec, &FileContent)> = files
        .iter()
        .filter_map(|f| match &f.ensure {
            Ensure::Present(c) => Some((f, c)),
            Ensure::Absent => None,
        })
        .collect();
    let mut out = same_content(&present);
    out.extend(same_mtime(&present));
    out.extend(one_mtime(&present));
    out.extend(present.iter().filter_map(|(f, c)| root_in_home(f, c)));
    out
}

/// `decky:path` of each file.
fn places(group: &[&FileSpec]) -> Vec<String> {
    group
        .iter()
        .map(|f| format!("{}:{}", f.decky, f.path))
        .collect()
}

/// The groups of files under one key that span several deckies.
fn across_deckies<'a, K: Ord>(
    present: &[(&'a FileSpec, &FileContent)],
    key: impl Fn(&FileSpec, &FileContent) -> Option<K>,
) -> Vec<(K, Vec<&'a FileSpec>)> {
    let mut groups: BTreeMap<K, Vec<&FileSpec>> = BTreeMap::new();
    for (f, c) in present {
        if let Some(k) = key(f, c) {
            groups.entry(k).or_default().push(f);
        }
    }
    let spans = |g: &Vec<&FileSpec>| g.iter().map(|f| &f.decky).collect::<BTreeSet<_>>().len() > 1;
    groups.into_iter().filter(|(_, g)| spans(g)).collect()
}

/// Each file whose bytes another decky has too.
fn same_content(present: &[(&FileSpec, &FileContent)]) -> Vec<Finding> {
    let key = |f: &FileSpec, c: &FileContent| {
        (f.canary.is_none() && c.bytes.len() >= MIN_BYTES).then(|| c.bytes.clone())
    };
    let groups = across_deckies(present, key).into_iter();
    let found = groups.flat_map(|(_, group)| with_others(&group));
    found
        .map(|(f, others)| Finding {
            decky: f.decky.clone(),
            file: Some(f.path.clone()),
            kind: Kind::SameContent,
            message: format!("the same content as {others}: an intruder who sees both sees the trick"),
            fix: "make it per decky: template = true with {hostname} or {random:hex:N} / {random:words:N} in the content, or a canary".to_string(),
        })
        .collect()
}

/// Each file of `group` with the other deckies' files of the group, listed.
fn with_others<'a>(group: &[&'a FileSpec]) -> Vec<(&'a FileSpec, String)> {
    let others = |f: &FileSpec| {
        let others: Vec<&FileSpec> = group
            .iter()
            .copied()
            .filter(|o| o.decky != f.decky)
            .collect();
        listed(&places(&others))
    };
    group.iter().map(|f| (*f, others(f))).collect()
}

/// When a file's mtime is: absolute (0) or from the apply (1), the
/// seconds, and in words.
type When = (i64, i64, String);

/// The mtime a file gets, in words, and as a key.
fn mtime_key(c: &FileContent) -> When {
    match c.mtime {
        Mtime::Absolute(t) => (0, t, crate::plan::rfc3339(t)),
        Mtime::Offset(0) => (1, 0, "the time of the apply (no mtime set)".to_string()),
        Mtime::Offset(o) => (1, o, format!("mtime_offset {o}s from the apply")),
    }
}

/// Each file whose mtime another decky's file has too.
fn same_mtime(present: &[(&FileSpec, &FileContent)]) -> Vec<Finding> {
    let key = |_: &FileSpec, c: &FileContent| Some(mtime_key(c));
    let mut out = Vec::new();
    for ((_, _, when), group) in across_deckies(present, key) {
        out.extend(with_others(&group).into_iter().map(|(f, others)| {
            Finding {
                decky: f.decky.clone(),
                file: Some(f.path.clone()),
                kind: Kind::SameMtime,
                message: format!(
                    "modified at {when}, like {others}: deckies set up by hand would differ"
                ),
                fix: "give each decky its own mtime or mtime_offset (a few hours or days apart)"
                    .to_string(),
            }
        }));
    }
    out
}

/// Each decky with many files of one mtime.
fn one_mtime(present: &[(&FileSpec, &FileContent)]) -> Vec<Finding> {
    let mut groups: BTreeMap<(&str, When), Vec<&FileSpec>> = BTreeMap::new();
    for (f, c) in present {
        groups.entry((&f.decky, mtime_key(c))).or_default().push(f);
    }
    let many = groups.into_iter().filter(|(_, g)| g.len() >= MANY);
    many.map(|((decky, (_, _, when)), group)| {
        let paths: Vec<String> = group.iter().map(|f| f.path.clone()).collect();
        Finding {
            decky: decky.to_string(),
            file: Some(paths[0].clone()),
            kind: Kind::OneMtime,
            message: format!(
                "{} files modified at one moment, {when}: {}",
                group.len(),
                listed(&paths)
            ),
            fix: "spread their mtime or mtime_offset over the weeks a user would have touched them"
                .to_string(),
        }
    })
    .collect()
}

/// A file under `/home/USER/` owned by root: the file, and the directories
/// deckhand creates for it (as the file is owned), give the trick away.
fn root_in_home(f: &FileSpec, c: &FileContent) -> Option<Finding> {
    let rest = f.path.strip_prefix("/home/")?;
    let (user, below) = rest.split_once('/')?;
    if c.uid != 0 || user.is_empty() {
        return None;
    }
    let mut dirs = vec![format!("/home/{user}")];
    let mut parts: Vec<&str> = below.split('/').collect();
    parts.pop();
    for p in parts {
        dirs.push(format!("{}/{p}", dirs.last().expect("one at least")));
    }
    Some(Finding {
        decky: f.decky.clone(),
        file: Some(f.path.clone()),
        kind: Kind::RootInHome,
        message: format!(
            "owned by root in {user}'s home, and so are the directories deckhand makes for it where the image lacks them ({})",
            listed(&dirs)
        ),
        fix: format!("set owner = \"UID:GID\" of {user} (like \"1000:1000\"): the file and the directories it brings are then {user}'s"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(decky: &str, path: &str, bytes: &[u8], uid: u64, mtime: Mtime) -> FileSpec {
        FileSpec {
            decky: decky.into(),
            target: "base".into(),
            container: decky.into(),
            path: path.into(),
            sensitive: false,
            ensure: Ensure::Present(FileContent {
                bytes: bytes.to_vec(),
                mode: 0o644,
                uid,
                gid: uid,
                mtime,
            }),
            on_drift: Default::default(),
            canary: None,
        }
    }

    #[test]
    fn roots_file_in_a_home_names_the_directories_it_brings() {
        let f = findings(&[file("a", "/home/bob/.ssh/keys", b"k", 0, Mtime::Offset(-5))]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].kind, Kind::RootInHome);
        assert!(
            f[0].message.contains("/home/bob and /home/bob/.ssh"),
            "{}",
            f[0].message
        );
        let owned = findings(&[file(
            "a",
            "/home/bob/.ssh/keys",
            b"k",
            1000,
            Mtime::Offset(-5),
        )]);
        assert_eq!(owned, vec![]);
    }

    #[test]
    fn short_files_and_one_deckys_own_files_are_not_across_deckies() {
        let files = [
            file("a", "/x", b"", 0, Mtime::Absolute(1)),
            file("b", "/x", b"", 0, Mtime::Absolute(2)),
            file("a", "/y", b"same long bait", 0, Mtime::Absolute(3)),
            file("a", "/z", b"same long bait", 0, Mtime::Absolute(4)),
        ];
        assert_eq!(findings(&files), vec![]);
    }
}
