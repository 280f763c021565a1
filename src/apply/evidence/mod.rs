//! Evidence before change (SPEC §8): before deckhand overwrites or deletes
//! what someone else put in a decky, or removes a container whose writable
//! layer holds changes it did not make, it keeps a copy on the operator's
//! disk. `<dir>/<host>/<container>/<path>/<UTC time>-<sha256 12>` holds the
//! bytes (a regular file) or a tar of what stands at the path (anything
//! else), with a `.json` beside it; a container's layer goes to
//! `<dir>/<host>/<container>/layer/<UTC time>-<sha256 12>.tar`.
//!
//! Evidence is bounded: content already kept for the same container and
//! path is not kept again (its sidecar lists each sighting); copies are
//! streamed to disk sparse, never held in memory; `evidence_max_mb` caps a
//! capture, `evidence_quota_mb` the whole directory (the oldest captures of
//! the decky holding the most make room), and a capture never takes the
//! filesystem below 5 % free: what does not fit is listed in the sidecar.
//! A copy that cannot be written for any other reason fails the step that
//! would destroy the original, which then changes nothing.

mod file;
mod host;
mod layer;
mod quota;
mod sparse;
mod store;
mod stream;
mod tarcopy;

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::desired::EvidenceSettings;
use crate::engine::{Engine, EngineError};
use crate::plan::EvidenceOf;

use quota::Quota;
use sparse::Sparse;
use tarcopy::Cut;

/// One copy kept on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// The copy.
    pub path: PathBuf,
    pub sha256: Option<String>,
    pub size: u64,
    /// The same content was kept before: `path` is that copy, and its
    /// sidecar lists this sighting too.
    pub seen_before: bool,
    /// Older captures dropped to make room under the quota.
    pub dropped: Vec<PathBuf>,
    /// Parts left out (over a cap, or no room): listed in the sidecar.
    pub left_out: usize,
}

/// Keeps evidence from one engine's containers.
pub struct Keeper {
    pub engine: Engine,
    pub settings: EvidenceSettings,
    pub host: String,
    /// The sha256 deckhand last wrote to each (container, path), from the record.
    pub written: BTreeMap<(String, String), String>,
}

/// A copy being written: its temporary file, and the bounds it was written under.
struct Draft {
    temp: PathBuf,
    quota: Quota,
}

impl Draft {
    fn discard(self) {
        let _ = std::fs::remove_file(&self.temp);
    }
}

/// Writes a copy (with `write`) into a temporary file in `dir`, sparse and
/// under the quota.
fn draft<T>(
    dir: &Path,
    settings: &EvidenceSettings,
    decky: &str,
    write: impl FnOnce(&mut Sparse<'_>) -> io::Result<T>,
) -> io::Result<(Draft, T)> {
    let (file, temp) = store::temp_file(dir)?;
    let mut quota = Quota::new(&settings.dir, settings.quota_bytes, decky);
    let mut out = Sparse::new(file, &mut quota);
    let written = write(&mut out);
    let finished = out.finish();
    let draft = Draft { temp, quota };
    match written.and_then(|t| finished.map(|_| t)) {
        Ok(t) => Ok((draft, t)),
        Err(e) => {
            draft.discard();
            Err(e)
        }
    }
}

impl Keeper {
    /// A copy of `of.path` in `container` as it is now; `None` when nothing
    /// is there any more. With `skip_seen`, content already kept there is
    /// not reported again (a drift seen on every pass); it is still listed
    /// in the copy's sidecar.
    pub async fn file(
        &self,
        container: &str,
        decky: &str,
        of: &EvidenceOf,
        skip_seen: bool,
    ) -> Result<Option<Kept>, String> {
        let dir = self.dir(container).join(of.path.trim_start_matches('/'));
        let (settings, at, path) = (self.settings.clone(), dir.clone(), of.path.clone());
        let who = decky.to_string();
        let (read, drafted) = stream::with_archive(&self.engine, container, &of.path, move |r| {
            draft(&at, &settings, &who, |out| {
                file::take(r, &path, out, settings.max_bytes)
            })
        })
        .await;
        let (draft, taken) = drafted.map_err(|e| evidence_failed(&dir, e))?;
        let Some(taken) = taken.filter(|_| matches!(read, Ok(true))) else {
            draft.discard();
            return read
                .map(|_| None)
                .map_err(|e| format!("evidence could not be read: {e}"));
        };
        crate::own_opens::opened(container, &of.path);
        let mut meta = taken.meta;
        meta["container"] = json!(container);
        meta["container_id"] = json!(of.container_id);
        meta["decky"] = json!(decky);
        meta["host"] = json!(&self.host);
        meta["path"] = json!(of.path);
        let left_out = self.left_out(&taken.cut, &draft.quota);
        let retry = taken.cut.iter().any(|(_, c)| *c != Cut::OverMax);
        let at = dir.clone();
        let keep = move || keep_file(&at, draft, meta, left_out, retry, skip_seen);
        tokio::task::spawn_blocking(keep)
            .await
            .expect("keeping a copy does not panic")
            .map_err(|e| evidence_failed(&dir, e))
    }

    /// Before `container` is removed: the files of its writable layer that
    /// deckhand did not put there (`dropped` are its own), as one tar read
    /// in one archive call.
    pub async fn layer(
        &self,
        container: &str,
        decky: &str,
        dropped: &BTreeSet<String>,
    ) -> Result<Option<Kept>, String> {
        let Some((changes, mounts)) = self.layer_changes(container).await? else {
            return Ok(None);
        };
        let own = layer::Own {
            dropped: dropped.clone(),
            written: self.written_in(container),
        };
        let want = layer::wanted(changes, &own, &mounts);
        if want.is_empty() {
            return Ok(None);
        }
        let dir = self.dir(container).join("layer");
        let (read, drafted) = self.read_layer(container, decky, &dir, &want).await;
        let (draft, mut taken) = drafted.map_err(|e| evidence_failed(&dir, e))?;
        if let Err(e) = read {
            taken
                .cut
                .push(("(the rest)".into(), Cut::Broken(e.to_string())));
        }
        if taken.kept == 0 && taken.cut.is_empty() && want.changes.is_empty() {
            draft.discard(); // only deckhand's own files, as it wrote them
            return Ok(None);
        }
        let mut meta = layer::listing(&want, &taken);
        meta["format"] = json!("tar");
        meta["container"] = json!(container);
        meta["decky"] = json!(decky);
        meta["host"] = json!(&self.host);
        let left_out = self.left_out(&taken.cut, &draft.quota);
        let at = dir.clone();
        tokio::task::spawn_blocking(move || keep_layer(&at, draft, meta, left_out))
            .await
            .expect("keeping a copy does not panic")
            .map(Some)
            .map_err(|e| evidence_failed(&dir, e))
    }

    /// The layer's changes and the container's mount points; `None` when
    /// there is no layer to keep.
    async fn layer_changes(
        &self,
        container: &str,
    ) -> Result<Option<(Vec<crate::engine::LayerChange>, Vec<String>)>, String> {
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
        match self.engine.mount_points(container).await {
            Ok(mounts) => Ok(Some((changes, mounts))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(format!("evidence could not be read: {e}")),
        }
    }

    /// The changes, read from the host through the container's verified
    /// root when deckhand may, else in one archive call of their nearest
    /// common parent filtered to them; written to a draft in `dir`.
    async fn read_layer(
        &self,
        container: &str,
        decky: &str,
        dir: &Path,
        want: &layer::Wanted,
    ) -> (Result<bool, EngineError>, io::Result<(Draft, layer::Taken)>) {
        let (settings, at, want) = (self.settings.clone(), dir.to_path_buf(), want.clone());
        let who = decky.to_string();
        let deadline = std::time::Instant::now() + layer::BUDGET;
        let Some(base) = want.base() else {
            // Only deletions: nothing to read, the listing says it all.
            let empty = |out: &mut Sparse<'_>| {
                let tar = tarcopy::TarOut::new(out, settings.max_bytes);
                tar.finish().map(|()| layer::Taken::default())
            };
            return (Ok(true), draft(&at, &settings, &who, empty));
        };
        if let Some(root) = host::root(&self.engine, container).await {
            crate::verbose!("evidence {container}: the layer read from the host");
            let read = move || {
                let max = settings.max_bytes;
                let take = |out: &mut Sparse<'_>| host::take(&root, &want, out, max, deadline);
                draft(&at, &settings, &who, take)
            };
            let drafted = tokio::task::spawn_blocking(read).await;
            return (Ok(true), drafted.expect("a capture does not panic"));
        }
        let archived = base.clone();
        stream::with_archive(&self.engine, container, &archived, move |r| {
            let max = settings.max_bytes;
            let take = |out: &mut Sparse<'_>| layer::take(r, &base, &want, out, max, deadline);
            draft(&at, &settings, &who, take)
        })
        .await
    }

    fn dir(&self, container: &str) -> PathBuf {
        self.settings.dir.join(&self.host).join(container)
    }

    /// Paths deckhand wrote in `container`, with the sha256 of what it wrote.
    fn written_in(&self, container: &str) -> BTreeMap<String, String> {
        let mine = self.written.iter().filter(|((c, _), _)| c == container);
        mine.map(|((_, p), sha)| (p.clone(), sha.clone())).collect()
    }

    /// The sidecar's lines for what was left out.
    fn left_out(&self, cut: &[(String, Cut)], quota: &Quota) -> Vec<String> {
        let mb = self.settings.max_bytes >> 20;
        let line = |(what, cut): &(String, Cut)| match cut {
            Cut::OverMax => format!("{what}: over evidence_max_mb ({mb} MiB)"),
            Cut::NoRoom => format!(
                "{what}: {}",
                quota.stopped.as_deref().unwrap_or("no room left")
            ),
            Cut::Broken(e) => format!("{what}: the engine's archive broke off ({e})"),
            Cut::NotRead(why) => format!("{what}: {why}"),
            Cut::TooMany => format!("{what}: over {} entries, not copied", layer::LISTED),
            Cut::OutOfTime => format!(
                "{what}: not taken, the capture's {} s ran out",
                layer::BUDGET.as_secs()
            ),
        };
        cut.iter().map(line).collect()
    }
}

/// Lists `left_out` (at most [`layer::LISTED`], the rest counted) in `meta`.
fn list_left_out(meta: &mut Value, left_out: &[String]) {
    meta["left_out"] = json!(left_out.iter().take(layer::LISTED).collect::<Vec<_>>());
    if left_out.len() > layer::LISTED {
        meta["left_out_not_listed"] = json!(left_out.len() - layer::LISTED);
    }
}

/// Puts a file's draft in place, or adds a sighting to the copy of the same
/// content kept before.
fn keep_file(
    dir: &Path,
    mut draft: Draft,
    mut meta: Value,
    left_out: Vec<String>,
    retry: bool,
    skip_seen: bool,
) -> io::Result<Option<Kept>> {
    let sha = store::digest(&draft.temp)?;
    let size = std::fs::metadata(&draft.temp)?.len();
    let whole = left_out.is_empty();
    // A copy cut for want of room is taken again; one over the cap is not.
    let before = (!retry)
        .then(|| store::find_kept(dir, &sha, &left_out))
        .flatten();
    if let Some(copy) = before {
        let dropped = std::mem::take(&mut draft.quota.dropped);
        draft.discard();
        store::seen_again(&copy, &now())?;
        let report = !skip_seen || !dropped.is_empty();
        return Ok(report.then_some(Kept {
            path: copy,
            sha256: Some(sha),
            size,
            seen_before: true,
            dropped,
            left_out: left_out.len(),
        }));
    }
    let copy = dir.join(format!("{}-{}", stamp(), &sha[..12]));
    store::commit(&draft.temp, &copy)?;
    let observed = now();
    meta["size"] = json!(size);
    meta["sha256"] = json!(sha);
    meta["observed_at"] = json!(observed);
    meta["seen"] = json!([observed]);
    if !whole {
        list_left_out(&mut meta, &left_out);
    }
    store::write_sidecar(&copy, &meta)?;
    Ok(Some(settled(&mut draft, copy, sha, size, left_out.len())))
}

/// Puts a layer's draft in place with its sidecar.
fn keep_layer(
    dir: &Path,
    mut draft: Draft,
    mut meta: Value,
    left_out: Vec<String>,
) -> io::Result<Kept> {
    let sha = store::digest(&draft.temp)?;
    let size = std::fs::metadata(&draft.temp)?.len();
    let copy = dir.join(format!("{}-{}.tar", stamp(), &sha[..12]));
    store::commit(&draft.temp, &copy)?;
    meta["size"] = json!(size);
    meta["sha256"] = json!(sha);
    meta["observed_at"] = json!(now());
    list_left_out(&mut meta, &left_out);
    store::write_sidecar(&copy, &meta)?;
    Ok(settled(&mut draft, copy, sha, size, left_out.len()))
}

/// A new copy kept at `copy`: its room counted, and what it dropped told.
fn settled(draft: &mut Draft, copy: PathBuf, sha: String, size: u64, left_out: usize) -> Kept {
    draft.quota.settle(&copy);
    Kept {
        path: copy,
        sha256: Some(sha),
        size,
        seen_before: false,
        dropped: std::mem::take(&mut draft.quota.dropped),
        left_out,
    }
}

fn evidence_failed(dir: &Path, e: io::Error) -> String {
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
