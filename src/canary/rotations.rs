//! How many times each decky's canaries were rotated: kept beside the seed
//! (`.deckhand/canary-rotations.toml`), since with it it makes the tokens.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file's name, in the seed's directory.
pub const FILE_NAME: &str = "canary-rotations.toml";

/// Each decky's rotation counter (0 when never rotated), and where they are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotations {
    pub path: PathBuf,
    counts: BTreeMap<String, u64>,
}

/// Why the counters cannot be read or kept.
#[derive(Debug, thiserror::Error)]
pub enum RotationsError {
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, String),
    #[error("{0} is not a table of decky = counter: {1}")]
    Invalid(PathBuf, String),
    #[error("cannot write {0}: {1}")]
    Write(PathBuf, String),
}

impl Rotations {
    /// The counters kept beside `seed`; none yet when the file is missing.
    pub fn beside(seed: &Path) -> Result<Rotations, RotationsError> {
        let dir = seed.parent().unwrap_or(Path::new("."));
        Rotations::read(dir.join(FILE_NAME))
    }

    fn read(path: PathBuf) -> Result<Rotations, RotationsError> {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(RotationsError::Read(path, e.to_string())),
        };
        match toml::from_str::<BTreeMap<String, u64>>(&text) {
            Ok(counts) => Ok(Rotations { path, counts }),
            Err(e) => Err(RotationsError::Invalid(path, e.message().to_string())),
        }
    }

    pub fn of(&self, decky: &str) -> u64 {
        self.counts.get(decky).copied().unwrap_or(0)
    }

    /// Counts one more rotation of `decky`.
    pub fn bump(&mut self, decky: &str) {
        *self.counts.entry(decky.to_string()).or_default() += 1;
    }

    /// Writes the counters: a new file (0600) renamed over the old one.
    pub fn save(&self) -> Result<(), RotationsError> {
        let fail = |e: std::io::Error| RotationsError::Write(self.path.clone(), e.to_string());
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let mut text = String::from(
            "# Written by `deckhand apply --rotate-canaries`: how many times each decky's\n# canaries were rotated. With the seed it makes the tokens: keep it, keep it private.\n",
        );
        for (decky, n) in &self.counts {
            text.push_str(&format!("{} = {n}\n", toml_key(decky)));
        }
        let mut file = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
        std::io::Write::write_all(&mut file, text.as_bytes()).map_err(fail)?;
        file.persist(&self.path).map_err(|e| fail(e.error))?;
        Ok(())
    }
}

/// A decky name as a TOML key, quoted.
fn toml_key(name: &str) -> String {
    toml::Value::String(name.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_start_at_zero_and_are_kept_across_reads() {
        let dir = tempfile::tempdir().unwrap();
        let seed = dir.path().join("seed");
        let mut r = Rotations::beside(&seed).unwrap();
        assert_eq!(r.of("web-01"), 0);
        r.bump("web-01");
        r.bump("web-01");
        r.bump("db.02");
        r.save().unwrap();
        let again = Rotations::beside(&seed).unwrap();
        assert_eq!(
            (again.of("web-01"), again.of("db.02"), again.of("x")),
            (2, 1, 0)
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&again.path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the counters are private");
    }

    #[test]
    fn a_broken_file_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), "web = \"x\"\n").unwrap();
        let err = Rotations::beside(&dir.path().join("seed")).unwrap_err();
        assert!(err.to_string().contains(FILE_NAME), "{err}");
    }
}
