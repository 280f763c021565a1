//! Turns parsed TOML into a [`DesiredState`], checking every rule of SPEC §1.
//!
//! The rules live by concept: [`super::networks`], [`super::catalog`],
//! [`super::decky`], [`super::files`], and [`super::inputs`] for what is read
//! from disk. This file holds the [`Validator`] they share and the order they
//! run in.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use super::error::ConfigError;
use super::hosts;
use super::merge::{self, list_names, Ctx, Named, Tables};
use super::raw::{RawDecky, RawHost};
use super::source::SourceFile;
use super::values::{self, Cidr};
use super::Loaded;
use crate::build::Build;
use crate::desired::{
    Beside, ContainerSpec, DesiredState, EvidenceSettings, FileSpec, Logging, NetworkSpec, OnDrift,
};
use crate::hosts::{HostSpec, Hosts, LOCAL};

/// Docker's default network, used when neither the fleet nor the decky names one.
pub(super) const DEFAULT_NETWORK: &str = "bridge";

/// The desired state at time `at` (Unix seconds): the file with the
/// rotation's choice for that time applied.
pub fn validate(sources: &[SourceFile], at: i64) -> Result<Loaded, ConfigError> {
    let mut ctx = Ctx {
        sources,
        diags: Vec::new(),
        warnings: Vec::new(),
    };
    let mut raws = merge::parse(&mut ctx);
    let rotation = super::rotation::apply(&mut ctx, &mut raws, at);
    if !ctx.diags.is_empty() {
        return Err(ConfigError::Invalid(ctx.diags));
    }
    let Some(tables) = merge::gather(&mut ctx, &raws) else {
        return Err(ConfigError::Invalid(ctx.diags));
    };
    let fleet_name = fleet_name(&mut ctx, &tables);
    let mut v = Validator::new(ctx, fleet_name);
    let evidence = v.evidence(&tables);
    v.fleet_defaults(&tables);
    let budget = v.budget(&tables);
    let pull = v.pull(&tables);
    v.seed_file(&tables);
    let mut hosts = v.hosts(&tables.hosts);
    v.networks(&tables.networks);
    v.catalog(&tables.catalog);
    let fleet_network = tables.fleet.network.as_ref().map(|n| n.get_ref().as_str());
    let fleet_network = fleet_network.unwrap_or(DEFAULT_NETWORK).to_string();
    for (name, decky) in &tables.deckies {
        v.placement(name, decky, &mut hosts);
        v.decky(name, decky, &tables, &fleet_network);
    }
    v.singletons(&tables, &fleet_network);
    let beside = v.beside(tables.fleet, tables.fleet_src);
    let mut loaded = v.finish(hosts, &tables, (evidence, budget, beside))?;
    loaded.desired.pull = pull;
    loaded.desired.rotation = rotation;
    Ok(loaded)
}

/// The fleet's name, checked.
fn fleet_name(ctx: &mut Ctx<'_>, tables: &Tables<'_>) -> String {
    let src = tables.fleet_src;
    match &tables.fleet.name {
        Some(name) => {
            if let Err(m) = values::fleet_name(name.get_ref()) {
                ctx.err(src, &name.span(), m);
            }
            name.get_ref().clone()
        }
        None => {
            let help = "add name = \"corp\" (a-z, 0-9, '_', '.', '-')";
            ctx.err_help(src, &(0..0), "[fleet] has no name", help);
            String::new()
        }
    }
}

/// The state of one validation: problems found, names given out, and what
/// has been expanded into container and file specs so far.
pub(super) struct Validator<'a> {
    pub ctx: Ctx<'a>,
    pub fleet_name: String,
    /// Every container name given out so far, with what it is and where.
    names: BTreeMap<String, (String, String)>,
    /// `[fleet] on_drift`: the default of every file.
    pub on_drift: OnDrift,
    /// `[fleet] logging`: every container's, unless its service sets one.
    pub fleet_logging: Option<Logging>,
    /// Each catalog service's settings, checked once.
    pub service_settings: BTreeMap<String, crate::settings::Settings>,
    /// Every file the desired state was read from: configs, sources, build contexts.
    pub inputs: Vec<PathBuf>,
    /// Services built from a context, by service name.
    pub builds: BTreeMap<String, Build>,
    /// Declared networks, with their parsed subnet.
    pub networks: BTreeMap<String, (Option<Cidr>, NetworkSpec)>,
    /// Static addresses given out, per network, with who has them.
    pub ips: BTreeMap<(String, IpAddr), String>,
    pub containers: Vec<ContainerSpec>,
    pub files: Vec<FileSpec>,
    /// `[fleet] seed_file`, read when a template first needs it.
    pub seed: super::template::SeedSlot,
    /// Canaries planted so far, and the rotation counters they were made with.
    pub canaries: crate::canary::Canaries,
}

impl<'a> Validator<'a> {
    fn new(ctx: Ctx<'a>, fleet_name: String) -> Validator<'a> {
        let inputs = ctx.sources.iter();
        let inputs = inputs.map(|s| s.path.canonicalize().unwrap_or_else(|_| s.path.clone()));
        Validator {
            inputs: inputs.collect(),
            ctx,
            fleet_name,
            names: BTreeMap::new(),
            builds: BTreeMap::new(),
            networks: BTreeMap::new(),
            ips: BTreeMap::new(),
            on_drift: OnDrift::default(),
            fleet_logging: None,
            service_settings: BTreeMap::new(),
            containers: Vec::new(),
            files: Vec::new(),
            seed: Default::default(),
            canaries: Default::default(),
        }
    }

    /// Every problem in reading order, or the desired state.
    fn finish(
        self,
        hosts: Hosts,
        tables: &Tables<'_>,
        (evidence, budget, beside): (EvidenceSettings, crate::budget::Budget, Beside),
    ) -> Result<Loaded, ConfigError> {
        if !self.ctx.diags.is_empty() {
            // In reading order, file by file, whatever order the rules ran in.
            let mut diags = self.ctx.diags;
            diags.sort_by_key(|d| {
                d.location
                    .as_ref()
                    .map(|l| (l.file.clone(), l.line, l.column))
            });
            return Err(ConfigError::Invalid(diags));
        }
        let networks = self.networks.into_iter().map(|(k, (_, spec))| (k, spec));
        Ok(Loaded {
            desired: DesiredState {
                fleet: self.fleet_name,
                networks: networks.collect(),
                containers: self.containers.into_iter().map(Arc::new).collect(),
                files: self.files,
                deckies: tables.deckies.keys().cloned().collect(),
                destroying: vec![],
                evidence,
                budget,
                hold_on_session: tables
                    .fleet
                    .hold_on_session
                    .as_ref()
                    .is_none_or(|h| *h.get_ref()),
                beside,
                pull: Default::default(),
                rotation: Default::default(),
            },
            hosts,
            inputs: self.inputs,
            canaries: self.canaries,
            warnings: self.ctx.warnings,
        })
    }

    fn hosts(&mut self, tables: &BTreeMap<String, Named<RawHost>>) -> Hosts {
        let mut hosts = Hosts::default();
        for (name, h) in tables {
            let dir = self.ctx.sources[h.src].dir().to_path_buf();
            let spec = match hosts::host(name, h.key.span(), h.value, &dir) {
                Ok(spec) => spec,
                Err(problems) => {
                    for p in problems {
                        let diag = self.ctx.sources[h.src].diagnostic(&p.span, p.message, p.help);
                        self.ctx.diags.push(diag);
                    }
                    // Known by name, so that deckies naming it get no second error.
                    HostSpec {
                        name: name.clone(),
                        docker_host: None,
                        tls: None,
                    }
                }
            };
            hosts.specs.insert(name.clone(), spec);
        }
        hosts
    }

    /// Records which host a decky runs on; the host must be declared (or `local`).
    fn placement(&mut self, name: &str, d: &Named<Box<RawDecky>>, hosts: &mut Hosts) {
        let Some(h) = &d.value.get_ref().host else {
            return;
        };
        let host = h.get_ref();
        if !hosts.specs.contains_key(host) {
            let known = list_names(hosts.specs.keys());
            self.ctx.err_help(
                d.src,
                &h.span(),
                format!("decky '{name}': unknown host '{host}' (hosts: {known})"),
                format!(
                    "declare [hosts.{host}] with its docker_host, or use one of the hosts above"
                ),
            );
        } else if host != LOCAL {
            hosts.placement.insert(name.to_string(), host.clone());
        }
    }

    /// `[fleet] evidence_dir` (relative to the file that names it),
    /// `evidence_max_mb` and `evidence_quota_mb`; also takes `[fleet] on_drift` as every file's default.
    /// `[fleet] key`, a whole number of MiB from 1 to `most`, in bytes;
    /// `None` when unset or refused (with `help`).
    fn mebibytes(
        &mut self,
        src: usize,
        value: &Option<serde_spanned::Spanned<i64>>,
        (key, most, help): (&str, u64, &str),
    ) -> Option<u64> {
        let m = value.as_ref()?;
        match u64::try_from(*m.get_ref()) {
            Ok(mb) if (1..=most).contains(&mb) => Some(mb * 1024 * 1024),
            _ => {
                let why = format!("[fleet] {key} {} is not between 1 and {most}", m.get_ref());
                self.ctx.err_help(src, &m.span(), why, help);
                None
            }
        }
    }

    /// Where evidence is kept and how much (SPEC §8).
    fn evidence(&mut self, tables: &Tables<'_>) -> EvidenceSettings {
        let (src, fleet) = (tables.fleet_src, tables.fleet);
        let dir = self.ctx.sources[src].dir();
        // Absolute, so that events and logs name the copies wherever they are read.
        let dir = match dir.as_os_str().is_empty() {
            true => std::env::current_dir().unwrap_or_default(),
            false => std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()),
        };
        let mut settings = EvidenceSettings {
            dir: dir.join(EvidenceSettings::default().dir),
            ..EvidenceSettings::default()
        };
        if let Some(d) = &fleet.evidence_dir {
            match d.get_ref().trim() {
                "" => self.ctx.err_help(
                    src,
                    &d.span(),
                    "[fleet] evidence_dir is empty",
                    "name a directory, or remove the key for .deckhand/evidence",
                ),
                path => settings.dir = dir.join(path),
            }
        }
        self.evidence_sizes(src, fleet, &mut settings);
        settings
    }

    /// `evidence_max_mb` and `evidence_quota_mb`: one capture never keeps
    /// more than the whole directory holds.
    fn evidence_sizes(
        &mut self,
        src: usize,
        fleet: &super::raw::RawFleet,
        settings: &mut EvidenceSettings,
    ) {
        let max = (
            "evidence_max_mb",
            1024 * 1024,
            "the most one capture keeps, in MiB (default 256)",
        );
        if let Some(bytes) = self.mebibytes(src, &fleet.evidence_max_mb, max) {
            settings.max_bytes = bytes;
        }
        let quota = (
            "evidence_quota_mb",
            16 * 1024 * 1024,
            "the most the whole evidence directory holds, in MiB (default 1024)",
        );
        if let Some(bytes) = self.mebibytes(src, &fleet.evidence_quota_mb, quota) {
            settings.quota_bytes = bytes;
        }
        match &fleet.evidence_max_mb {
            Some(m) if settings.max_bytes > settings.quota_bytes => self.ctx.err_help(
                src,
                &m.span(),
                format!(
                    "[fleet] evidence_max_mb {} is larger than evidence_quota_mb {}",
                    m.get_ref(),
                    settings.quota_bytes >> 20
                ),
                "one capture cannot keep more than the whole evidence directory holds: lower evidence_max_mb or raise evidence_quota_mb",
            ),
            // The default cap never goes over a smaller quota.
            _ => settings.max_bytes = settings.max_bytes.min(settings.quota_bytes),
        }
    }

    /// The fleet's defaults for every file and container: `on_drift` and `logging`.
    fn fleet_defaults(&mut self, tables: &Tables<'_>) {
        let (src, fleet) = (tables.fleet_src, tables.fleet);
        if let Some(o) = &fleet.on_drift {
            self.on_drift = self.drift_policy(src, o).unwrap_or_default();
            if self.on_drift == OnDrift::Seed {
                let message = "on_drift = \"seed\" cannot be every file's default".to_string();
                self.ctx.err_help(src, &o.span(), message, "set on_drift = \"seed\" on the files DECNET or an intruder may own, in [deckies.NAME.files.\"PATH\"]");
                self.on_drift = OnDrift::default();
            }
        }
        if let Some(l) = &fleet.logging {
            self.fleet_logging = self.logging(src, l, "[fleet]");
        }
    }

    /// `on_drift = "restore" | "report" | "seed"`.
    pub fn drift_policy(&mut self, src: usize, o: &toml::Spanned<String>) -> Option<OnDrift> {
        match o.get_ref().as_str() {
            "restore" => Some(OnDrift::Restore),
            "report" => Some(OnDrift::Report),
            "seed" => Some(OnDrift::Seed),
            other => {
                let message = format!("unknown on_drift '{other}'");
                self.ctx.err_help(src, &o.span(), message, "use \"restore\" (keep evidence, then restore), \"report\" (keep evidence, leave it) or \"seed\" (write it when absent, never compare it)");
                None
            }
        }
    }

    /// Gives out a container name, refusing an invalid one or one taken.
    pub fn claim_name(&mut self, src: usize, span: &Range<usize>, name: &str, what: String) {
        if let Err(m) = values::container_name(name) {
            self.ctx.err(src, span, format!("{what}: {m}"));
            return;
        }
        let at = self.ctx.at(src, span);
        if let Some((other, other_at)) = self.names.get(name) {
            self.ctx.err_help(
                src,
                span,
                format!("{what} and {other} (at {other_at}) both map to container name '{name}'"),
                "rename one of them",
            );
            return;
        }
        self.names.insert(name.to_string(), (what, at));
    }
}
