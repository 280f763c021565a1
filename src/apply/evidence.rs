//! Evidence before change (SPEC §8): before deckhand overwrites or deletes
//! what someone else put in a decky, or removes a container whose writable
//! layer holds changes it did not make, it keeps a copy on the operator's
//! disk. `<dir>/<host>/<container>/<path>/<UTC time>-<sha256 12>` holds the
//! bytes (a regular file) or the engine's tar of the path (anything else),
//! with a `.json` beside it; a container's layer goes to
//! `<dir>/<host>/<container>/layer/<UTC time>-<sha256 12>.tar`. Directories
//! are made 0700, files 0600. If a copy cannot be written, the step that would
//! destroy the original fails and changes nothing.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::desired::EvidenceSettings;
use crate::engine::{Engine, EngineError, LayerChange};
use crate::plan::EvidenceOf;
use crate::record::content_digest;

/// One copy kept on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// The copy (or, when it was over the cap, its `.json` alone).
    pub path: PathBuf,
    pub sha256: Option<String>,
    pub size: u64,
}

/// Keeps evidence from one engine's containers.
pub struct Keeper {
    pub engine: Engine,
    pub settings: EvidenceSettings,
    pub host: String,
}

/// What one read of a path gave: its bytes as kept, and what the sidecar says.
struct Capture {
    bytes: Vec<u8>,
    meta: Value,
}

impl Keeper {
    /// A copy of `of.path` in `container` as it is now; `None` when nothing
    /// is there any more. With `skip_seen`, content already kept there is not
    /// kept again (a drift reported on every pass).
    pub async fn file(
        &self,
        container: &str,
        decky: &str,
        of: &EvidenceOf,
        skip_seen: bool,
    ) -> Result<Option<Kept>, String> {
        let dir = self.dir(container).join(of.path.trim_start_matches('/'));
        let capture = match self.capture(container, &of.path).await? {
            None => return Ok(None),
            Some(c) => c,
        };
        crate::own_opens::opened(container, &of.path);
        let mut meta = capture.meta;
        meta["container"] = json!(container);
        meta["container_id"] = json!(of.container_id);
        meta["decky"] = json!(decky);
        meta["host"] = json!(&self.host);
        meta["path"] = json!(of.path);
        let sha = content_digest(&capture.bytes);
        if skip_seen && already_kept(&dir, &sha) {
            return Ok(None);
        }
        let left_out = meta.get("left_out").is_some();
        let name = format!("{}-{}", stamp(), &sha[..12]);
        let bytes = (!left_out).then_some(&capture.bytes[..]);
        write(&dir, &name, bytes, &meta)
            .map(Some)
            .map_err(|e| evidence_failed(&dir, e))
    }

    /// The bytes of `path` and what the sidecar says of them.
    async fn capture(&self, container: &str, path: &str) -> Result<Option<Capture>, String> {
        let cap = usize::try_from(self.settings.max_bytes).unwrap_or(usize::MAX);
        let tar = match self.engine.download(container, path, cap).await {
            Ok(None) => return Ok(None),
            Ok(Some(tar)) => tar,
            Err(EngineError::TooLarge { .. }) => {
                let mb = self.settings.max_bytes / (1024 * 1024);
                let meta = json!({"left_out": format!("over evidence_max_mb ({mb} MiB): not copied"), "observed_at": now()});
                return Ok(Some(Capture {
                    bytes: Vec::new(),
                    meta,
                }));
            }
            Err(e) => return Err(format!("evidence could not be read: {e}")),
        };
        Ok(Some(describe(tar, path)))
    }

    /// Before `container` (id `id`) is removed: the files of its writable
    /// layer that deckhand did not put there (`dropped`), as one tar.
    pub async fn layer(
        &self,
        container: &str,
        decky: &str,
        dropped: &BTreeSet<String>,
    ) -> Result<Option<Kept>, String> {
        let changes = match self.engine.container_changes(container).await {
            // Gone already (a killed run's leftover, removed meanwhile): nothing to keep.
            Err(e) if e.is_not_found() => return Ok(None),
            // Being removed by a killed run's `rm -f` (the engine goes on with
            // it; that run kept the layer's evidence before asking), or never
            // started (no process ever ran in it): the engine may fail to list
            // such a layer ("readdirent: no such file or directory").
            Err(_) if self.engine.layer_is_moot(container).await => return Ok(None),
            other => other.map_err(|e| format!("evidence could not be read: {e}"))?,
        };
        let foreign = foreign_changes(changes, dropped);
        if foreign.is_empty() {
            return Ok(None);
        }
        let (tar, left_out) = self.layer_tar(container, &foreign).await;
        let listed: Vec<Value> = foreign
            .iter()
            .map(|c| json!({"path": c.path, "kind": c.kind}))
            .collect();
        let meta = json!({
            "format": "tar", "container": container, "decky": decky, "host": &self.host,
            "changes": listed, "left_out": left_out, "size": tar.len(),
            "sha256": content_digest(&tar), "observed_at": now(),
        });
        let dir = self.dir(container).join("layer");
        let name = format!("{}-{}.tar", stamp(), &content_digest(&tar)[..12]);
        write(&dir, &name, Some(&tar), &meta)
            .map(Some)
            .map_err(|e| evidence_failed(&dir, e))
    }

    /// One tar of every added or modified file of `changes`, within the cap;
    /// what did not fit (or could not be read) is listed.
    async fn layer_tar(&self, container: &str, changes: &[LayerChange]) -> (Vec<u8>, Vec<String>) {
        let cap = usize::try_from(self.settings.max_bytes).unwrap_or(usize::MAX);
        let mut builder = tar::Builder::new(Vec::new());
        let (mut used, mut left_out) = (0usize, Vec::new());
        for c in changes.iter().filter(|c| c.kind != "deleted") {
            match self
                .engine
                .download(container, &c.path, cap.saturating_sub(used))
                .await
            {
                Ok(Some(part)) => {
                    used += part.len();
                    if append_tar(&mut builder, &part, &c.path).is_err() {
                        left_out.push(format!("{}: unreadable archive", c.path));
                    }
                }
                Ok(None) => {}
                Err(EngineError::TooLarge { .. }) => {
                    left_out.push(format!("{}: over evidence_max_mb", c.path))
                }
                Err(e) => left_out.push(format!("{}: {e}", c.path)),
            }
        }
        (builder.into_inner().unwrap_or_default(), left_out)
    }

    fn dir(&self, container: &str) -> PathBuf {
        self.settings.dir.join(&self.host).join(container)
    }
}

/// Changes of the writable layer that deckhand did not make: not a file it
/// dropped, and not a directory above other changes (listed by its children).
fn foreign_changes(changes: Vec<LayerChange>, dropped: &BTreeSet<String>) -> Vec<LayerChange> {
    let paths: Vec<String> = changes.iter().map(|c| c.path.clone()).collect();
    let is_parent = |p: &str| {
        let prefix = format!("{}/", p.trim_end_matches('/'));
        paths.iter().any(|q| q.starts_with(&prefix))
            || dropped.iter().any(|d| d.starts_with(&prefix))
    };
    changes
        .into_iter()
        .filter(|c| !dropped.contains(&c.path) && !is_parent(&c.path))
        .collect()
}

/// The entries of `part` (a tar the engine gave for `path`), renamed under
/// the path's own directory, added to `builder`.
fn append_tar(builder: &mut tar::Builder<Vec<u8>>, part: &[u8], path: &str) -> std::io::Result<()> {
    let dir = Path::new(path).parent().unwrap_or(Path::new("/"));
    let mut archive = tar::Archive::new(part);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let mut header = entry.header().clone();
        let name = dir
            .join(entry.path()?)
            .to_string_lossy()
            .trim_start_matches('/')
            .to_string();
        builder.append_data(&mut header, name, &mut entry)?;
    }
    Ok(())
}

/// The bytes to keep of `path` (its content when it is a regular file, else
/// the engine's tar) and its metadata.
fn describe(tar: Vec<u8>, path: &str) -> Capture {
    let name = Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut archive = tar::Archive::new(&tar[..]);
    let first = archive
        .entries()
        .ok()
        .and_then(|mut e| e.next())
        .and_then(Result::ok);
    let Some(mut entry) = first else {
        return Capture {
            meta: json!({"format": "tar", "observed_at": now()}),
            bytes: tar,
        };
    };
    let header = entry.header().clone();
    let kind = header.entry_type();
    let link = header
        .link_name()
        .ok()
        .flatten()
        .map(|l| l.to_string_lossy().into_owned());
    let mut meta = json!({
        "mode": format!("{:04o}", header.mode().unwrap_or(0) & 0o7777),
        "owner": format!("{}:{}", header.uid().unwrap_or(0), header.gid().unwrap_or(0)),
        "mtime": header.mtime().unwrap_or(0),
        "link_target": link,
        "observed_at": now(),
    });
    let is_file = kind.is_file() && entry.path().is_ok_and(|p| p.to_string_lossy() == name);
    let bytes = match is_file {
        true => {
            let mut bytes = Vec::new();
            let _ = std::io::Read::read_to_end(&mut entry, &mut bytes);
            meta["format"] = json!("file");
            bytes
        }
        false => {
            meta["format"] = json!("tar");
            meta["kind"] = json!(format!("{kind:?}").to_lowercase());
            drop(entry);
            tar
        }
    };
    meta["size"] = json!(bytes.len());
    meta["sha256"] = json!(content_digest(&bytes));
    Capture { bytes, meta }
}

/// Writes `name` (unless `bytes` is `None`: over the cap) and `name.json`
/// into `dir`, made 0700; both 0600, never over an existing file.
fn write(dir: &Path, name: &str, bytes: Option<&[u8]>, meta: &Value) -> std::io::Result<Kept> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let create = |path: &Path, data: &[u8]| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(data)?;
        f.sync_all()
    };
    let path = dir.join(name);
    if let Some(bytes) = bytes {
        create(&path, bytes)?;
    }
    let sidecar = dir.join(format!("{name}.json"));
    create(
        &sidecar,
        (crate::safe::json::to_string_pretty(meta).unwrap_or_default() + "\n").as_bytes(),
    )?;
    Ok(Kept {
        sha256: bytes.map(content_digest),
        size: bytes.map_or(0, |b| b.len() as u64),
        path: if bytes.is_some() { path } else { sidecar },
    })
}

/// Whether content with digest `sha` was kept in `dir` before.
fn already_kept(dir: &Path, sha: &str) -> bool {
    let suffix = format!("-{}", &sha[..12]);
    let names = std::fs::read_dir(dir).into_iter().flatten().flatten();
    names
        .into_iter()
        .any(|e| e.file_name().to_string_lossy().ends_with(&suffix))
}

fn evidence_failed(dir: &Path, e: std::io::Error) -> String {
    format!(
        "evidence could not be kept in {}: {e}; nothing was changed",
        dir.display()
    )
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A UTC time for a file name: `20261201T193512.123Z`.
fn stamp() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}.{:03}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, kind: &'static str) -> LayerChange {
        LayerChange {
            path: path.into(),
            kind,
        }
    }

    #[test]
    fn a_layer_lists_only_what_deckhand_did_not_make() {
        let dropped = BTreeSet::from(["/srv/bait".to_string()]);
        let changes = vec![
            change("/srv", "modified"),
            change("/srv/bait", "added"),
            change("/tmp", "modified"),
            change("/tmp/x.sh", "added"),
            change("/etc/shadow", "deleted"),
        ];
        let foreign: Vec<String> = foreign_changes(changes, &dropped)
            .into_iter()
            .map(|c| c.path)
            .collect();
        assert_eq!(foreign, ["/tmp/x.sh", "/etc/shadow"]);
    }

    #[test]
    fn copies_are_0600_in_0700_directories_and_never_overwritten() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("local/web-01/home/admin/.bash_history");
        let kept = write(&dir, "t-abc", Some(b"rm -rf /\\n"), &json!({"size": 9})).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            (mode(&dir), mode(&kept.path), mode(&dir.join("t-abc.json"))),
            (0o700, 0o600, 0o600)
        );
        assert!(
            write(&dir, "t-abc", Some(b"other"), &json!({})).is_err(),
            "an existing copy is never replaced"
        );
        assert!(already_kept(&dir, &"abc".repeat(22)) || !already_kept(&dir, &"f".repeat(64)));
    }
}
