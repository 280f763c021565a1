//! One path's copy, read from the engine's archive as it streams: the
//! content when a regular file stands there, else a tar of what does, with
//! what the sidecar says of it (mode, owner, mtime, link target).

use std::io::{self, Read};
use std::path::Path;

use serde_json::{json, Value};

use super::sparse::Sparse;
use super::tarcopy::{copy_content, Appended, Cut, TarOut};

/// What one read of a path kept.
#[derive(Debug)]
pub struct Taken {
    pub meta: Value,
    /// What was left out, and why.
    pub cut: Vec<(String, Cut)>,
}

/// What the sidecar says of an entry. Its link target is the entry's, which
/// a PAX header holds when the target is not plain ASCII (the header's own
/// field then holds a stripped copy).
fn describe<R: std::io::Read>(entry: &tar::Entry<R>) -> Value {
    let header = entry.header();
    let link = entry.link_name().ok().flatten();
    json!({
        "mode": format!("{:04o}", header.mode().unwrap_or(0) & 0o7777),
        "owner": format!("{}:{}", header.uid().unwrap_or(0), header.gid().unwrap_or(0)),
        "mtime": rfc3339(header.mtime().unwrap_or(0)),
        "link_target": link.map(|l| l.to_string_lossy().into_owned()),
    })
}

/// Seconds since the epoch as RFC 3339 UTC, like the sidecar's `observed_at`.
fn rfc3339(secs: u64) -> String {
    let t = i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Copies what the engine's archive of `path` (from `reader`) holds into
/// `out`, at most `max` bytes; `None` when it holds nothing.
pub fn take(
    reader: &mut dyn Read,
    path: &str,
    out: &mut Sparse<'_>,
    max: u64,
) -> io::Result<Option<Taken>> {
    let name = Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    let mut archive = tar::Archive::new(reader);
    let mut entries = archive.entries()?;
    let Some(first) = entries.next() else {
        return Ok(None);
    };
    let mut entry = first?;
    let mut meta = describe(&entry);
    let is_file = entry.header().entry_type().is_file()
        && entry
            .path()
            .is_ok_and(|p| Some(p.to_string_lossy().into_owned()) == name);
    let mut cut = Vec::new();
    if is_file {
        meta["format"] = json!("file");
        out.part(entry.size().min(max));
        if let Some(c) = copy_content(&mut entry, out, max)? {
            cut.push((format!("bytes from {}", out.position()), c));
        }
        return Ok(Some(Taken { meta, cut }));
    }
    meta["format"] = json!("tar");
    meta["kind"] = json!(format!("{:?}", entry.header().entry_type()).to_lowercase());
    let mut tar = TarOut::new(out, max);
    let mut append = |entry: &mut tar::Entry<'_, _>| -> io::Result<()> {
        let name = entry.path()?.to_string_lossy().into_owned();
        if let Appended::Cut(c) = tar.append(entry, &name, None)? {
            cut.push((name, c));
        }
        Ok(())
    };
    append(&mut entry)?;
    drop(entry);
    for entry in entries {
        match entry {
            Ok(mut e) => append(&mut e)?,
            Err(e) => {
                cut.push(("(the rest)".into(), Cut::Broken(e.to_string())));
                break;
            }
        }
    }
    tar.finish()?;
    Ok(Some(Taken { meta, cut }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_mtime_reads_as_rfc_3339_like_observed_at() {
        assert_eq!(super::rfc3339(1_736_674_200), "2025-01-12T09:30:00Z");
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
