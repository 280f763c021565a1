//! Deception craft (SPEC §11): bait made per decky from a secret seed.
//!
//! [`seed`] reads and checks the fleet's seed file, [`derive`] turns it into
//! values unique to a decky and a path, [`template`] expands a file's
//! placeholders with them.

pub mod derive;
pub mod seed;
pub mod template;
mod words;

pub use seed::{Seed, SeedError};
pub use template::{expand, Facts, NeedsSeed, TemplateError};

/// The word byte `b` stands for in `{random:words:N}` (7 bits of it).
pub fn word(b: u8) -> &'static str {
    words::WORDS[usize::from(b & 0x7f)]
}
