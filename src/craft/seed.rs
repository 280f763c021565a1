//! `[fleet] seed_file`: the secret every random value of the fleet's bait is
//! derived from. It must exist, hold enough bytes, and not be world-readable.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Fewest bytes a seed file may hold.
pub const MIN_SEED_BYTES: usize = 16;

/// The seed's bytes. Never printed: `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct Seed(Vec<u8>);

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Seed({} bytes)", self.0.len())
    }
}

impl Seed {
    pub fn from_bytes(bytes: Vec<u8>) -> Seed {
        Seed(bytes)
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Why a seed file is refused; each says what to do in [`SeedError::help`].
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("seed file {0} does not exist")]
    Missing(PathBuf),
    #[error("seed file {0} cannot be read: {1}")]
    Unreadable(PathBuf, String),
    #[error("seed file {0} is not a regular file")]
    NotAFile(PathBuf),
    #[error("seed file {0} is world-readable (mode {1:04o})")]
    WorldReadable(PathBuf, u32),
    #[error("seed file {0} holds {1} bytes, fewer than {MIN_SEED_BYTES}")]
    TooShort(PathBuf, usize),
}

impl SeedError {
    pub fn help(&self) -> String {
        match self {
            SeedError::WorldReadable(p, _) => format!("chmod 600 {}", p.display()),
            SeedError::Unreadable(p, _) => format!("make {} readable by you", p.display()),
            _ => format!(
                "create it: head -c 32 /dev/urandom > {p} && chmod 600 {p} (and keep it out of git)",
                p = self.path().display()
            ),
        }
    }

    fn path(&self) -> &Path {
        match self {
            SeedError::Missing(p)
            | SeedError::Unreadable(p, _)
            | SeedError::NotAFile(p)
            | SeedError::WorldReadable(p, _)
            | SeedError::TooShort(p, _) => p,
        }
    }
}

/// Reads the seed at `path`, refusing a missing, world-readable or short one.
pub fn read(path: &Path) -> Result<Seed, SeedError> {
    let p = path.to_path_buf();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(SeedError::Missing(p)),
        Err(e) => return Err(SeedError::Unreadable(p, e.kind().to_string())),
    };
    if !meta.is_file() {
        return Err(SeedError::NotAFile(p));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o004 != 0 {
        return Err(SeedError::WorldReadable(p, mode));
    }
    let bytes =
        std::fs::read(path).map_err(|e| SeedError::Unreadable(p.clone(), e.kind().to_string()))?;
    if bytes.len() < MIN_SEED_BYTES {
        return Err(SeedError::TooShort(p, bytes.len()));
    }
    Ok(Seed(bytes))
}

/// Makes a new seed at `path` (32 random bytes, mode 0600, its directory
/// made as needed) unless one is there; whether it made one.
pub fn create_if_missing(path: &Path) -> std::io::Result<bool> {
    use std::io::{Read as _, Write as _};
    use std::os::unix::fs::OpenOptionsExt;
    if path.exists() {
        return Ok(false);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(&bytes)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(mode: u32, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("seed");
        std::fs::write(&p, bytes).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        (dir, p)
    }

    #[test]
    fn a_private_seed_is_read() {
        let (_d, p) = file(0o600, &[7; 32]);
        assert_eq!(read(&p).unwrap(), Seed(vec![7; 32]));
    }

    #[test]
    fn a_world_readable_seed_is_refused_with_chmod_as_help() {
        let (_d, p) = file(0o644, &[7; 32]);
        let err = read(&p).unwrap_err();
        assert!(matches!(err, SeedError::WorldReadable(_, 0o644)), "{err}");
        assert!(err.help().starts_with("chmod 600"), "{}", err.help());
    }

    #[test]
    fn a_missing_or_short_seed_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = read(&dir.path().join("nope")).unwrap_err();
        assert!(matches!(err, SeedError::Missing(_)), "{err}");
        assert!(err.help().contains("/dev/urandom"), "{}", err.help());
        let (_d, p) = file(0o600, b"short");
        assert!(matches!(read(&p).unwrap_err(), SeedError::TooShort(_, 5)));
    }

    #[test]
    fn a_created_seed_is_private_random_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".deckhand/seed");
        assert!(create_if_missing(&p).unwrap());
        let first = read(&p).unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_ne!(first, Seed(vec![0; 32]));
        assert!(!create_if_missing(&p).unwrap());
        assert_eq!(read(&p).unwrap(), first);
    }

    #[test]
    fn the_seed_is_never_printed() {
        assert_eq!(
            format!("{:?}", Seed(b"topsecretbytes!!".to_vec())),
            "Seed(16 bytes)"
        );
    }
}
