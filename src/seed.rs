//! The fleet's secret seed (`[fleet] seed_file`, SPEC §11): every value
//! deckhand makes up for a decky (template randoms, canary tokens) is derived
//! from it with the decky and path, so each decky differs from the next, the
//! same plan comes out every time, and nobody without the seed can tell the
//! next value from the last.
//!
//! The file is a secret kept out of the repository: refused when it is
//! missing, too short, or readable by anyone but its owner and group.

use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Fewest bytes a seed file may hold.
pub const MIN_BYTES: usize = 16;

/// The seed's bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Seed(Vec<u8>);

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seed(..)")
    }
}

impl Seed {
    /// Reads the seed file at `path`, refusing one anybody may read.
    pub fn read(path: &Path) -> Result<Seed, String> {
        use std::os::unix::fs::PermissionsExt as _;
        let shown = path.display();
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("seed file {shown} does not exist"),
            _ => format!("seed file {shown}: {e}"),
        })?;
        let mode = meta.permissions().mode();
        if mode & 0o004 != 0 {
            return Err(format!(
                "seed file {shown} is readable by everyone (mode {:04o})",
                mode & 0o7777
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| format!("seed file {shown}: {e}"))?;
        if bytes.len() < MIN_BYTES {
            return Err(format!(
                "seed file {shown} holds {} bytes, fewer than {MIN_BYTES}",
                bytes.len()
            ));
        }
        Ok(Seed(bytes))
    }

    /// A seed from bytes (tests).
    pub fn from_bytes(bytes: &[u8]) -> Seed {
        Seed(bytes.to_vec())
    }

    /// `n` bytes for `purpose` of (`decky`, `path`), the `index`th such draw.
    pub fn derive(&self, purpose: &str, decky: &str, path: &str, index: u32, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n);
        let mut block = 0u32;
        while out.len() < n {
            let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("any key length");
            for part in [purpose, decky, path] {
                mac.update(&(part.len() as u64).to_be_bytes());
                mac.update(part.as_bytes());
            }
            mac.update(&index.to_be_bytes());
            mac.update(&block.to_be_bytes());
            out.extend_from_slice(&mac.finalize().into_bytes());
            block += 1;
        }
        out.truncate(n);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_differ_by_decky_path_and_index_and_repeat_exactly() {
        let seed = Seed::from_bytes(b"0123456789abcdef");
        let a = seed.derive("t", "web-01", "/root/x", 0, 40);
        assert_eq!(a.len(), 40);
        assert_eq!(a, seed.derive("t", "web-01", "/root/x", 0, 40));
        assert_ne!(a, seed.derive("t", "web-02", "/root/x", 0, 40));
        assert_ne!(a, seed.derive("t", "web-01", "/root/y", 0, 40));
        assert_ne!(a, seed.derive("t", "web-01", "/root/x", 1, 40));
        assert_ne!(
            a,
            Seed::from_bytes(b"fedcba9876543210").derive("t", "web-01", "/root/x", 0, 40)
        );
        // Fields are length-prefixed: moving a character across them differs.
        assert_ne!(
            seed.derive("t", "ab", "c", 0, 8),
            seed.derive("t", "a", "bc", 0, 8)
        );
    }

    #[test]
    fn a_world_readable_short_or_missing_seed_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("seed");
        assert!(Seed::read(&p).unwrap_err().contains("does not exist"));
        std::fs::write(&p, b"short").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(Seed::read(&p).unwrap_err().contains("fewer than 16"));
        std::fs::write(&p, b"0123456789abcdef0123").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Seed::read(&p).unwrap_err();
        assert!(err.contains("readable by everyone (mode 0644)"), "{err}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(Seed::read(&p).is_ok());
    }
}
