//! Rules for the service catalog (`[services.NAME]`) and the fleet's
//! singletons, and a catalog entry expanded into a container spec.

use std::collections::{BTreeMap, BTreeSet};

use toml::Spanned;

use super::disguise::{check_volume, expand, Values, PLACEHOLDERS};
use super::merge::{list_names, Ctx, Named, Tables};
use super::raw::{Key, RawService};
use super::validate::Validator;
use super::values;
use crate::build::Build;
use crate::desired::{ContainerSpec, Logging, Role};
use crate::settings::Settings;

impl Validator<'_> {
    /// Checks every catalog entry; resolves the build contexts.
    pub fn catalog(&mut self, catalog: &BTreeMap<String, Named<RawService>>) {
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
            self.image_or_build(name, s);
            for port in raw.ports.iter().flatten() {
                if !(1..=65535).contains(port.get_ref()) {
                    let message = format!(
                        "service '{name}': port {} is not between 1 and 65535",
                        port.get_ref()
                    );
                    self.ctx.err(s.src, &port.span(), message);
                }
            }
            for (key, value) in &raw.env {
                check_env_key(&mut self.ctx, s.src, key, name);
                let place = format!("service '{name}' env {}", key.get_ref());
                self.placeholders(s.src, &key.span(), value, &PLACEHOLDERS, &place);
            }
            let place = format!("service '{name}'");
            self.caps(s.src, &raw.cap_add, &place);
            self.caps(s.src, &raw.cap_drop, &place);
            for v in &raw.volumes {
                self.placeholders(s.src, &v.span(), v.get_ref(), &PLACEHOLDERS, &place);
            }
            if let Some(l) = &raw.logging {
                self.logging(s.src, l, &place);
            }
            let given = *service_spec("", name, raw, None).settings;
            let settings = self.settings(s.src, &place, !raw.singleton, raw.settings(), given);
            self.service_settings.insert(name.to_string(), settings);
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

    /// Exactly one of `image` and `build`; a build context is resolved.
    fn image_or_build(&mut self, name: &str, s: &Named<RawService>) {
        let raw = s.value.get_ref();
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
                let place = format!("service '{name}'");
                if let Some(build) = self.resolve_build(s.src, &place, name, b) {
                    self.builds.insert(name.to_string(), build);
                }
            }
            _ => {}
        }
    }

    /// The catalog entry a service list names, if it exists and is of the
    /// wanted kind (singleton or not); otherwise an error listing the choices.
    pub fn catalog_entry<'c>(
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
        let (message, help) = match catalog.get(svc) {
            None => (format!("unknown service '{svc}' {place}"), choices),
            Some(e) if e.value.get_ref().singleton == singleton => return Some(e),
            Some(_) if singleton => (
                format!("service '{svc}' {place} is not a singleton"),
                format!(
                    "set singleton = true in [services.{svc}], or list it on deckies; {choices}"
                ),
            ),
            Some(_) => (
                format!("service '{svc}' is a fleet singleton and cannot run {place}"),
                format!("list it in [fleet] services instead; {choices}"),
            ),
        };
        self.ctx.err_help(src, &s.span(), message, help);
        None
    }

    /// `[fleet] services`: each a singleton of the catalog, once, as `<fleet>-<service>`.
    pub fn singletons(&mut self, tables: &Tables<'_>, fleet_network: &str) {
        let fleet_src = tables.fleet_src;
        let listed = tables.fleet.services.as_ref();
        let mut seen = BTreeSet::new();
        for s in listed.map(|s| s.get_ref().as_slice()).unwrap_or_default() {
            let svc = s.get_ref();
            let place = "in [fleet] services";
            let Some(entry) = self.catalog_entry(fleet_src, s, &tables.catalog, true, place) else {
                continue;
            };
            if !seen.insert(svc.clone()) {
                let message = format!("fleet service '{svc}' is listed twice");
                self.ctx.err(fleet_src, &s.span(), message);
                continue;
            }
            let name = format!("{}-{svc}", self.fleet_name);
            let what = format!("fleet singleton '{svc}'");
            self.claim_name(fleet_src, &s.span(), &name, what);
            let mut spec = service_spec(&name, svc, entry.value.get_ref(), self.builds.get(svc));
            if let Some(settings) = self.service_settings.get(svc) {
                *spec.settings = settings.clone();
            }
            spec.role = Role::Singleton;
            spec.network = Some(fleet_network.to_string());
            let fleet = self.fleet_name.clone();
            let values = Values {
                fleet: &fleet,
                decky: "",
                service: svc,
                hostname: "",
                ip: "",
                ports: "",
            };
            self.fill_in(&mut spec, &values, fleet_src, &s.span());
            self.containers.push(spec);
        }
    }
}

impl Validator<'_> {
    /// A catalog entry filled in for one container: placeholders expanded in
    /// its environment and bind mounts (each then checked, reported at `span`),
    /// and the fleet's logging unless it has its own.
    pub fn fill_in(
        &mut self,
        spec: &mut ContainerSpec,
        values: &Values<'_>,
        src: usize,
        span: &std::ops::Range<usize>,
    ) {
        for value in spec.env.values_mut() {
            *value = expand(value, values);
        }
        for v in &mut spec.settings.volumes {
            *v = expand(v, values);
            if let Err(m) = check_volume(v) {
                let help = "bind mounts are /host/path:/container/path[:ro|rw], away from the engine's files";
                self.ctx
                    .err_help(src, span, format!("{}: {m}", spec.name), help);
            }
        }
        if spec.settings.logging.is_none() {
            spec.settings.logging = self.fleet_logging.clone();
        }
    }
}

pub(super) fn check_env_key(ctx: &mut Ctx<'_>, src: usize, key: &Key, service: &str) {
    let k = key.get_ref();
    if k.is_empty() || k.contains('=') || k.contains('\0') {
        ctx.err(
            src,
            &key.span(),
            format!("service '{service}': invalid environment variable name '{k}'"),
        );
    }
}

/// A catalog entry as the container `container` (a per-decky service until
/// the caller says otherwise).
pub(super) fn service_spec(
    container: &str,
    service: &str,
    raw: &RawService,
    build: Option<&Build>,
) -> ContainerSpec {
    let image = match (build, &raw.image) {
        (Some(b), _) => b.image.clone(),
        (None, Some(i)) => i.get_ref().clone(),
        (None, None) => String::new(),
    };
    ContainerSpec {
        name: container.to_string(),
        role: Role::Service,
        decky: None,
        service: Some(service.to_string()),
        image,
        entrypoint: raw.entrypoint.as_ref().map(|e| e.get_ref().clone()),
        command: raw.command.as_ref().map(|c| c.get_ref().clone()),
        env: raw
            .env
            .iter()
            .map(|(k, v)| (k.get_ref().clone(), v.clone()))
            .collect(),
        settings: Box::new(Settings {
            cap_add: raw.cap_add.iter().map(|c| c.get_ref().clone()).collect(),
            cap_drop: raw.cap_drop.iter().map(|c| c.get_ref().clone()).collect(),
            volumes: raw.volumes.iter().map(|v| v.get_ref().clone()).collect(),
            logging: raw.logging.as_ref().and_then(|l| logging_of(l.get_ref())),
            ..Settings::default()
        }),
        publish: Vec::new(),
        ports: raw
            .ports
            .iter()
            .flatten()
            .map(|p| *p.get_ref() as u16)
            .collect(),
        hostname: None,
        network: None,
        ip: None,
        lans: BTreeMap::new(),
        topology: None,
        build: build.cloned(),
        base: None,
    }
}

/// `logging = { driver, options }` or `"engine"` as the model holds it;
/// `None` when it is neither.
pub(super) fn logging_of(v: &toml::Value) -> Option<Logging> {
    use crate::settings::ENGINE_LOGGING;
    let t = match v {
        toml::Value::String(s) if s == ENGINE_LOGGING => {
            let driver = s.clone();
            return Some(Logging {
                driver,
                options: BTreeMap::new(),
            });
        }
        toml::Value::Table(t) if t.keys().all(|k| k == "driver" || k == "options") => t,
        _ => return None,
    };
    let driver = t.get("driver")?.as_str()?.to_string();
    let options = match t.get("options") {
        None => BTreeMap::new(),
        Some(toml::Value::Table(o)) => {
            let each = o
                .iter()
                .map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())));
            each.collect::<Option<_>>()?
        }
        Some(_) => return None,
    };
    Some(Logging { driver, options })
}
