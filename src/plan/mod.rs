//! The plan: plain data saying what apply will do, and why.
//!
//! Built by [`planner::plan`] from the desired and live states; drawn by the
//! renderers; executed as is by `apply`. Nothing here talks to the engine.

pub mod checks;
mod error;
mod file_steps;
mod files;
mod lans;
pub mod networks;
mod notes;
pub mod planner;
mod removals;
mod spec_diff;

use crate::desired::{ContainerSpec, FileContent, NetworkSpec};

pub use error::PlanError;
pub use files::rfc3339;
pub use planner::plan;
pub use removals::network_removals;
pub use spec_diff::reasons as spec_changes;

/// Everything one apply would do to one fleet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub fleet: String,
    /// The engines this plan covers, `local` first (SPEC §6).
    pub hosts: Vec<String>,
    /// Engines of the fleet that could not be planned (unreachable, locked).
    pub unplanned: Vec<String>,
    /// Grouped by host, in the order of `hosts`.
    pub changes: Vec<Change>,
    /// Things the operator should know that are not changes (e.g. a missing record).
    pub notes: Vec<String>,
    /// Files changed by someone else and left as found (`on_drift = "report"`).
    pub drift: Vec<Drift>,
    /// Deckies over their budget (SPEC §8): not planned, their steps skipped.
    pub degraded: Vec<Degraded>,
    /// Deckies with a live inbound session (SPEC §11): their replaces,
    /// restarts and restores wait until it ends.
    pub held: Vec<Held>,
}

/// A decky an intruder is engaged with: what of its plan waits, and for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub host: String,
    pub decky: String,
    /// The live sessions: peer, port, since when.
    pub sessions: Vec<crate::engagement::Engagement>,
    /// The changes held back.
    pub changes: Vec<Change>,
    /// Its base as the host sees it: watch looks again until the session ends.
    pub base: crate::engine::Running,
}

/// A decky that went over its budget this pass: nothing of it is planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Degraded {
    pub host: String,
    pub decky: String,
    /// What took too long: "reads" or "diffs".
    pub what: String,
    /// The budget, in words (`10s`).
    pub limit: String,
}

/// What a change does; a closed set (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Create,
    Update,
    Replace,
    Delete,
    Start,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::Start => "start",
        }
    }
}

/// What a change acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Object {
    Network {
        name: String,
    },
    /// A decky's base container.
    Decky {
        decky: String,
    },
    Service {
        decky: String,
        service: String,
    },
    Singleton {
        service: String,
    },
    File {
        decky: String,
        container: String,
        path: String,
    },
}

impl Object {
    /// The `kind` word of the JSON plan.
    pub fn kind(&self) -> &'static str {
        match self {
            Object::Network { .. } => "network",
            Object::Decky { .. } => "decky",
            Object::Service { .. } => "service",
            Object::Singleton { .. } => "singleton",
            Object::File { .. } => "file",
        }
    }

    pub fn decky(&self) -> Option<&str> {
        match self {
            Object::Decky { decky }
            | Object::Service { decky, .. }
            | Object::File { decky, .. } => Some(decky),
            _ => None,
        }
    }

    pub fn service(&self) -> Option<&str> {
        match self {
            Object::Service { service, .. } | Object::Singleton { service } => Some(service),
            _ => None,
        }
    }

    pub fn path(&self) -> Option<&str> {
        match self {
            Object::File { path, .. } => Some(path),
            _ => None,
        }
    }
}

/// Whether `--target` puts this decky in scope: every decky when there are no
/// targets; else only the named ones (and nothing outside a decky, such as a
/// singleton).
pub fn in_targets(targets: &[String], decky: Option<&str>) -> bool {
    targets.is_empty() || decky.is_some_and(|d| targets.iter().any(|t| t == d))
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The engine the step runs on.
    pub host: String,
    pub action: Action,
    pub object: Object,
    /// Why, in words: `not live`, `image a -> b`, `env SSH_PASSWORD changed`.
    pub reasons: Vec<String>,
    pub detail: Detail,
}

impl Change {
    /// The image a create or replace step runs, when deckhand builds it from
    /// a context: (image, how it is built).
    pub fn built_image(&self) -> Option<(&str, &crate::build::Build)> {
        match (&self.action, &self.detail) {
            (
                Action::Create | Action::Replace,
                Detail::Container {
                    spec: Some(spec), ..
                },
            ) => Some((&spec.image, spec.build.as_ref()?)),
            _ => None,
        }
    }

    /// The container the step acts on, or holds the file; `None` for a network.
    pub fn container(&self) -> Option<&str> {
        match (&self.detail, &self.object) {
            (Detail::Container { name, .. }, _) => Some(name),
            (Detail::Lans(l), _) => Some(&l.container),
            (_, Object::File { container, .. }) => Some(container),
            _ => None,
        }
    }
}

/// What the step needs to run, and what the renderers show beyond the reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    Network(NetworkSpec),
    /// A network replaced: removed and created from `spec`, its containers
    /// disconnected first and connected again at these addresses
    /// ("" = the engine's choice). No container is recreated.
    NetworkReplace {
        spec: NetworkSpec,
        reconnect: std::collections::BTreeMap<String, String>,
    },
    /// The container to act on; `spec` is what a create or replace creates.
    Container {
        name: String,
        spec: Option<std::sync::Arc<ContainerSpec>>,
    },
    File(FileChange),
    /// A base's LANs joined and left live (no recreate, no restart).
    Lans(LanChange),
}

/// The networks a running base joins and leaves; a new address on one is a
/// leave and a join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanChange {
    pub container: String,
    /// Network and address to join at ("" = the engine's choice).
    pub attach: std::collections::BTreeMap<String, String>,
    pub detach: Vec<String>,
}

/// A file step: what to write (none for a delete) and how it differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub write: Option<FileContent>,
    pub sensitive: bool,
    pub content: ContentChange,
    /// Someone else's content is live: a copy is kept first (SPEC §8).
    pub evidence: Option<EvidenceOf>,
    /// What stands in the way and is removed first: a directory at the path,
    /// or a file where a parent directory belongs.
    pub clear: Option<String>,
    /// Why the step cannot be done: apply fails it, touching nothing.
    pub blocked: Option<String>,
}

impl FileChange {
    pub fn new(write: Option<FileContent>, sensitive: bool, content: ContentChange) -> FileChange {
        FileChange {
            write,
            sensitive,
            content,
            evidence: None,
            clear: None,
            blocked: None,
        }
    }
}

/// What to copy as evidence before a step changes it: a path in a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceOf {
    pub path: String,
    pub container_id: String,
}

/// A file someone else changed that `on_drift = "report"` leaves as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub host: String,
    pub decky: String,
    pub container: String,
    pub path: String,
    /// What differs, in words.
    pub what: Vec<String>,
    /// Its content is not deckhand's: a copy is kept.
    pub evidence: Option<EvidenceOf>,
    pub sensitive: bool,
}

/// How a file's content changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentChange {
    Unchanged,
    /// A unified diff of two text versions.
    TextDiff(String),
    /// Binary or sensitive: sizes and short digests only, never bytes.
    Opaque {
        before: Option<Digest>,
        after: Option<Digest>,
    },
    /// A canary file (SPEC §11): its id and the size of its new content,
    /// and no digest of either side (a digest could be searched back to
    /// the token).
    Canary {
        id: String,
        size: usize,
    },
}

/// Size and short sha256 of some content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub size: usize,
    /// `None`: live content longer than any declared content can be, read
    /// only that far (`size` is then that limit plus one).
    pub sha256: Option<String>,
}

impl Digest {
    pub fn of(bytes: &[u8]) -> Digest {
        use sha2::Digest as _;
        let full = hex::encode(sha2::Sha256::digest(bytes));
        Digest {
            size: bytes.len(),
            sha256: Some(full[..12].to_string()),
        }
    }

    /// The short sha256 as shown to an operator.
    pub fn hash(&self) -> &str {
        self.sha256
            .as_deref()
            .unwrap_or("none (over 64 MiB, read no further)")
    }

    /// The digest of live content as it was read.
    pub fn of_live(live: &crate::live::LiveContent) -> Digest {
        Digest {
            size: usize::try_from(live.size).unwrap_or(usize::MAX),
            sha256: live.sha256.as_ref().map(|s| s[..12].to_string()),
        }
    }
}

/// Counts for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub replace: usize,
    pub destroy: usize,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        Summary::of(&self.changes)
    }

    /// Whether apply has anything to do: changes, or drift to report (and
    /// keep evidence of).
    pub fn has_work(&self) -> bool {
        !self.changes.is_empty() || !self.drift.is_empty()
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Whether this plan spans more than one engine (renderers then name them).
    pub fn several_hosts(&self) -> bool {
        self.hosts.len() > 1
    }

    /// The steps of one engine, as a plan of their own (what apply runs there).
    pub fn for_host(&self, host: &str) -> Plan {
        Plan {
            fleet: self.fleet.clone(),
            hosts: vec![host.to_string()],
            unplanned: vec![],
            changes: self
                .changes
                .iter()
                .filter(|c| c.host == host)
                .cloned()
                .collect(),
            notes: vec![],
            drift: self
                .drift
                .iter()
                .filter(|d| d.host == host)
                .cloned()
                .collect(),
            degraded: self
                .degraded
                .iter()
                .filter(|d| d.host == host)
                .cloned()
                .collect(),
            held: self
                .held
                .iter()
                .filter(|h| h.host == host)
                .cloned()
                .collect(),
        }
    }

    /// One plan of several engines' plans, in the order given. With more than
    /// one, each note says which engine it is about.
    pub fn merge(fleet: &str, plans: Vec<Plan>) -> Plan {
        let several = plans.len() > 1;
        let mut merged = Plan {
            fleet: fleet.to_string(),
            ..Plan::default()
        };
        for p in plans {
            for note in p.notes {
                let note = match p.hosts.first() {
                    Some(h) if several => format!("host {h}: {note}"),
                    _ => note,
                };
                merged.notes.push(note);
            }
            merged.hosts.extend(p.hosts);
            match merged.changes.is_empty() {
                // One engine's plan (the usual case) moves over whole.
                true => merged.changes = p.changes,
                false => merged.changes.extend(p.changes),
            }
            merged.drift.extend(p.drift);
            merged.degraded.extend(p.degraded);
            merged.held.extend(p.held);
        }
        merged
    }
}

impl Summary {
    /// Counts `changes` by action, as the summary line does.
    pub fn of<'a>(changes: impl IntoIterator<Item = &'a Change>) -> Summary {
        let mut s = Summary::default();
        for c in changes {
            match c.action {
                Action::Create => s.add += 1,
                Action::Update | Action::Start => s.change += 1,
                Action::Replace => s.replace += 1,
                Action::Delete => s.destroy += 1,
            }
        }
        s
    }
}
