//! The desired state: what the TOML file(s) describe, validated and resolved.
//!
//! Everything here is plain data built by `config`; nothing refers back to TOML.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A validated fleet, ready to be compared with the live state.
#[derive(Debug, Clone)]
pub struct DesiredState {
    pub fleet: String,
    /// Networks the file declares (created when missing, never deleted).
    pub networks: BTreeMap<String, NetworkSpec>,
    /// Bases, services and singletons, in creation order (bases before their services).
    pub containers: Vec<Arc<ContainerSpec>>,
    /// Every file entry, present or absent.
    pub files: Vec<FileSpec>,
    /// Names of all deckies, in name order.
    pub deckies: Vec<String>,
    /// Deckies of the file that `destroy` takes down: planned away, and
    /// still known as targets.
    pub destroying: Vec<String>,
    /// Where and how much evidence is kept (SPEC §8).
    pub evidence: EvidenceSettings,
    /// What one decky's reads and diffs may cost in a pass (SPEC §8).
    pub budget: crate::budget::Budget,
    /// Whether a live inbound session holds a decky's replaces, restarts
    /// and restores (SPEC §11; `[fleet] hold_on_session`, default true).
    pub hold_on_session: bool,
    /// What living beside DECNET needs (SPEC §7).
    pub beside: Beside,
    /// What plan and apply do with an image the engine lacks (`[fleet] pull`).
    pub pull: Pull,
    /// The rotation applied to this desired state (SPEC §11), if any.
    pub rotation: crate::rotation::Applied,
}

/// What living beside DECNET needs (SPEC §7): how the host directories of
/// bind mounts are made, and where DECNET's state file is kept current.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Beside {
    pub artifacts: HostDirs,
    /// `[fleet] decnet_state`: the state file watch keeps current.
    pub decnet_state: Option<std::path::PathBuf>,
}

/// How deckhand makes a missing host directory of a bind mount (and each
/// missing parent): its mode, and its group (`None`: root's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostDirs {
    pub mode: u32,
    pub gid: Option<u32>,
}

impl Default for HostDirs {
    /// 0700 root: readable by nobody else on the host.
    fn default() -> HostDirs {
        HostDirs {
            mode: 0o700,
            gid: None,
        }
    }
}

/// `[fleet] pull`: whether apply pulls an image the engine does not have.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Pull {
    /// The plan says the image will be pulled; apply pulls it first.
    #[default]
    Missing,
    /// An image the engine lacks is a plan error naming it.
    Never,
}

/// Where evidence goes, the most one capture keeps, and the most the
/// whole directory holds (allocated bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceSettings {
    pub dir: std::path::PathBuf,
    pub max_bytes: u64,
    pub quota_bytes: u64,
}

impl Default for EvidenceSettings {
    fn default() -> EvidenceSettings {
        EvidenceSettings {
            dir: std::path::PathBuf::from(".deckhand/evidence"),
            max_bytes: 256 * 1024 * 1024,
            quota_bytes: 1024 * 1024 * 1024,
        }
    }
}

/// What a plan does with a file someone else changed live.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnDrift {
    /// Keep evidence, then restore the declared file.
    #[default]
    Restore,
    /// Keep evidence, report the drift, leave the file as it was found.
    Report,
    /// Write the file when it is absent; never compare, restore or keep it
    /// as evidence (DECNET's canaries, content meant to change).
    Seed,
}

impl DesiredState {
    /// Fleet `fleet` with these containers and deckies, no files, and every
    /// other setting at its default: what tests build on.
    #[cfg(test)]
    pub fn of(fleet: &str, containers: Vec<ContainerSpec>, deckies: &[&str]) -> DesiredState {
        DesiredState {
            fleet: fleet.into(),
            networks: BTreeMap::new(),
            containers: containers.into_iter().map(Arc::new).collect(),
            files: vec![],
            deckies: deckies.iter().map(|d| d.to_string()).collect(),
            destroying: vec![],
            evidence: Default::default(),
            budget: Default::default(),
            hold_on_session: true,
            beside: Default::default(),
            pull: Default::default(),
            rotation: Default::default(),
        }
    }

    pub fn container(&self, name: &str) -> Option<&ContainerSpec> {
        self.containers
            .iter()
            .find(|c| c.name == name)
            .map(|c| &**c)
    }

    /// This state less the deckies in `targets` (empty: every decky and
    /// singleton): what `destroy` plans towards. Networks stay declared.
    pub fn without_deckies(mut self, targets: &[String]) -> DesiredState {
        let gone = |decky: Option<&str>| {
            targets.is_empty() || decky.is_some_and(|d| targets.iter().any(|t| t == d))
        };
        self.containers.retain(|c| !gone(c.decky.as_deref()));
        self.files.retain(|f| !gone(Some(&f.decky)));
        let (destroying, kept) = self.deckies.into_iter().partition(|d| gone(Some(d)));
        self.destroying = destroying;
        self.deckies = kept;
        self
    }
}

/// A container's log driver and its options.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Logging {
    pub driver: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// A network: created when missing, compared live, replaced when it differs
/// (SPEC §7 "Networks are objects"). As observed, every field the engine
/// reports is set; as desired, `None` leaves the field to the engine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NetworkSpec {
    pub name: String,
    pub driver: String,
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    /// The part of the subnet the engine hands out addresses from.
    pub ip_range: Option<String>,
    /// The host interface of a macvlan or ipvlan network.
    pub parent: Option<String>,
    /// `l2`, `l3` or `l3s` on an ipvlan network.
    pub ipvlan_mode: Option<String>,
    /// No route out through the host (DECNET's MazeNET LANs but the DMZ).
    pub internal: bool,
    /// The driver's options besides `parent` and `ipvlan_mode`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    /// The operator's labels (`deckhand.*` is deckhand's own and not compared).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// What part a managed container plays; also the `deckhand.role` label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Base,
    Service,
    Singleton,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Base => "base",
            Role::Service => "service",
            Role::Singleton => "singleton",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "base" => Some(Role::Base),
            "service" => Some(Role::Service),
            "singleton" => Some(Role::Singleton),
            _ => None,
        }
    }
}

/// The base container of decky `decky` among `containers` (the last one
/// declared): found by decky and role, since `container_name` may name it
/// otherwise.
/// Held as the validator builds them or shared as the desired state holds them.
pub fn base_of<'a, C: Borrow<ContainerSpec>>(
    containers: &'a [C],
    decky: &str,
) -> Option<&'a ContainerSpec> {
    containers
        .iter()
        .map(Borrow::borrow)
        .rev()
        .find(|c| c.decky.as_deref() == Some(decky) && c.role == Role::Base)
}

/// The hostname decky `decky` answers to: its base's, else the decky's name.
pub fn hostname_of<C: Borrow<ContainerSpec>>(containers: &[C], decky: &str) -> String {
    base_of(containers, decky)
        .and_then(|b| b.hostname.clone())
        .unwrap_or_else(|| decky.to_string())
}

/// Everything a managed container is created from. Two equal specs give equal
/// containers; the digest of this value is stored on the container as a label,
/// and the value itself too, so that a replace can name the field that forced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerSpec {
    pub name: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decky: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Runtime settings: capabilities, persona and sysctls, bind mounts,
    /// logging, limits and the rest of SPEC §7.
    #[serde(flatten)]
    pub settings: Box<crate::settings::Settings>,
    /// Bases only: host ports published, `[ip:]host:container[/tcp|udp]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub publish: Vec<String>,
    /// Informational (shown in plans and status): not part of the digest.
    #[serde(skip)]
    pub ports: Vec<u16>,
    /// Bases only: the hostname the decky answers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Bases and singletons: the network joined. Services share their base's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Bases only, instead of `network` and `ip`: every LAN joined, with its
    /// address ("" = the engine's choice). Not part of the digest: joined and
    /// left live, compared with the container's networks as observed.
    #[serde(skip)]
    pub lans: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology: Option<String>,
    /// How `image` is built, for services and bases with `build`. Not part
    /// of the digest: the image tag already names the content and arguments.
    #[serde(skip)]
    pub build: Option<crate::build::Build>,
    /// Services only: the container name of their decky's base, when the
    /// decky names it (`container_name`; DECNET's topology names bases
    /// `decnet_t_<id8>_<decky>`). Not part of the digest: a base under a new
    /// name is a new base, and its services are replaced with it.
    #[serde(skip)]
    pub base: Option<String>,
}

impl ContainerSpec {
    /// The stable digest of this spec: sha256 of its canonical JSON.
    pub fn digest(&self) -> String {
        let json = serde_json::to_vec(self).expect("a spec always serialises");
        hex::encode(Sha256::digest(json))
    }

    /// A spec with only a name, role, place and image set; the rest unset.
    pub fn minimal(
        name: &str,
        role: Role,
        decky: Option<&str>,
        service: Option<&str>,
        image: &str,
    ) -> ContainerSpec {
        ContainerSpec {
            name: name.into(),
            role,
            decky: decky.map(Into::into),
            service: service.map(Into::into),
            image: image.into(),
            entrypoint: None,
            command: None,
            env: BTreeMap::new(),
            settings: Default::default(),
            publish: Vec::new(),
            ports: vec![],
            hostname: None,
            network: None,
            ip: None,
            lans: BTreeMap::new(),
            topology: None,
            build: None,
            base: None,
        }
    }

    /// The networks a base or singleton joins, with the address asked on each
    /// ("" = the engine's choice): its LANs, or its one network.
    pub fn joins(&self) -> BTreeMap<String, String> {
        match &self.network {
            Some(n) if self.lans.is_empty() => {
                BTreeMap::from([(n.clone(), self.ip.clone().unwrap_or_default())])
            }
            _ => self.lans.clone(),
        }
    }

    /// The base container a service joins; `None` for bases and singletons.
    pub fn base_name(&self) -> Option<&str> {
        match self.role {
            Role::Service => self.base.as_deref().or(self.decky.as_deref()),
            _ => None,
        }
    }
}

/// One `files."<path>"` entry of a decky.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    pub decky: String,
    /// "base" or the service the file lives in.
    pub target: String,
    /// The container name that holds the file.
    pub container: String,
    pub path: String,
    pub sensitive: bool,
    pub ensure: Ensure,
    /// What to do when someone else changed it live.
    pub on_drift: OnDrift,
    /// The id of the canary planted in it (SPEC §11); its token is never shown.
    pub canary: Option<String>,
}

/// Whether a file must exist (with this content and metadata) or must not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ensure {
    Present(FileContent),
    Absent,
}

/// The bytes and metadata of a file to drop. `Debug` shows the size of the
/// bytes, never them: they may be a canary or a sensitive file.
#[derive(Clone, PartialEq, Eq)]
pub struct FileContent {
    pub bytes: Vec<u8>,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: Mtime,
}

/// When the file claims to have been modified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mtime {
    /// Seconds since the epoch; compared with the live file.
    Absolute(i64),
    /// Seconds relative to the time of writing; not compared afterwards.
    /// No `mtime` at all is an offset of zero.
    Offset(i64),
}

impl std::fmt::Debug for FileContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileContent")
            .field("bytes", &format_args!("<{} bytes>", self.bytes.len()))
            .field("mode", &format_args!("{:04o}", self.mode))
            .field("uid", &self.uid)
            .field("gid", &self.gid)
            .field("mtime", &self.mtime)
            .finish()
    }
}

impl FileContent {
    /// The sha256 of the content, hex.
    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(&self.bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_with_its_own_container_name_is_found_by_decky_and_role() {
        let mut base = ContainerSpec::minimal("srv-web", Role::Base, Some("web"), None, "i:1");
        base.hostname = Some("files-01".into());
        // A service of another decky whose container happens to be called `web`.
        let other = ContainerSpec::minimal("web", Role::Service, Some("db"), Some("ssh"), "i:1");
        let containers = [base, other];
        assert_eq!(base_of(&containers, "web").unwrap().name, "srv-web");
        assert_eq!(hostname_of(&containers, "web"), "files-01");
        assert_eq!(hostname_of(&containers, "db"), "db");
        assert!(base_of(&containers, "nope").is_none());
    }

    #[test]
    fn file_content_debug_shows_the_size_never_the_bytes() {
        let c = FileContent {
            bytes: b"password=Hunter2Secret\n".to_vec(),
            mode: 0o600,
            uid: 0,
            gid: 0,
            mtime: Mtime::Offset(0),
        };
        let shown = format!("{c:?} {:#?}", Ensure::Present(c.clone()));
        assert!(
            !shown.contains("Hunter2") && !shown.contains("104, 117"),
            "{shown}"
        );
        assert!(
            shown.contains("<23 bytes>") && shown.contains("0600"),
            "{shown}"
        );
    }
}
