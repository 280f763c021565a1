//! An OpenSSH ed25519 private key (the `openssh-key-v1` format, unencrypted,
//! as `ssh-keygen -t ed25519 -N ''` writes it), and its fingerprint.

use base64::Engine as _;
use sha2::Digest as _;

const MAGIC: &[u8] = b"openssh-key-v1\0";
const KEY_TYPE: &str = "ssh-ed25519";

/// A key pair made from a 32-byte seed.
pub struct Key {
    seed: [u8; 32],
    public: [u8; 32],
    check: [u8; 4],
}

impl Key {
    pub fn from_seed(seed: &[u8], check: &[u8]) -> Key {
        let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(seed)
            .expect("an ed25519 seed is any 32 bytes");
        let public = ring::signature::KeyPair::public_key(&pair).as_ref();
        Key {
            seed: seed.try_into().expect("32 bytes"),
            public: public
                .try_into()
                .expect("an ed25519 public key is 32 bytes"),
            check: check.try_into().expect("4 bytes"),
        }
    }

    fn public_blob(&self) -> Vec<u8> {
        let mut blob = Vec::new();
        string(&mut blob, KEY_TYPE.as_bytes());
        string(&mut blob, &self.public);
        blob
    }

    /// What sshd logs when the key is offered: `SHA256:` and unpadded base64.
    pub fn fingerprint(&self) -> String {
        fingerprint_of_blob(&self.public_blob())
    }

    /// The private key file, with `comment`.
    pub fn private_pem(&self, comment: &str) -> String {
        let mut private = Vec::new();
        private.extend_from_slice(&self.check);
        private.extend_from_slice(&self.check);
        string(&mut private, KEY_TYPE.as_bytes());
        string(&mut private, &self.public);
        string(&mut private, &[&self.seed[..], &self.public[..]].concat());
        string(&mut private, comment.as_bytes());
        let mut pad = 1u8;
        while private.len() % 8 != 0 {
            private.push(pad);
            pad += 1;
        }
        let mut all = MAGIC.to_vec();
        string(&mut all, b"none");
        string(&mut all, b"none");
        string(&mut all, b"");
        all.extend_from_slice(&1u32.to_be_bytes());
        string(&mut all, &self.public_blob());
        string(&mut all, &private);
        let body = base64::engine::general_purpose::STANDARD.encode(all);
        let mut out = String::from("-----BEGIN OPENSSH PRIVATE KEY-----\n");
        for line in body.as_bytes().chunks(70) {
            out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            out.push('\n');
        }
        out.push_str("-----END OPENSSH PRIVATE KEY-----\n");
        out
    }
}

fn string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn fingerprint_of_blob(blob: &[u8]) -> String {
    let digest = sha2::Sha256::digest(blob);
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
    )
}

/// The fingerprint of the public key in an OpenSSH private key file, or
/// `None` when `text` is not one.
pub fn fingerprint(text: &str) -> Option<String> {
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()?;
    let mut cursor = Cursor(bytes.strip_prefix(MAGIC)?);
    for _ in 0..3 {
        cursor.string()?; // cipher, kdf, kdf options
    }
    cursor.take(4)?; // the number of keys
    Some(fingerprint_of_blob(cursor.string()?))
}

/// Reads the wire format: bytes, and strings with a u32 length first.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let head = self.0.get(..n)?;
        self.0 = &self.0[n..];
        Some(head)
    }

    fn string(&mut self) -> Option<&'a [u8]> {
        let len = u32::from_be_bytes(self.take(4)?.try_into().ok()?);
        self.take(len as usize)
    }
}
