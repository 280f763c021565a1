//! The TOML file as written: serde types that mirror SPEC §1 key by key.
//!
//! Unknown keys are refused here (`deny_unknown_fields`); every other rule is
//! checked in `validate`, which needs the spans kept by `Spanned`.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub type Key = Spanned<String>;
pub type Table<T> = BTreeMap<Key, Spanned<T>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub fleet: Option<Spanned<RawFleet>>,
    #[serde(default)]
    pub hosts: Table<RawHost>,
    #[serde(default)]
    pub networks: Table<RawNetwork>,
    #[serde(default)]
    pub services: Table<RawService>,
    #[serde(default)]
    pub deckies: Table<Box<RawDecky>>,
    /// Services rotated per decky on a schedule (SPEC §11).
    pub rotation: Option<Spanned<RawRotation>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRotation {
    pub every: Option<Spanned<String>>,
    #[serde(default)]
    pub deckies: Table<RawRotationDecky>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRotationDecky {
    pub pool: Option<Spanned<Vec<Spanned<String>>>>,
    pub active: Option<Spanned<i64>>,
    pub personas: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFleet {
    pub name: Option<Spanned<String>>,
    pub base_image: Option<Spanned<String>>,
    pub network: Option<Spanned<String>>,
    pub services: Option<Spanned<Vec<Spanned<String>>>>,
    pub evidence_dir: Option<Spanned<String>>,
    pub evidence_max_mb: Option<Spanned<i64>>,
    pub evidence_quota_mb: Option<Spanned<i64>>,
    pub on_drift: Option<Spanned<String>>,
    pub logging: Option<Spanned<toml::Value>>,
    pub diff_max_kb: Option<Spanned<i64>>,
    pub decky_budget_s: Option<Spanned<f64>>,
    pub hold_on_session: Option<Spanned<bool>>,
    /// `"missing"` (default) or `"never"`.
    pub pull: Option<Spanned<String>>,
    /// The secret templated bait is derived from (SPEC §11).
    pub seed_file: Option<Spanned<String>>,
    /// Mode and group of bind-mount host directories (SPEC §7).
    pub artifacts: Option<Spanned<RawArtifacts>>,
    /// DECNET's state file, kept current by watch.
    pub decnet_state: Option<Spanned<String>>,
}

/// `[fleet] artifacts = { mode = "2775", group = "decnet" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawArtifacts {
    pub mode: Option<Spanned<toml::Value>>,
    pub group: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHost {
    pub docker_host: Option<Spanned<String>>,
    pub tls: Option<Spanned<RawTls>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    pub ca: Option<Spanned<String>>,
    pub cert: Option<Spanned<String>>,
    pub key: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    pub driver: Option<Spanned<String>>,
    pub subnet: Option<Spanned<String>>,
    pub gateway: Option<Spanned<String>>,
    pub ip_range: Option<Spanned<String>>,
    pub parent: Option<Spanned<String>>,
    pub ipvlan_mode: Option<Spanned<String>>,
    pub internal: Option<Spanned<bool>>,
    pub options: Option<Spanned<BTreeMap<String, String>>>,
    pub labels: Option<Spanned<BTreeMap<String, String>>>,
}

/// A struct with the SPEC §7 settings a base and a service both carry
/// appended, each as written (checked and converted in `config/settings.rs`),
/// and `settings()` listing those set.
macro_rules! with_settings {
    ([$($key:ident),*] $(#[$meta:meta])* pub struct $name:ident { $($body:tt)* }) => {
        $(#[$meta])*
        pub struct $name {
            $($body)*
            $(pub $key: Option<Spanned<toml::Value>>,)*
        }

        impl $name {
            /// The settings set here, by key, in the model's order.
            pub fn settings(&self) -> Vec<(&'static str, &Spanned<toml::Value>)> {
                let all = [$((stringify!($key), self.$key.as_ref())),*];
                all.into_iter().filter_map(|(k, v)| Some((k, v?))).collect()
            }
        }
    };
}

/// The settings keys: adding one here makes it a key of both tables.
macro_rules! raw_settings {
    ($($t:tt)*) => {
        with_settings! {
            [
                restart, mem_limit, cpus, pids_limit, ulimits, security_opt, tmpfs, read_only,
                extra_hosts, dns, dns_search, user, working_dir, labels, privileged, devices, healthcheck,
                mac_address, domainname
            ]
            $($t)*
        }
    };
}

raw_settings! {
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub image: Option<Spanned<String>>,
    /// `"dir"`, or `{ context = "dir", args = { K = "v" } }`.
    pub build: Option<Spanned<toml::Value>>,
    pub command: Option<Spanned<Vec<String>>>,
    pub entrypoint: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pub env: BTreeMap<Key, String>,
    pub ports: Option<Vec<Spanned<i64>>>,
    #[serde(default)]
    pub cap_add: Vec<Spanned<String>>,
    #[serde(default)]
    pub cap_drop: Vec<Spanned<String>>,
    #[serde(default)]
    pub volumes: Vec<Spanned<String>>,
    pub logging: Option<Spanned<toml::Value>>,
    #[serde(default)]
    pub singleton: bool,
}
}

raw_settings! {
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDecky {
    /// The base container's name (default: the decky's name).
    pub container_name: Option<Spanned<String>>,
    pub services: Option<Spanned<Vec<Spanned<String>>>>,
    pub hostname: Option<Spanned<String>>,
    pub ip: Option<Spanned<String>>,
    pub image: Option<Spanned<String>>,
    pub command: Option<Spanned<Vec<String>>>,
    pub entrypoint: Option<Spanned<Vec<String>>>,
    pub network: Option<Spanned<String>>,
    /// Several LANs, each with its address ("" = the engine's choice).
    pub networks: Option<Spanned<BTreeMap<Key, Spanned<String>>>>,
    pub topology: Option<Spanned<String>>,
    pub host: Option<Spanned<String>>,
    pub persona: Option<Spanned<String>>,
    /// The base built from a context: as a service's `build`.
    pub build: Option<Spanned<toml::Value>>,
    #[serde(default)]
    pub publish: Vec<Spanned<String>>,
    #[serde(default)]
    pub sysctls: BTreeMap<Key, Spanned<toml::Value>>,
    #[serde(default)]
    pub cap_add: Vec<Spanned<String>>,
    #[serde(default)]
    pub cap_drop: Vec<Spanned<String>>,
    /// The base's bind mounts, as a service's (no `{service}`).
    #[serde(default)]
    pub volumes: Vec<Spanned<String>>,
    #[serde(default)]
    pub env: BTreeMap<Key, String>,
    #[serde(default)]
    pub service_config: Table<BTreeMap<Key, String>>,
    /// Per service built from a context: build args of this decky, merged
    /// over the catalog's (DECNET's per-decky `BASE_IMAGE`).
    #[serde(default)]
    pub service_build: Table<BTreeMap<Key, String>>,
    /// Per service, the image DECNET built for this decky (SPEC §7).
    #[serde(default)]
    pub service_image: BTreeMap<Key, Spanned<String>>,
    #[serde(default)]
    pub files: Table<Box<RawFileEntry>>,
}
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFileEntry {
    pub source: Option<Spanned<String>>,
    pub content: Option<Spanned<String>>,
    pub content_b64: Option<Spanned<String>>,
    pub mode: Option<Spanned<toml::Value>>,
    pub owner: Option<Spanned<String>>,
    pub mtime: Option<Spanned<toml::Value>>,
    pub mtime_offset: Option<Spanned<toml::Value>>,
    pub target: Option<Spanned<String>>,
    #[serde(default)]
    pub sensitive: bool,
    pub ensure: Option<Spanned<String>>,
    pub on_drift: Option<Spanned<String>>,
    /// Expand placeholders in the content, per decky (SPEC §11).
    pub template: Option<Spanned<bool>>,
    /// Plant a canary of this kind as the content (SPEC §11).
    pub canary: Option<Spanned<String>>,
}
