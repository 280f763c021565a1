//! Values derived from the seed: HMAC-SHA256 over the decky, the path and
//! what the value is for, so that each decky's bait differs and stays the
//! same from one plan to the next.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::seed::Seed;

/// HMAC-SHA256 of `message` under `key` (RFC 2104).
fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// `len` bytes for (`decky`, `path`, `purpose`): the same inputs give the
/// same bytes, any other input unrelated ones.
pub fn bytes(seed: &Seed, decky: &str, path: &str, purpose: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut block = 0u32;
    while out.len() < len {
        let message = format!("deckhand/v1\0{decky}\0{path}\0{purpose}\0{block}");
        out.extend_from_slice(&hmac(seed.bytes(), message.as_bytes()));
        block += 1;
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn each_decky_and_path_gets_its_own_stable_bytes() {
        let seed = Seed::from_bytes(vec![1; 32]);
        let a = bytes(&seed, "web-01", "/etc/x", "hex0", 40);
        assert_eq!(a.len(), 40);
        assert_eq!(a, bytes(&seed, "web-01", "/etc/x", "hex0", 40));
        assert_ne!(a, bytes(&seed, "web-02", "/etc/x", "hex0", 40));
        assert_ne!(a, bytes(&seed, "web-01", "/etc/y", "hex0", 40));
        assert_ne!(
            a,
            bytes(
                &Seed::from_bytes(vec![2; 32]),
                "web-01",
                "/etc/x",
                "hex0",
                40
            )
        );
    }
}
