//! `--verbose`: what deckhand chose and why, on stderr (which read path a
//! container's files took, say).

use std::sync::atomic::{AtomicBool, Ordering};

static ON: AtomicBool = AtomicBool::new(false);

pub fn enable() {
    ON.store(true, Ordering::Relaxed);
}

pub fn is_on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Prints a line on stderr when `--verbose` is on; escaped, as names may come from the engine.
#[macro_export]
macro_rules! verbose {
    ($($arg:tt)*) => {
        if $crate::verbose::is_on() {
            eprintln!("verbose: {}", $crate::safe::escape(&format!($($arg)*)));
        }
    };
}
