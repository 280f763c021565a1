//! Rules for `[deckies.NAME]`, and a decky expanded into its base's and its
//! services' container specs (its files: [`super::files`]).

use std::collections::BTreeMap;

use super::catalog::{check_env_key, service_spec};
use super::disguise::{check_volume, expand, open_ports, Values};
use super::merge::{Named, Tables};
use super::raw::RawDecky;
use super::validate::Validator;
use super::values;
use crate::build::Build;
use crate::desired::{ContainerSpec, Role};
use crate::settings::Settings;

impl Validator<'_> {
    /// Checks decky `name` and expands it: its base, its services, its files.
    pub fn decky(
        &mut self,
        name: &str,
        d: &Named<Box<RawDecky>>,
        tables: &Tables<'_>,
        fleet_network: &str,
    ) {
        let mut base = self.base(name, d, tables, fleet_network);
        base.name = self.base_name(name, d);
        self.containers.push(base.clone());
        let services = self.services(name, d, tables, &base);
        self.service_configs(name, d, &services);
        for (path, entry) in &d.value.get_ref().files {
            if let Some(mut spec) = self.file(name, d.src, path, entry, &services) {
                if spec.target == "base" {
                    spec.container = base.name.clone();
                }
                self.files.push(spec);
            }
        }
    }

    /// The base's container name: `container_name`, else the decky's name;
    /// claimed, so that no two containers share it.
    fn base_name(&mut self, name: &str, d: &Named<Box<RawDecky>>) -> String {
        let what = format!("decky '{name}'");
        match &d.value.get_ref().container_name {
            Some(c) => {
                self.claim_name(
                    d.src,
                    &c.span(),
                    c.get_ref(),
                    format!("{what} container_name"),
                );
                c.get_ref().clone()
            }
            None => {
                self.claim_name(d.src, &d.key.span(), name, what);
                name.to_string()
            }
        }
    }

    /// The decky's hostname (its name unless given), checked.
    fn hostname(&mut self, name: &str, d: &Named<Box<RawDecky>>) -> String {
        let raw = d.value.get_ref();
        let hostname = raw.hostname.as_ref().map(|h| h.get_ref().clone());
        let hostname = hostname.unwrap_or_else(|| name.to_string());
        if let Err(m) = values::hostname(&hostname) {
            let span = raw.hostname.as_ref().map_or(d.key.span(), |h| h.span());
            self.ctx.err(d.src, &span, format!("decky '{name}': {m}"));
        }
        hostname
    }

    /// The decky's base container: hostname, image, network, address, command.
    fn base(
        &mut self,
        name: &str,
        d: &Named<Box<RawDecky>>,
        tables: &Tables<'_>,
        fleet_network: &str,
    ) -> ContainerSpec {
        let (src, raw) = (d.src, d.value.get_ref());
        let hostname = self.hostname(name, d);
        let (image, build) = self.base_image(name, d, tables);
        let (network, lans) = self.joins(name, src, raw, fleet_network);
        self.empty_argv(name, src, raw);
        let command = raw.command.as_ref().map(|c| c.get_ref().clone());
        let mut settings = self.base_settings(name, src, raw);
        let ip = match &network {
            Some(_) => raw.ip.as_ref().map(|i| i.get_ref().clone()),
            None => None,
        };
        let first_ip = ip.clone().or_else(|| lans.values().next().cloned());
        let ports = open_ports(raw, &tables.catalog);
        let at = (hostname.as_str(), first_ip.as_deref());
        let env = self.base_env(name, src, raw, at, &ports);
        settings.volumes = self.base_volumes(name, src, raw, at, &ports);
        ContainerSpec {
            name: name.to_string(),
            role: Role::Base,
            decky: Some(name.to_string()),
            service: None,
            image,
            entrypoint: raw.entrypoint.as_ref().map(|e| e.get_ref().clone()),
            command: Some(command.unwrap_or_else(|| vec!["sleep".into(), "infinity".into()])),
            env,
            settings: Box::new(settings),
            publish: self.publish(name, src, raw),
            ports: Vec::new(),
            hostname: Some(hostname),
            network,
            ip,
            lans,
            topology: raw.topology.as_ref().map(|t| t.get_ref().clone()),
            build,
            base: None,
        }
    }

    /// An empty `command` or `entrypoint` of the base, refused.
    fn empty_argv(&mut self, name: &str, src: usize, raw: &RawDecky) {
        if let Some(c) = raw.command.as_ref().filter(|c| c.get_ref().is_empty()) {
            self.ctx.err_help(
                src,
                &c.span(),
                format!("decky '{name}': command is empty"),
                "remove it to run the default [\"sleep\", \"infinity\"]",
            );
        }
        if let Some(e) = raw.entrypoint.as_ref().filter(|e| e.get_ref().is_empty()) {
            let message = format!("decky '{name}': entrypoint is empty");
            let help = "remove it to use the image's default";
            self.ctx.err_help(src, &e.span(), message, help);
        }
    }

    /// The base's settings: persona and sysctls, capabilities, the fleet's
    /// logging, and the §7 settings the decky sets.
    fn base_settings(&mut self, name: &str, src: usize, raw: &RawDecky) -> Settings {
        let (persona, sysctls) = self.sysctls(name, src, raw);
        let place = format!("decky '{name}'");
        let cap_add = self.caps(src, &raw.cap_add, &place);
        let cap_drop = self.caps(src, &raw.cap_drop, &place);
        let given = Settings {
            cap_add,
            cap_drop,
            persona,
            sysctls,
            logging: self.fleet_logging.clone(),
            ..Settings::default()
        };
        self.settings(src, &place, false, raw.settings(), given)
    }

    /// The base's image: built from the decky's `build`, else its `image`,
    /// else the fleet's `base_image`.
    fn base_image(
        &mut self,
        name: &str,
        d: &Named<Box<RawDecky>>,
        tables: &Tables<'_>,
    ) -> (String, Option<Build>) {
        let (src, raw) = (d.src, d.value.get_ref());
        if let Some(b) = &raw.build {
            if raw.image.is_some() {
                self.ctx.err_help(
                    src,
                    &b.span(),
                    format!("decky '{name}' has both image and build"),
                    "keep one: build tags the base's image by its context and args",
                );
            }
            let place = format!("decky '{name}'");
            let Some(build) = self.resolve_build(src, &place, "base", b) else {
                return (String::new(), None);
            };
            return (build.image.clone(), Some(build));
        }
        match (&raw.image, &tables.fleet.base_image) {
            (Some(i), _) | (None, Some(i)) => (i.get_ref().clone(), None),
            (None, None) => {
                self.ctx.err_help(
                    src,
                    &d.key.span(),
                    format!("decky '{name}' has no image"),
                    "set base_image in [fleet], or image or build on the decky",
                );
                (String::new(), None)
            }
        }
    }

    /// The base's bind mounts, their placeholders filled in and each checked
    /// as a service's (no `{service}`: a base runs none).
    fn base_volumes(
        &mut self,
        name: &str,
        src: usize,
        raw: &RawDecky,
        (hostname, ip): (&str, Option<&str>),
        ports: &str,
    ) -> Vec<String> {
        let fleet = self.fleet_name.clone();
        let values = Values {
            fleet: &fleet,
            decky: name,
            service: "",
            hostname,
            ip: ip.unwrap_or_default(),
            ports,
        };
        let place = format!("decky '{name}'");
        let mut out = Vec::new();
        for v in &raw.volumes {
            let allowed = ["fleet", "decky", "hostname", "ip", "ports"];
            self.placeholders(src, &v.span(), v.get_ref(), &allowed, &place);
            let bind = expand(v.get_ref(), &values);
            if let Err(m) = check_volume(&bind) {
                let help = "bind mounts are /host/path:/container/path[:ro|rw], away from the engine's files";
                self.ctx
                    .err_help(src, &v.span(), format!("{place}: {m}"), help);
            }
            out.push(bind);
        }
        out
    }

    /// The base's environment, its placeholders filled in (no `{service}`: a base runs none).
    fn base_env(
        &mut self,
        name: &str,
        src: usize,
        raw: &RawDecky,
        (hostname, ip): (&str, Option<&str>),
        ports: &str,
    ) -> BTreeMap<String, String> {
        let fleet = self.fleet_name.clone();
        let ip = ip.unwrap_or_default();
        let values = Values {
            fleet: &fleet,
            decky: name,
            service: "",
            hostname,
            ip,
            ports,
        };
        let mut env = BTreeMap::new();
        for (key, value) in &raw.env {
            check_env_key(&mut self.ctx, src, key, name);
            let at = format!("decky '{name}' env {}", key.get_ref());
            self.placeholders(
                src,
                &key.span(),
                value,
                &["fleet", "decky", "hostname", "ip", "ports"],
                &at,
            );
            env.insert(key.get_ref().clone(), expand(value, &values));
        }
        env
    }

    /// The decky's services, each a per-decky catalog entry listed once, with
    /// its `service_config` merged over the catalog's environment. Returns
    /// their names.
    fn services(
        &mut self,
        name: &str,
        d: &Named<Box<RawDecky>>,
        tables: &Tables<'_>,
        base: &ContainerSpec,
    ) -> Vec<String> {
        let (src, raw) = (d.src, d.value.get_ref());
        let listed = raw.services.as_ref().map(|s| s.get_ref().as_slice());
        let mut services: Vec<String> = Vec::new();
        for s in listed.unwrap_or_default() {
            let svc = s.get_ref();
            let place = format!("for decky {name}");
            let Some(entry) = self.catalog_entry(src, s, &tables.catalog, false, &place) else {
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
            let what = format!("service '{svc}' of decky '{name}'");
            self.claim_name(src, &s.span(), &container, what);
            let mut spec =
                service_spec(&container, svc, entry.value.get_ref(), self.builds.get(svc));
            if let Some(settings) = self.service_settings.get(svc) {
                *spec.settings = settings.clone();
            }
            spec.decky = Some(name.to_string());
            spec.base = (base.name != name).then(|| base.name.clone());
            spec.topology = base.topology.clone();
            let overlay = raw.service_config.iter().find(|(k, _)| k.get_ref() == svc);
            for (k, val) in overlay.map(|(_, v)| v.get_ref()).into_iter().flatten() {
                spec.env.insert(k.get_ref().clone(), val.clone());
            }
            self.service_build(name, d, svc, &mut spec);
            self.service_image(name, d, svc, &mut spec);
            let fleet = self.fleet_name.clone();
            let ip = base.joins().into_values().next().unwrap_or_default();
            let ports = open_ports(raw, &tables.catalog);
            let values = Values {
                fleet: &fleet,
                decky: name,
                service: svc,
                hostname: base.hostname.as_deref().unwrap_or(name),
                ip: &ip,
                ports: &ports,
            };
            self.fill_in(&mut spec, &values, src, &s.span());
            self.containers.push(spec);
        }
        services
    }

    /// This decky's build args of service `svc`, merged over the catalog's:
    /// an image of its own, tagged by the content and the merged args.
    fn service_build(
        &mut self,
        name: &str,
        d: &Named<Box<RawDecky>>,
        svc: &str,
        spec: &mut ContainerSpec,
    ) {
        let raw = d.value.get_ref();
        let Some((key, args)) = raw.service_build.iter().find(|(k, _)| k.get_ref() == svc) else {
            return;
        };
        let Some(catalog) = self.builds.get(svc) else {
            self.ctx.err_help(
                d.src,
                &key.span(),
                format!("decky {name}: service_build for '{svc}', whose image is not built"),
                format!(
                    "give [services.{svc}] build = {{ context = \"dir\" }}, or remove this table"
                ),
            );
            return;
        };
        let mut merged = catalog.args.clone();
        merged.extend(
            args.get_ref()
                .iter()
                .map(|(k, v)| (k.get_ref().clone(), v.clone())),
        );
        match crate::build::resolve(svc, &catalog.context, &merged) {
            Ok(build) => {
                spec.image = build.image.clone();
                spec.build = Some(build);
            }
            Err(m) => self
                .ctx
                .err(d.src, &key.span(), format!("decky {name}: {m}")),
        }
    }

    /// The image this decky runs service `svc` with, when it names one: it
    /// replaces the catalog's image or build (DECNET builds each decky's).
    fn service_image(
        &mut self,
        name: &str,
        d: &Named<Box<RawDecky>>,
        svc: &str,
        spec: &mut ContainerSpec,
    ) {
        let raw = d.value.get_ref();
        let Some((key, image)) = raw.service_image.iter().find(|(k, _)| k.get_ref() == svc) else {
            return;
        };
        if raw.service_build.keys().any(|k| k.get_ref() == svc) {
            self.ctx.err_help(
                d.src,
                &key.span(),
                format!("decky {name}: service '{svc}' has both service_image and service_build"),
                "keep one: the image to run, or the build arguments to build it with",
            );
        }
        if image.get_ref().trim().is_empty() {
            let message = format!("decky {name}: service_image for '{svc}' is empty");
            self.ctx.err(d.src, &image.span(), message);
        }
        spec.image = image.get_ref().clone();
        spec.build = None;
    }

    /// Every `service_config`, `service_build` and `service_image` names a
    /// service the decky runs.
    fn service_configs(&mut self, name: &str, d: &Named<Box<RawDecky>>, services: &[String]) {
        let raw = d.value.get_ref();
        for svc in raw.service_image.keys() {
            if !services.contains(svc.get_ref()) {
                self.ctx.err_help(
                    d.src,
                    &svc.span(),
                    format!(
                        "service_image for '{}', which decky {name} does not run",
                        svc.get_ref()
                    ),
                    format!("decky {name} runs: {}", services.join(", ")),
                );
            }
        }
        let tables = [
            ("service_config", &raw.service_config),
            ("service_build", &raw.service_build),
        ];
        for (what, svc, table) in tables
            .into_iter()
            .flat_map(|(what, t)| t.iter().map(move |(svc, table)| (what, svc, table)))
        {
            if !services.contains(svc.get_ref()) {
                let runs = match services.is_empty() {
                    true => "(no services)".to_string(),
                    false => services.join(", "),
                };
                self.ctx.err_help(
                    d.src,
                    &svc.span(),
                    format!(
                        "{what} for '{}', which decky {name} does not run",
                        svc.get_ref()
                    ),
                    format!("decky {name} runs: {runs}"),
                );
            }
            for key in table.get_ref().keys() {
                check_env_key(&mut self.ctx, d.src, key, svc.get_ref());
            }
        }
    }
}
