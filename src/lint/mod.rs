//! The realism lint (SPEC §11): what gives a decoy away, read from the
//! desired state alone (no engine). Each finding names the decky, the file
//! when there is one, and how to fix it.

mod bait;
mod identity;
mod mac;

use serde::Serialize;

use crate::desired::DesiredState;

/// What kind of giveaway a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// One bait's bytes on several deckies.
    SameContent,
    /// One modification time on several deckies.
    SameMtime,
    /// Many files of one decky with one modification time.
    OneMtime,
    /// A file under a user's home owned by root (and the directories
    /// deckhand creates for it with it).
    RootInHome,
    /// Hostname, banner and persona claim different systems.
    IdentityMismatch,
    /// Several deckies of one MAC vendor on one LAN.
    SameMacVendor,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SameContent => "same-content",
            Kind::SameMtime => "same-mtime",
            Kind::OneMtime => "one-mtime",
            Kind::RootInHome => "root-in-home",
            Kind::IdentityMismatch => "identity-mismatch",
            Kind::SameMacVendor => "same-mac-vendor",
        }
    }
}

/// One giveaway: where it is, what it is, how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    pub decky: String,
    pub file: Option<String>,
    pub kind: Kind,
    pub message: String,
    pub fix: String,
}

/// Every finding of `desired`, by decky, file and kind.
pub fn lint(desired: &DesiredState) -> Vec<Finding> {
    let mut out = bait::findings(&desired.files);
    out.extend(identity::findings(&desired.containers));
    out.extend(mac::findings(desired));
    out.sort();
    out.dedup();
    out
}

/// `a, b and c`.
fn listed(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
