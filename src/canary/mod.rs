//! Canaries (SPEC §11): bait that tells on whoever uses it. A file with
//! `canary = "aws" | "ssh_key" | "password" | "url"` gets realistic content
//! around a token unique to its decky, path and rotation, derived from the
//! fleet's seed. Plans, events and logs name a canary only by its id; the
//! token is shown by `deckhand canaries` alone, for the alerting side.

pub mod content;
mod rotate;
pub mod rotations;
mod ssh_key;

use crate::craft::Seed;

pub use content::planted;
pub use rotate::{rotate, RotateError};
pub use rotations::{Rotations, RotationsError};
pub use ssh_key::fingerprint;

/// What a canary looks like, and so where its token is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// An `~/.aws/credentials` profile; the token is its access key id.
    Aws,
    /// An OpenSSH ed25519 private key; the token is its public key's
    /// SHA256 fingerprint, which sshd logs when the key is offered.
    SshKey,
    /// A password line in a client config; the token is the password.
    Password,
    /// A link in a notes file; the token is the whole URL.
    Url,
}

impl Kind {
    pub const CHOICES: &'static str = "\"aws\", \"ssh_key\", \"password\", \"url\"";

    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "aws" => Kind::Aws,
            "ssh_key" => Kind::SshKey,
            "password" => Kind::Password,
            "url" => Kind::Url,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Aws => "aws",
            Kind::SshKey => "ssh_key",
            Kind::Password => "password",
            Kind::Url => "url",
        }
    }
}

/// A canary's secret token. Never printed by accident: `Debug` hides it;
/// [`Token::reveal`] is for `deckhand canaries` only.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(hidden)")
    }
}

impl Token {
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

/// One canary planted in one decky's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canary {
    /// Names the canary in plans and events; tells nothing of the token.
    pub id: String,
    pub kind: Kind,
    pub decky: String,
    pub path: String,
    /// How many times this decky's canaries were rotated.
    pub rotation: u64,
    pub token: Token,
}

/// Every canary of a fleet, and what is needed to issue new ones.
#[derive(Debug, Clone, Default)]
pub struct Canaries {
    pub list: Vec<Canary>,
    /// The seed they were derived from (present when there is a canary).
    pub seed: Option<Seed>,
    /// Where each decky's rotation counter is kept.
    pub rotations: Option<Rotations>,
}

/// The id of the canary of (`decky`, `path`) at `rotation`: `cn-` and ten
/// hex digits, derived apart from the token so that it reveals nothing.
pub fn id(seed: &Seed, decky: &str, path: &str, rotation: u64) -> String {
    let bytes = crate::craft::derive::bytes(seed, decky, path, &format!("canary-id/{rotation}"), 5);
    format!("cn-{}", hex::encode(bytes))
}
