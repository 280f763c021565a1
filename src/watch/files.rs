//! Which saved files start a pass: the config file(s) and every `source`.
//!
//! Directories are watched, not files: editors that save by writing a new file
//! and renaming it over the old one, and a file deleted and created again, are
//! then seen like any other write. Events are filtered down to the files of
//! interest in notify's own thread and handed to the async loop. Where
//! inotify cannot be had, the files are looked at every 2 s instead.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use notify::{EventKind, PollWatcher, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// What counts as a change of the desired state.
#[derive(Debug, Default)]
struct Interest {
    files: BTreeSet<PathBuf>,
    /// With `-f DIR`: any `*.toml` directly in it, including new ones.
    toml_dir: Option<PathBuf>,
}

impl Interest {
    fn covers(&self, path: &Path) -> bool {
        self.files.contains(path)
            || (self.toml_dir.as_deref() == path.parent()
                && path.extension().is_some_and(|e| e == "toml"))
    }
}

pub struct FileWatch {
    watcher: Box<dyn Watcher + Send>,
    /// Why the files are looked at every 2 s instead of watched with inotify.
    pub polled: Option<String>,
    interest: Arc<Mutex<Interest>>,
    dirs: BTreeSet<PathBuf>,
    changed: UnboundedReceiver<PathBuf>,
}

impl FileWatch {
    pub fn new() -> notify::Result<FileWatch> {
        let interest = Arc::new(Mutex::new(Interest::default()));
        let (tx, changed) = unbounded_channel();
        let filter = interest.clone();
        let handler = move |res: notify::Result<notify::Event>| {
            let Ok(event) = res else { return };
            if matches!(event.kind, EventKind::Access(_)) {
                return;
            }
            let interest = filter.lock().expect("the interest lock is never poisoned");
            for path in event.paths {
                if interest.covers(&path) {
                    let _ = tx.send(path);
                }
            }
        };
        let (watcher, polled): (Box<dyn Watcher + Send>, _) = match inotify(handler.clone()) {
            Ok(w) => (Box::new(w), None),
            Err(why) => {
                let every = notify::Config::default().with_poll_interval(super::poll::EVERY);
                (Box::new(PollWatcher::new(handler, every)?), Some(why))
            }
        };
        Ok(FileWatch {
            watcher,
            polled,
            interest,
            dirs: BTreeSet::new(),
            changed,
        })
    }

    /// Watches `config` (a file or a directory of `*.toml`) and `inputs` (the
    /// files the last valid load read), and stops watching anything else.
    pub fn watch(&mut self, config: &Path, inputs: &[PathBuf]) -> notify::Result<()> {
        let config = absolute(config);
        let mut interest = Interest::default();
        if config.is_dir() {
            interest.toml_dir = Some(config.clone());
        } else {
            interest.files.insert(config.clone());
        }
        interest.files.extend(inputs.iter().map(|p| absolute(p)));

        let mut dirs: BTreeSet<PathBuf> = interest
            .files
            .iter()
            .filter_map(|f| f.parent().map(Path::to_path_buf))
            .collect();
        dirs.extend(interest.toml_dir.clone());
        for gone in self.dirs.difference(&dirs) {
            let _ = self.watcher.unwatch(gone);
        }
        for new in dirs.difference(&self.dirs) {
            self.watcher.watch(new, RecursiveMode::NonRecursive)?;
        }
        self.dirs = dirs;
        *self
            .interest
            .lock()
            .expect("the interest lock is never poisoned") = interest;
        Ok(())
    }

    /// The next changed file of interest.
    pub async fn changed(&mut self) -> Option<PathBuf> {
        self.changed.recv().await
    }
}

/// The inotify watcher, or why it cannot be had.
fn inotify(handler: impl notify::EventHandler) -> Result<RecommendedWatcher, String> {
    if std::env::var(super::baits::INJECT_FAILURE).is_ok_and(|v| v == "1") {
        return Err("inotify_init: Too many open files (injected)".into());
    }
    notify::recommended_watcher(handler).map_err(|e| e.to_string())
}

/// The path with its directory resolved (symlinks followed), as notify reports
/// it; the file itself need not exist (an editor may be between delete and create).
fn absolute(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match (parent.canonicalize(), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn next(watch: &mut FileWatch) -> Option<PathBuf> {
        tokio::time::timeout(Duration::from_secs(2), watch.changed())
            .await
            .ok()
            .flatten()
    }

    async fn drain(watch: &mut FileWatch) {
        while tokio::time::timeout(Duration::from_millis(200), watch.changed())
            .await
            .is_ok()
        {}
    }

    #[tokio::test]
    async fn rename_over_truncate_and_recreate_are_all_seen() {
        let dir = tempfile::tempdir().unwrap();
        let dir_path = dir.path().canonicalize().unwrap();
        let config = dir_path.join("deckhand.toml");
        let source = dir_path.join("files/history");
        std::fs::create_dir_all(source.parent().unwrap()).unwrap();
        std::fs::write(&config, "a").unwrap();
        std::fs::write(&source, "a").unwrap();
        let mut watch = FileWatch::new().unwrap();
        watch
            .watch(&config, &[config.clone(), source.clone()])
            .unwrap();

        // Truncate and write, as most editors do.
        std::fs::write(&config, "b").unwrap();
        assert_eq!(next(&mut watch).await, Some(config.clone()));
        drain(&mut watch).await;

        // Write elsewhere and rename over, as vim and atomic writers do.
        let tmp = dir_path.join(".deckhand.toml.swp");
        std::fs::write(&tmp, "c").unwrap();
        std::fs::rename(&tmp, &config).unwrap();
        assert_eq!(next(&mut watch).await, Some(config.clone()));
        drain(&mut watch).await;

        // Deleted, then created again: still watched.
        std::fs::remove_file(&config).unwrap();
        assert_eq!(next(&mut watch).await, Some(config.clone()));
        drain(&mut watch).await;
        std::fs::write(&config, "d").unwrap();
        assert_eq!(next(&mut watch).await, Some(config.clone()));
        drain(&mut watch).await;

        // A source in another directory.
        std::fs::write(&source, "b").unwrap();
        assert_eq!(next(&mut watch).await, Some(source.clone()));
        drain(&mut watch).await;

        // Unrelated files in a watched directory are not changes.
        std::fs::write(dir_path.join("notes.txt"), "x").unwrap();
        assert_eq!(next(&mut watch).await, None);

        // Once the source is no longer an input, its directory is let go.
        watch.watch(&config, std::slice::from_ref(&config)).unwrap();
        std::fs::write(&source, "c").unwrap();
        assert_eq!(next(&mut watch).await, None);
    }

    #[tokio::test]
    async fn a_config_directory_sees_new_toml_files() {
        let dir = tempfile::tempdir().unwrap();
        let dir_path = dir.path().canonicalize().unwrap();
        let mut watch = FileWatch::new().unwrap();
        watch.watch(&dir_path, &[]).unwrap();
        std::fs::write(dir_path.join("zones.toml"), "x").unwrap();
        assert_eq!(next(&mut watch).await, Some(dir_path.join("zones.toml")));
        drain(&mut watch).await;
        std::fs::write(dir_path.join("README.md"), "x").unwrap();
        assert_eq!(next(&mut watch).await, None);
    }
}
