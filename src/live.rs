//! The live state: what the engine holds for one fleet, in deckhand's own types.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use sha2::Digest as _;

use crate::desired::{ContainerSpec, Role};
use crate::record::FileRecord;

/// One fleet as observed on one engine.
#[derive(Debug, Clone, Default)]
pub struct LiveState {
    /// This fleet's containers (by `deckhand.fleet` label), by name.
    pub containers: BTreeMap<String, LiveContainer>,
    /// Names of every network on the engine.
    pub networks: BTreeSet<String>,
    /// Every network on the engine as it is, by name (SPEC §7: compared live).
    pub network_specs: BTreeMap<String, crate::desired::NetworkSpec>,
    /// Managed files read back, by (container, path).
    pub files: BTreeMap<(String, String), LiveFile>,
    /// What deckhand dropped before; `None` when there is no record.
    pub record: Option<FileRecord>,
    /// Images deckhand built (`deckhand-build:*`) present on the engine; only
    /// listed when the desired state builds any.
    pub images: BTreeSet<String>,
    /// Deckies whose reads went over their budget (SPEC §8): not read, and
    /// their steps skipped this pass.
    pub over_budget: Vec<OverBudget>,
    /// How long each decky's reads took, by decky: what its diffs may still spend.
    pub read_time: BTreeMap<String, Duration>,
    /// What else the engine holds that the plan could run into (SPEC §4).
    pub engine: crate::observe::neighbours::EngineFacts,
}

/// A decky that went over its budget, and what it went over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverBudget {
    pub decky: String,
    /// What took too long: "reads" or "diffs".
    pub what: String,
    pub limit: Duration,
}

/// A container of this fleet as the engine reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveContainer {
    pub id: String,
    pub name: String,
    pub role: Option<Role>,
    pub decky: Option<String>,
    pub service: Option<String>,
    /// The engine's state word: created, running, exited, …
    pub state: String,
    /// The spec it was created from, when its label could be read.
    pub spec: Option<ContainerSpec>,
    pub digest: Option<String>,
    /// Mount points where a file cannot be written: (destination, why).
    pub unwritable: Vec<(String, String)>,
    /// Who made it, and so whether deckhand may change it.
    pub origin: Origin,
    /// Networks joined, with the address asked for on each ("" = none asked).
    pub lans: BTreeMap<String, String>,
    /// Settings it was created with that a deckhand file cannot express
    /// (`privileged`, `devices`, …): a replace would lose them.
    pub unexpressed: Vec<String>,
    /// The docker-compose project that made it (`com.docker.compose.project`),
    /// when one did: who recreated it, when someone else did.
    pub compose_project: Option<String>,
}

/// Who made a live container.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Origin {
    /// deckhand, with its labels.
    #[default]
    Deckhand,
    /// DECNET's docker-compose, and taken over by `apply --adopt` (in the record).
    Adopted,
    /// DECNET's docker-compose, not taken over: compared with the file, but
    /// changed or removed only by `apply --adopt`.
    Decnet,
}

impl LiveContainer {
    pub fn is_running(&self) -> bool {
        self.state == "running" || self.state == "restarting"
    }
}

/// A file inside a container as read back (from the host or the engine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveFile {
    Missing,
    Present(LiveFileState),
    /// The read failed; the message says why.
    Unreadable(String),
    /// Something that is not a directory stands where a parent directory of
    /// the path belongs (`by`, a `kind`): the path cannot exist.
    Blocked {
        by: String,
        kind: String,
    },
}

/// Content and metadata of a live path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveFileState {
    /// "file", "directory", "symlink", …
    pub kind: String,
    /// A regular file's content as read (empty for anything else).
    pub content: LiveContent,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: i64,
    /// Where a symlink points (as the container sees it), for the evidence record.
    pub link: Option<String>,
}

/// What was read of a live file's content: its size and digest, hashed while
/// it streamed, and only its first bytes. A container says what it likes
/// about a file's size; this is what was actually read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveContent {
    /// Bytes read: the whole size, or `MAX_SOURCE_BYTES + 1` when over.
    pub size: u64,
    /// sha256 (hex) of the whole content; `None` when it is longer than any
    /// declared content can be (`config::MAX_SOURCE_BYTES`): it then differs
    /// from everything deckhand wants or wrote, and reading stopped there.
    pub sha256: Option<String>,
    /// The first bytes, kept for a diff (at most `diff_max_kb`).
    pub head: Vec<u8>,
}

impl LiveContent {
    /// The content of `bytes`, all of it kept.
    pub fn of(bytes: &[u8]) -> LiveContent {
        LiveContent {
            size: bytes.len() as u64,
            sha256: Some(hex::encode(sha2::Sha256::digest(bytes))),
            head: bytes.to_vec(),
        }
    }

    /// Whether `head` is the whole content.
    pub fn whole(&self) -> bool {
        self.sha256.is_some() && self.head.len() as u64 == self.size
    }

    /// Whether the content is the content whose sha256 is `sha256`.
    pub fn is(&self, sha256: &str) -> bool {
        self.sha256.as_deref() == Some(sha256)
    }
}

impl Default for LiveContent {
    fn default() -> LiveContent {
        LiveContent::of(b"")
    }
}
