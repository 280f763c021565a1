//! Turns parsed TOML into a [`DesiredState`], checking every rule of SPEC §1.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::ops::Range;
use std::path::PathBuf;

use base64::Engine as _;
use toml::Spanned;

use super::error::{ConfigError, Diagnostic};
use super::hosts;
use super::raw::{
    Key, RawConfig, RawDecky, RawFileEntry, RawFleet, RawHost, RawNetwork, RawService, Table,
};
use super::source::SourceFile;
use super::values::{self, Cidr};
use super::{Loaded, MAX_SOURCE_BYTES};
use crate::build::{self, Build};
use crate::desired::{
    ContainerSpec, DesiredState, Ensure, FileContent, FileSpec, Mtime, NetworkSpec, Role,
};
use crate::hosts::{HostSpec, Hosts, LOCAL};

/// Docker's default network, used when neither the fleet nor the decky names one.
const DEFAULT_NETWORK: &str = "bridge";

/// A table entry and the file it was found in.
struct Named<'a, T> {
    src: usize,
    key: &'a Key,
    value: &'a Spanned<T>,
}

struct Ctx<'a> {
    sources: &'a [SourceFile],
    diags: Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn err(&mut self, src: usize, span: &Range<usize>, message: impl Into<String>) {
        self.diags
            .push(self.sources[src].diagnostic(span, message, None));
    }

    fn err_help(
        &mut self,
        src: usize,
        span: &Range<usize>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diags
            .push(self.sources[src].diagnostic(span, message, Some(help.into())));
    }

    fn at(&self, src: usize, span: &Range<usize>) -> String {
        self.sources[src].location(span).to_string()
    }
}

/// Collects one kind of table from every file, refusing a name defined twice.
fn merge<'a, T>(
    ctx: &mut Ctx<'_>,
    kind: &str,
    into: &mut BTreeMap<String, Named<'a, T>>,
    src: usize,
    table: &'a Table<T>,
) {
    for (key, value) in table {
        if let Some(first) = into.get(key.get_ref()) {
            let first_at = ctx.at(first.src, &first.key.span());
            ctx.err_help(
                src,
                &key.span(),
                format!(
                    "{kind} '{}' is defined twice: here and at {first_at}",
                    key.get_ref()
                ),
                "keep one definition",
            );
            continue;
        }
        into.insert(key.get_ref().clone(), Named { src, key, value });
    }
}

fn list_names<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        "(none)".to_string()
    } else {
        names.join(", ")
    }
}

pub fn validate(sources: &[SourceFile]) -> Result<Loaded, ConfigError> {
    let mut ctx = Ctx {
        sources,
        diags: Vec::new(),
    };
    let mut raws = Vec::new();
    for (i, source) in sources.iter().enumerate() {
        match toml::from_str::<RawConfig>(&source.text) {
            Ok(raw) => raws.push((i, raw)),
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                ctx.err(i, &span, e.message().trim_end().to_string());
            }
        }
    }
    if !ctx.diags.is_empty() {
        return Err(ConfigError::Invalid(ctx.diags));
    }

    let mut fleet: Option<(usize, &Spanned<RawFleet>)> = None;
    let mut host_tables = BTreeMap::new();
    let mut networks = BTreeMap::new();
    let mut catalog = BTreeMap::new();
    let mut deckies = BTreeMap::new();
    for (src, raw) in &raws {
        if let Some(f) = &raw.fleet {
            match fleet {
                Some((first_src, first)) => {
                    let first_at = ctx.at(first_src, &first.span());
                    ctx.err_help(
                        *src,
                        &f.span(),
                        format!("a second [fleet] table: the first is at {first_at}"),
                        "keep exactly one [fleet] table across all files",
                    );
                }
                None => fleet = Some((*src, f)),
            }
        }
        merge(&mut ctx, "host", &mut host_tables, *src, &raw.hosts);
        merge(&mut ctx, "network", &mut networks, *src, &raw.networks);
        merge(&mut ctx, "service", &mut catalog, *src, &raw.services);
        merge(&mut ctx, "decky", &mut deckies, *src, &raw.deckies);
    }
    let Some((fleet_src, fleet)) = fleet else {
        ctx.err_help(
            0,
            &(0..0),
            "no [fleet] table",
            "add a [fleet] table with at least name = \"...\"",
        );
        return Err(ConfigError::Invalid(ctx.diags));
    };
    let fleet = fleet.get_ref();

    let fleet_name = match &fleet.name {
        Some(name) => {
            if let Err(m) = values::fleet_name(name.get_ref()) {
                ctx.err(fleet_src, &name.span(), m);
            }
            name.get_ref().clone()
        }
        None => {
            ctx.err_help(
                fleet_src,
                &(0..0),
                "[fleet] has no name",
                "add name = \"corp\" (a-z, 0-9, '_', '.', '-')",
            );
            String::new()
        }
    };

    let mut v = Validator {
        ctx,
        fleet_name: fleet_name.clone(),
        names: BTreeMap::new(),
        inputs: sources
            .iter()
            .map(|s| s.path.canonicalize().unwrap_or_else(|_| s.path.clone()))
            .collect(),
        builds: BTreeMap::new(),
    };
    let mut hosts = v.hosts(&host_tables);
    let network_specs = v.networks(&networks);
    v.catalog(&catalog);
    let fleet_network = fleet
        .network
        .as_ref()
        .map(|n| n.get_ref().clone())
        .unwrap_or_else(|| DEFAULT_NETWORK.to_string());

    let mut containers = Vec::new();
    let mut files = Vec::new();
    let mut ips: BTreeMap<(String, IpAddr), String> = BTreeMap::new();
    for (name, decky) in &deckies {
        v.placement(name, decky, &mut hosts);
        v.decky(
            name,
            decky,
            fleet,
            &fleet_network,
            &catalog,
            &network_specs,
            &mut ips,
            &mut containers,
            &mut files,
        );
    }
    v.singletons(fleet, fleet_src, &fleet_network, &catalog, &mut containers);

    if !v.ctx.diags.is_empty() {
        // In reading order, file by file, whatever order the rules ran in.
        let mut diags = v.ctx.diags;
        diags.sort_by_key(|d| {
            d.location
                .as_ref()
                .map(|l| (l.file.clone(), l.line, l.column))
        });
        return Err(ConfigError::Invalid(diags));
    }
    Ok(Loaded {
        desired: DesiredState {
            fleet: fleet_name,
            networks: network_specs
                .into_iter()
                .map(|(k, (_, spec))| (k, spec))
                .collect(),
            containers,
            files,
            deckies: deckies.keys().cloned().collect(),
        },
        hosts,
        inputs: v.inputs,
    })
}

struct Validator<'a> {
    ctx: Ctx<'a>,
    fleet_name: String,
    /// Every container name given out so far, with what it is and where.
    names: BTreeMap<String, (String, String)>,
    inputs: Vec<PathBuf>,
    /// Services built from a context, by service name.
    builds: BTreeMap<String, Build>,
}

impl Validator<'_> {
    fn hosts(&mut self, tables: &BTreeMap<String, Named<RawHost>>) -> Hosts {
        let mut hosts = Hosts::default();
        for (name, h) in tables {
            let dir = self.ctx.sources[h.src].dir().to_path_buf();
            match hosts::host(name, h.key.span(), h.value, &dir) {
                Ok(spec) => {
                    hosts.specs.insert(name.clone(), spec);
                }
                Err(problems) => {
                    for p in problems {
                        let diag = self.ctx.sources[h.src].diagnostic(&p.span, p.message, p.help);
                        self.ctx.diags.push(diag);
                    }
                    // Known by name, so that deckies naming it get no second error.
                    hosts.specs.insert(
                        name.clone(),
                        HostSpec {
                            name: name.clone(),
                            docker_host: None,
                            tls: None,
                        },
                    );
                }
            }
        }
        hosts
    }

    /// Records which host a decky runs on; the host must be declared (or `local`).
    fn placement(&mut self, name: &str, d: &Named<RawDecky>, hosts: &mut Hosts) {
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

    fn networks(
        &mut self,
        networks: &BTreeMap<String, Named<RawNetwork>>,
    ) -> BTreeMap<String, (Option<Cidr>, NetworkSpec)> {
        let mut out = BTreeMap::new();
        for (name, n) in networks {
            let raw = n.value.get_ref();
            let driver = raw
                .driver
                .as_ref()
                .map(|d| d.get_ref().as_str())
                .unwrap_or("bridge");
            if !["bridge", "macvlan", "ipvlan"].contains(&driver) {
                let span = raw
                    .driver
                    .as_ref()
                    .map(|d| d.span())
                    .unwrap_or(n.key.span());
                self.ctx.err_help(
                    n.src,
                    &span,
                    format!("network '{name}': unknown driver '{driver}'"),
                    "use one of: bridge, macvlan, ipvlan",
                );
            }
            let subnet = raw
                .subnet
                .as_ref()
                .and_then(|s| match Cidr::parse(s.get_ref()) {
                    Ok(c) => Some(c),
                    Err(m) => {
                        self.ctx
                            .err(n.src, &s.span(), format!("network '{name}': {m}"));
                        None
                    }
                });
            if let Some(g) = &raw.gateway {
                match g.get_ref().parse::<IpAddr>() {
                    Err(_) => self.ctx.err(
                        n.src,
                        &g.span(),
                        format!(
                            "network '{name}': invalid gateway address '{}'",
                            g.get_ref()
                        ),
                    ),
                    Ok(ip) => match subnet {
                        Some(c) if !c.contains(ip) => self.ctx.err(
                            n.src,
                            &g.span(),
                            format!(
                                "network '{name}': gateway {ip} is outside subnet {}",
                                raw.subnet.as_ref().unwrap().get_ref()
                            ),
                        ),
                        None => self.ctx.err_help(
                            n.src,
                            &g.span(),
                            format!("network '{name}': a gateway needs a subnet"),
                            "add subnet = \"a.b.c.0/24\"",
                        ),
                        _ => {}
                    },
                }
            }
            if let Some(p) = &raw.parent {
                if driver == "bridge" {
                    self.ctx.err_help(
                        n.src,
                        &p.span(),
                        format!("network '{name}': parent is for macvlan and ipvlan networks only"),
                        "remove parent, or set driver = \"macvlan\"",
                    );
                }
            }
            let spec = NetworkSpec {
                name: name.clone(),
                driver: driver.to_string(),
                subnet: raw.subnet.as_ref().map(|s| s.get_ref().clone()),
                gateway: raw.gateway.as_ref().map(|s| s.get_ref().clone()),
                parent: raw.parent.as_ref().map(|s| s.get_ref().clone()),
            };
            out.insert(name.clone(), (subnet, spec));
        }
        out
    }

    fn catalog(&mut self, catalog: &BTreeMap<String, Named<RawService>>) {
        for (name, s) in catalog {
            let raw = s.value.get_ref();
            // A service name becomes the tail of `<decky>-<service>`.
            if values::container_name(&format!("x-{name}")).is_err() {
                self.ctx.err_help(
                    s.src,
                    &s.key.span(),
                    format!("service name '{name}' cannot be part of a container name"),
                    "use letters, digits, '_', '.', '-'",
                );
            }
            match (&raw.image, &raw.build) {
                (None, None) => self.ctx.err_help(
                    s.src,
                    &s.key.span(),
                    format!("service '{name}' has no image"),
                    "add image = \"name:tag\", or build = \"dir\" (a directory with a Dockerfile)",
                ),
                (Some(_), Some(b)) => self.ctx.err_help(
                    s.src,
                    &b.span(),
                    format!("service '{name}' has both image and build"),
                    "keep one: build tags its image by the content of the directory",
                ),
                (Some(i), None) if i.get_ref().trim().is_empty() => self.ctx.err(
                    s.src,
                    &i.span(),
                    format!("service '{name}': image is empty"),
                ),
                (None, Some(b)) => {
                    if let Some(build) = self.resolve_build(s.src, name, b) {
                        self.inputs.extend(
                            build
                                .files
                                .iter()
                                .map(|f| f.canonicalize().unwrap_or_else(|_| f.clone())),
                        );
                        self.builds.insert(name.clone(), build);
                    }
                }
                _ => {}
            }
            for port in raw.ports.iter().flatten() {
                if !(1..=65535).contains(port.get_ref()) {
                    self.ctx.err(
                        s.src,
                        &port.span(),
                        format!(
                            "service '{name}': port {} is not between 1 and 65535",
                            port.get_ref()
                        ),
                    );
                }
            }
            for key in raw.env.keys() {
                check_env_key(&mut self.ctx, s.src, key, name);
            }
            for c in [&raw.command, &raw.entrypoint].into_iter().flatten() {
                if c.get_ref().is_empty() {
                    self.ctx.err_help(
                        s.src,
                        &c.span(),
                        format!("service '{name}': an empty list"),
                        "remove the key to use the image's default",
                    );
                }
            }
        }
    }

    /// The catalog entry a service list names, if it exists and is of the
    /// wanted kind (singleton or not); otherwise an error listing the choices.
    fn catalog_entry<'c>(
        &mut self,
        src: usize,
        s: &Spanned<String>,
        catalog: &'c BTreeMap<String, Named<'c, RawService>>,
        singleton: bool,
        place: &str,
    ) -> Option<&'c Named<'c, RawService>> {
        let svc = s.get_ref();
        let kind = if singleton {
            "singleton services"
        } else {
            "per-decky services"
        };
        let eligible = catalog
            .iter()
            .filter(|(_, e)| e.value.get_ref().singleton == singleton)
            .map(|(k, _)| k);
        let choices = format!("the catalog's {kind}: {}", list_names(eligible));
        match catalog.get(svc) {
            None => self.ctx.err_help(
                src,
                &s.span(),
                format!("unknown service '{svc}' {place}"),
                choices,
            ),
            Some(e) if e.value.get_ref().singleton == singleton => return Some(e),
            Some(_) if singleton => self.ctx.err_help(
                src,
                &s.span(),
                format!("service '{svc}' {place} is not a singleton"),
                format!(
                    "set singleton = true in [services.{svc}], or list it on deckies; {choices}"
                ),
            ),
            Some(_) => self.ctx.err_help(
                src,
                &s.span(),
                format!("service '{svc}' is a fleet singleton and cannot run {place}"),
                format!("list it in [fleet] services instead; {choices}"),
            ),
        }
        None
    }

    fn claim_name(&mut self, src: usize, span: &Range<usize>, name: &str, what: String) {
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

    #[allow(clippy::too_many_arguments)]
    fn decky(
        &mut self,
        name: &str,
        d: &Named<RawDecky>,
        fleet: &RawFleet,
        fleet_network: &str,
        catalog: &BTreeMap<String, Named<RawService>>,
        networks: &BTreeMap<String, (Option<Cidr>, NetworkSpec)>,
        ips: &mut BTreeMap<(String, IpAddr), String>,
        containers: &mut Vec<ContainerSpec>,
        files: &mut Vec<FileSpec>,
    ) {
        let src = d.src;
        let raw = d.value.get_ref();
        let key_span = d.key.span();
        self.claim_name(src, &key_span, name, format!("decky '{name}'"));

        let hostname = raw
            .hostname
            .as_ref()
            .map(|h| h.get_ref().clone())
            .unwrap_or_else(|| name.to_string());
        if let Err(m) = values::hostname(&hostname) {
            let span = raw
                .hostname
                .as_ref()
                .map(|h| h.span())
                .unwrap_or(key_span.clone());
            self.ctx.err(src, &span, format!("decky '{name}': {m}"));
        }
        let image = match (&raw.image, &fleet.base_image) {
            (Some(i), _) => i.get_ref().clone(),
            (None, Some(i)) => i.get_ref().clone(),
            (None, None) => {
                self.ctx.err_help(
                    src,
                    &key_span,
                    format!("decky '{name}' has no image"),
                    "set base_image in [fleet], or image on the decky",
                );
                String::new()
            }
        };
        let network = raw
            .network
            .as_ref()
            .map(|n| n.get_ref().clone())
            .unwrap_or_else(|| fleet_network.to_string());
        if let Some(ip) = &raw.ip {
            self.ip(name, src, ip, &network, networks, ips);
        }
        if let Some(c) = &raw.command {
            if c.get_ref().is_empty() {
                self.ctx.err_help(
                    src,
                    &c.span(),
                    format!("decky '{name}': command is empty"),
                    "remove it to run the default [\"sleep\", \"infinity\"]",
                );
            }
        }
        let topology = raw.topology.as_ref().map(|t| t.get_ref().clone());

        containers.push(ContainerSpec {
            name: name.to_string(),
            role: Role::Base,
            decky: Some(name.to_string()),
            service: None,
            image,
            entrypoint: None,
            command: Some(
                raw.command
                    .as_ref()
                    .map(|c| c.get_ref().clone())
                    .unwrap_or_else(|| vec!["sleep".into(), "infinity".into()]),
            ),
            env: BTreeMap::new(),
            cap_add: Vec::new(),
            ports: Vec::new(),
            hostname: Some(hostname),
            network: Some(network),
            ip: raw.ip.as_ref().map(|i| i.get_ref().clone()),
            topology: topology.clone(),
            build: None,
        });

        let mut services: Vec<String> = Vec::new();
        for s in raw
            .services
            .as_ref()
            .map(|s| s.get_ref().as_slice())
            .unwrap_or_default()
        {
            let svc = s.get_ref();
            let Some(entry) =
                self.catalog_entry(src, s, catalog, false, &format!("for decky {name}"))
            else {
                continue;
            };
            if services.contains(svc) {
                self.ctx.err_help(
                    src,
                    &s.span(),
                    format!("decky {name} lists service '{svc}' twice"),
                    "list each service once",
                );
                continue;
            }
            services.push(svc.clone());
            let container = format!("{name}-{svc}");
            self.claim_name(
                src,
                &s.span(),
                &container,
                format!("service '{svc}' of decky '{name}'"),
            );
            let overlay = raw
                .service_config
                .iter()
                .find(|(k, _)| k.get_ref() == svc)
                .map(|(_, v)| v.get_ref());
            let mut spec =
                service_spec(&container, svc, entry.value.get_ref(), self.builds.get(svc));
            spec.role = Role::Service;
            spec.decky = Some(name.to_string());
            spec.topology = topology.clone();
            for (k, val) in overlay.into_iter().flatten() {
                spec.env.insert(k.get_ref().clone(), val.clone());
            }
            containers.push(spec);
        }
        for (svc, table) in &raw.service_config {
            if !services.contains(svc.get_ref()) {
                self.ctx.err_help(
                    src,
                    &svc.span(),
                    format!(
                        "service_config for '{}', which decky {name} does not run",
                        svc.get_ref()
                    ),
                    format!(
                        "decky {name} runs: {}",
                        if services.is_empty() {
                            "(no services)".to_string()
                        } else {
                            services.join(", ")
                        }
                    ),
                );
            }
            for key in table.get_ref().keys() {
                check_env_key(&mut self.ctx, src, key, svc.get_ref());
            }
        }
        for (path, entry) in &raw.files {
            if let Some(spec) = self.file(name, src, path, entry, &services) {
                files.push(spec);
            }
        }
    }

    fn ip(
        &mut self,
        decky: &str,
        src: usize,
        ip: &Spanned<String>,
        network: &str,
        networks: &BTreeMap<String, (Option<Cidr>, NetworkSpec)>,
        ips: &mut BTreeMap<(String, IpAddr), String>,
    ) {
        let Ok(addr) = ip.get_ref().parse::<IpAddr>() else {
            self.ctx.err(
                src,
                &ip.span(),
                format!("decky '{decky}': invalid ip address '{}'", ip.get_ref()),
            );
            return;
        };
        match networks.get(network) {
            Some((Some(subnet), spec)) => {
                if !subnet.contains(addr) {
                    self.ctx.err(src, &ip.span(), format!("decky '{decky}': ip {addr} is outside subnet {} of network '{network}'", spec.subnet.as_deref().unwrap_or_default()));
                }
                if spec.gateway.as_deref() == Some(ip.get_ref().as_str()) {
                    self.ctx.err(
                        src,
                        &ip.span(),
                        format!("decky '{decky}': ip {addr} is the gateway of network '{network}'"),
                    );
                }
            }
            Some((None, _)) => {}
            None if network == DEFAULT_NETWORK => {
                self.ctx.err_help(src, &ip.span(), format!("decky '{decky}': a static ip needs a user-defined network, and this decky is on Docker's default 'bridge'"), "declare [networks.NAME] with a subnet and set network = \"NAME\" in [fleet] or on the decky");
            }
            None => {}
        }
        let at = self.ctx.at(src, &ip.span());
        if let Some(other) = ips.get(&(network.to_string(), addr)) {
            self.ctx.err(
                src,
                &ip.span(),
                format!(
                    "decky '{decky}': ip {addr} on network '{network}' is already given to {other}"
                ),
            );
        } else {
            ips.insert((network.to_string(), addr), format!("decky at {at}"));
        }
    }

    fn file(
        &mut self,
        decky: &str,
        src: usize,
        key: &Key,
        entry: &Spanned<RawFileEntry>,
        services: &[String],
    ) -> Option<FileSpec> {
        let path = key.get_ref();
        let span = key.span();
        let raw = entry.get_ref();
        let before = self.ctx.diags.len();
        if let Err(m) = values::file_path(path) {
            self.ctx.err(src, &span, format!("decky '{decky}': {m}"));
        }
        let target = match &raw.target {
            Some(t) => {
                let t_name = t.get_ref();
                if t_name != "base" && !services.contains(t_name) {
                    self.ctx.err_help(src, &t.span(), format!("file {path} of decky '{decky}': target '{t_name}' is not a service of this decky"), format!("use \"base\" or one of the decky's services: {}", if services.is_empty() { "(none)".to_string() } else { services.join(", ") }));
                }
                t_name.clone()
            }
            None if services.iter().any(|s| s == "ssh") => "ssh".to_string(),
            None => "base".to_string(),
        };
        let container = if target == "base" {
            decky.to_string()
        } else {
            format!("{decky}-{target}")
        };

        let absent = match &raw.ensure {
            None => false,
            Some(e) if e.get_ref() == "present" => false,
            Some(e) if e.get_ref() == "absent" => true,
            Some(e) => {
                self.ctx.err_help(
                    src,
                    &e.span(),
                    format!("file {path}: unknown ensure '{}'", e.get_ref()),
                    "use \"present\" or \"absent\"",
                );
                false
            }
        };
        let content_keys: Vec<(&str, Range<usize>)> = [
            ("content", &raw.content),
            ("content_b64", &raw.content_b64),
            ("source", &raw.source),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v.span())))
        .collect();
        if absent {
            let meta_keys = [
                ("mode", raw.mode.as_ref().map(|v| v.span())),
                ("owner", raw.owner.as_ref().map(|v| v.span())),
                ("mtime", raw.mtime.as_ref().map(|v| v.span())),
                ("mtime_offset", raw.mtime_offset.as_ref().map(|v| v.span())),
            ];
            for (k, s) in content_keys
                .iter()
                .map(|(k, s)| (*k, Some(s.clone())))
                .chain(meta_keys)
            {
                if let Some(s) = s {
                    self.ctx.err_help(
                        src,
                        &s,
                        format!("file {path}: '{k}' has no meaning with ensure = \"absent\""),
                        "remove it, or remove ensure = \"absent\"",
                    );
                }
            }
            return (self.ctx.diags.len() == before).then(|| FileSpec {
                decky: decky.to_string(),
                target,
                container,
                path: path.clone(),
                sensitive: raw.sensitive,
                ensure: Ensure::Absent,
            });
        }
        if content_keys.len() != 1 {
            let s = content_keys
                .get(1)
                .map(|(_, s)| s.clone())
                .unwrap_or(span.clone());
            self.ctx.err_help(src, &s, format!("file {path} of decky '{decky}' needs exactly one of content, content_b64, source; it has {}", if content_keys.is_empty() { "none".to_string() } else { content_keys.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(" and ") }), "keep one content key (or set ensure = \"absent\")");
            return None;
        }
        let bytes = if let Some(c) = &raw.content {
            Some(c.get_ref().clone().into_bytes())
        } else if let Some(b) = &raw.content_b64 {
            match base64::engine::general_purpose::STANDARD.decode(b.get_ref().trim()) {
                Ok(bytes) => Some(bytes),
                Err(e) => {
                    self.ctx.err(
                        src,
                        &b.span(),
                        format!(
                            "file {path}: content_b64 is not valid base64 ({})",
                            base64_problem(&e)
                        ),
                    );
                    None
                }
            }
        } else {
            let s = raw.source.as_ref().expect("one content key is present");
            self.read_source(src, s, path)
        };
        let bytes = match bytes {
            Some(b) if b.len() as u64 > MAX_SOURCE_BYTES => {
                let at = (raw.content.as_ref().map(|c| c.span()))
                    .or(raw.content_b64.as_ref().map(|c| c.span()))
                    .unwrap_or(span.clone());
                self.ctx.err_help(
                    src,
                    &at,
                    format!("file {path}: the content is {} bytes, over the limit of {MAX_SOURCE_BYTES} (64 MiB)", b.len()),
                    "bait files are small: trim it",
                );
                None
            }
            other => other,
        };
        let mode = match &raw.mode {
            Some(m) => values::mode(m.get_ref())
                .map_err(|e| self.ctx.err(src, &m.span(), format!("file {path}: {e}")))
                .ok(),
            None => Some(0o644),
        };
        let owner = match &raw.owner {
            Some(o) => values::owner(o.get_ref())
                .map_err(|e| self.ctx.err(src, &o.span(), format!("file {path}: {e}")))
                .ok(),
            None => Some((0, 0)),
        };
        let mtime = match (&raw.mtime, &raw.mtime_offset) {
            (Some(_), Some(o)) => {
                self.ctx.err_help(
                    src,
                    &o.span(),
                    format!("file {path}: both mtime and mtime_offset"),
                    "keep one: mtime is absolute, mtime_offset relative to apply time",
                );
                None
            }
            (Some(m), None) => values::mtime(m.get_ref())
                .map(Mtime::Absolute)
                .map_err(|e| self.ctx.err(src, &m.span(), format!("file {path}: {e}")))
                .ok(),
            (None, Some(o)) => values::mtime_offset(o.get_ref())
                .map(Mtime::Offset)
                .map_err(|e| self.ctx.err(src, &o.span(), format!("file {path}: {e}")))
                .ok(),
            (None, None) => Some(Mtime::Offset(0)),
        };
        if self.ctx.diags.len() != before {
            return None;
        }
        let ((bytes, mode), ((uid, gid), mtime)) = bytes.zip(mode).zip(owner.zip(mtime))?;
        Some(FileSpec {
            decky: decky.to_string(),
            target,
            container,
            path: path.clone(),
            sensitive: raw.sensitive,
            ensure: Ensure::Present(FileContent {
                bytes,
                mode,
                uid,
                gid,
                mtime,
            }),
        })
    }

    /// The build context `b` of service `name`: a directory inside the
    /// config's tree, holding a Dockerfile.
    fn resolve_build(&mut self, src: usize, name: &str, b: &Spanned<String>) -> Option<Build> {
        let dir = self.ctx.sources[src].dir();
        let dir = if dir.as_os_str().is_empty() {
            std::path::Path::new(".")
        } else {
            dir
        };
        let help = "build is a directory with a Dockerfile, relative to the TOML file and inside its directory";
        let result = (|| {
            let root = dir
                .canonicalize()
                .map_err(|e| format!("cannot resolve directory {}: {e}", dir.display()))?;
            let real = dir
                .join(b.get_ref())
                .canonicalize()
                .map_err(|e| format!("build '{}' cannot be read: {e}", b.get_ref()))?;
            if !real.starts_with(&root) {
                return Err(format!(
                    "build '{}' resolves to {}, outside {}",
                    b.get_ref(),
                    real.display(),
                    root.display()
                ));
            }
            if !real.is_dir() {
                return Err(format!("build '{}' is not a directory", b.get_ref()));
            }
            build::resolve(name, &real)
        })();
        match result {
            Ok(build) => Some(build),
            Err(m) => {
                self.ctx
                    .err_help(src, &b.span(), format!("service '{name}': {m}"), help);
                None
            }
        }
    }

    fn read_source(&mut self, src: usize, s: &Spanned<String>, path: &str) -> Option<Vec<u8>> {
        let source = &self.ctx.sources[src];
        let dir = source.dir();
        let dir = if dir.as_os_str().is_empty() {
            std::path::Path::new(".")
        } else {
            dir
        };
        let wanted = dir.join(s.get_ref());
        let fail = |m: String| {
            (
                m,
                Some(
                    "source paths are relative to the TOML file and must stay inside its directory"
                        .to_string(),
                ),
            )
        };
        let result = (|| {
            let root = dir
                .canonicalize()
                .map_err(|e| fail(format!("cannot resolve directory {}: {e}", dir.display())))?;
            let real = wanted.canonicalize().map_err(|e| {
                fail(format!(
                    "source '{}' cannot be read ({}): {e}",
                    s.get_ref(),
                    wanted.display()
                ))
            })?;
            if !real.starts_with(&root) {
                return Err(fail(format!(
                    "source '{}' resolves to {}, outside {}",
                    s.get_ref(),
                    real.display(),
                    root.display()
                )));
            }
            let meta = std::fs::metadata(&real)
                .map_err(|e| fail(format!("source '{}': {e}", s.get_ref())))?;
            if !meta.is_file() {
                return Err(fail(format!(
                    "source '{}' is not a regular file",
                    s.get_ref()
                )));
            }
            if meta.len() > MAX_SOURCE_BYTES {
                return Err((
                    format!(
                        "source '{}' is {} bytes, over the limit of {MAX_SOURCE_BYTES} (64 MiB)",
                        s.get_ref(),
                        meta.len()
                    ),
                    Some("bait files are small: trim it".to_string()),
                ));
            }
            let bytes =
                std::fs::read(&real).map_err(|e| fail(format!("source '{}': {e}", s.get_ref())))?;
            Ok((real, bytes))
        })();
        match result {
            Ok((real, bytes)) => {
                self.inputs.push(real);
                Some(bytes)
            }
            Err((m, help)) => {
                let d =
                    self.ctx.sources[src].diagnostic(&s.span(), format!("file {path}: {m}"), help);
                self.ctx.diags.push(d);
                None
            }
        }
    }

    fn singletons(
        &mut self,
        fleet: &RawFleet,
        fleet_src: usize,
        fleet_network: &str,
        catalog: &BTreeMap<String, Named<RawService>>,
        containers: &mut Vec<ContainerSpec>,
    ) {
        let mut seen = BTreeSet::new();
        for s in fleet
            .services
            .as_ref()
            .map(|s| s.get_ref().as_slice())
            .unwrap_or_default()
        {
            let svc = s.get_ref();
            let Some(entry) =
                self.catalog_entry(fleet_src, s, catalog, true, "in [fleet] services")
            else {
                continue;
            };
            if !seen.insert(svc.clone()) {
                self.ctx.err(
                    fleet_src,
                    &s.span(),
                    format!("fleet service '{svc}' is listed twice"),
                );
                continue;
            }
            let name = format!("{}-{svc}", self.fleet_name);
            self.claim_name(
                fleet_src,
                &s.span(),
                &name,
                format!("fleet singleton '{svc}'"),
            );
            let mut spec = service_spec(&name, svc, entry.value.get_ref(), self.builds.get(svc));
            spec.role = Role::Singleton;
            spec.network = Some(fleet_network.to_string());
            containers.push(spec);
        }
    }
}

/// What is wrong with base64 text, without echoing any of it (it may be a secret).
fn base64_problem(e: &base64::DecodeError) -> String {
    match e {
        base64::DecodeError::InvalidByte(offset, _) => {
            format!("a character that is not base64 at offset {offset}")
        }
        base64::DecodeError::InvalidLength(_) => {
            "its length is not a whole number of base64 groups".to_string()
        }
        base64::DecodeError::InvalidLastSymbol(offset, _) => {
            format!("an invalid last character at offset {offset}")
        }
        base64::DecodeError::InvalidPadding => "invalid padding".to_string(),
    }
}

fn check_env_key(ctx: &mut Ctx<'_>, src: usize, key: &Key, service: &str) {
    let k = key.get_ref();
    if k.is_empty() || k.contains('=') || k.contains('\0') {
        ctx.err(
            src,
            &key.span(),
            format!("service '{service}': invalid environment variable name '{k}'"),
        );
    }
}

fn service_spec(
    container: &str,
    service: &str,
    raw: &RawService,
    build: Option<&Build>,
) -> ContainerSpec {
    ContainerSpec {
        name: container.to_string(),
        role: Role::Service,
        decky: None,
        service: Some(service.to_string()),
        image: match (build, &raw.image) {
            (Some(b), _) => b.image.clone(),
            (None, Some(i)) => i.get_ref().clone(),
            (None, None) => String::new(),
        },
        entrypoint: raw.entrypoint.as_ref().map(|e| e.get_ref().clone()),
        command: raw.command.as_ref().map(|c| c.get_ref().clone()),
        env: raw
            .env
            .iter()
            .map(|(k, v)| (k.get_ref().clone(), v.clone()))
            .collect(),
        cap_add: raw.cap_add.iter().map(|c| c.get_ref().clone()).collect(),
        ports: raw
            .ports
            .iter()
            .flatten()
            .map(|p| *p.get_ref() as u16)
            .collect(),
        hostname: None,
        network: None,
        ip: None,
        topology: None,
        build: build.map(|b| b.context.clone()),
    }
}
