//! deckhand's own opens of bait files, counted so that watch can tell an
//! intruder's open during a pass from its own (SPEC §8): inotify says what
//! happened to a file, never who did it.
//!
//! Every read of a regular bait (from the host or through the engine's
//! archive) and every evidence copy opens it once; the reader counts it here,
//! and watch takes the counts when its pass ends.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::live::LiveFile;

/// Opens per (container, path) since the counts were last taken.
static OPENS: Mutex<BTreeMap<(String, String), u64>> = Mutex::new(BTreeMap::new());

/// One open of `path` in `container` by deckhand.
pub fn opened(container: &str, path: &str) {
    let mut opens = OPENS.lock().unwrap_or_else(|p| p.into_inner());
    *opens
        .entry((container.to_string(), path.to_string()))
        .or_default() += 1;
}

/// Every regular file that a read gave back was opened once to be read.
pub fn read(files: &BTreeMap<(String, String), LiveFile>) {
    for ((container, path), file) in files {
        if matches!(file, LiveFile::Present(s) if s.kind == "file") {
            opened(container, path);
        }
    }
}

/// The counts so far, which start again from zero.
pub fn take() -> BTreeMap<(String, String), u64> {
    std::mem::take(&mut *OPENS.lock().unwrap_or_else(|p| p.into_inner()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_are_counted_per_file_and_taken_once() {
        opened("own-test-c", "/a");
        opened("own-test-c", "/a");
        opened("own-test-c", "/b");
        let taken = take();
        assert_eq!(taken.get(&("own-test-c".into(), "/a".into())), Some(&2));
        assert_eq!(taken.get(&("own-test-c".into(), "/b".into())), Some(&1));
        assert!(!take().contains_key(&("own-test-c".into(), "/a".into())));
    }
}
