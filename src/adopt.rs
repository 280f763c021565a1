//! Containers that DECNET's docker-compose made, read as deckhand would have
//! made them, so that an existing deployment can be compared with the file
//! and taken under management (`apply --adopt`) without being recreated.
//!
//! DECNET names a decky's base `<decky>` and its services `<decky>-<service>`,
//! labels the services `decnet.fleet.decky` / `decnet.fleet.service_name`, and
//! joins each service to its base's network namespace.

use std::collections::BTreeMap;

use crate::desired::{ContainerSpec, Role};
use crate::engine::{ContainerDetails, ContainerInfo, ImageDefaults};
use crate::labels;
use crate::live::{LiveState, Origin};
use crate::plan::Plan;
use crate::settings::{Settings, ENGINE_LOGGING};

/// Containers DECNET made, not adopted yet, that `plan` would change.
pub fn touched<'a>(plan: &'a Plan, live: &LiveState) -> Vec<&'a str> {
    let mut names: Vec<&str> = plan
        .changes
        .iter()
        .filter_map(|c| c.container())
        .filter(|n| {
            live.containers
                .get(*n)
                .is_some_and(|c| c.origin == Origin::Decnet)
        })
        .collect();
    names.dedup();
    names.extend(plan.changes.iter().filter_map(|c| {
        match (&c.object, c.action) {
            (crate::plan::Object::Network { name }, crate::plan::Action::Replace)
                if live
                    .network_specs
                    .get(name)
                    .is_some_and(|n| crate::plan::networks::made_elsewhere(n, &plan.fleet)) =>
            {
                Some(name.as_str())
            }
            _ => None,
        }
    }));
    names
}

/// Whether `c`, which carries no deckhand fleet label, was made by DECNET:
/// a service with DECNET's labels, a base such a service names, or a
/// container docker-compose made.
pub fn is_decnet(c: &ContainerInfo, all: &[ContainerInfo]) -> bool {
    is_decnet_service(c)
        || c.labels.contains_key("com.docker.compose.project")
        || all.iter().any(|s| {
            is_decnet_service(s) && decnet_service_of(&s.labels).map(|d| d.0) == Some(&c.name)
        })
}

/// The decky and service a DECNET service container's labels name: its
/// fleet's (`decnet.fleet.*`) or its MazeNET topology's (`decnet.topology.*`).
pub fn decnet_service_of(l: &BTreeMap<String, String>) -> Option<(&String, &String)> {
    let fleet = (
        l.get(labels::DECNET_DECKY),
        l.get(labels::DECNET_SERVICE_NAME),
    );
    let topology = (
        l.get(labels::DECNET_TOPOLOGY_DECKY),
        l.get(labels::DECNET_TOPOLOGY_SERVICE_NAME),
    );
    match (fleet, topology) {
        ((Some(d), Some(s)), _) | (_, (Some(d), Some(s))) => Some((d, s)),
        _ => None,
    }
}

/// Whether `c` is a per-decky service DECNET made: its labels name its decky
/// and service, and no deckhand fleet claims it. (`import` starts from these.)
pub fn is_decnet_service(c: &ContainerInfo) -> bool {
    !c.labels.contains_key(labels::FLEET) && decnet_service_of(&c.labels).is_some()
}

/// Role, decky and service of a DECNET container, from its labels and name.
pub fn identity(c: &ContainerInfo) -> (Role, String, Option<String>) {
    match decnet_service_of(&c.labels) {
        Some((decky, service)) => (Role::Service, decky.clone(), Some(service.clone())),
        None => match c.labels.get(labels::DECNET_TOPOLOGY_DECKY) {
            Some(decky) => (Role::Base, decky.clone(), None),
            None => (Role::Base, c.name.clone(), None),
        },
    }
}

/// What container `c`, in the part of `role`, was created with that a
/// deckhand file cannot give that part: a replace would lose it.
pub fn unexpressed(role: Role, c: &ContainerDetails) -> Vec<String> {
    let mut out = c.extra_settings.clone();
    let checks: &[(&str, bool)] = match role {
        Role::Base => &[],
        Role::Service => &[
            ("sysctls", !c.settings.sysctls.is_empty()),
            ("ports", !c.publish.is_empty()),
        ],
        Role::Singleton => &[],
    };
    for (name, on) in checks {
        if *on {
            out.push(name.to_string());
        }
    }
    out
}

/// `KEY=value` entries the container sets beyond its image's.
fn own_env(env: &[String], image: &ImageDefaults) -> BTreeMap<String, String> {
    env.iter()
        .filter(|e| !image.env.contains(e))
        .filter_map(|e| e.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The settings of `c` as the file would give them: values equal to the
/// image's count as unset, labels are the operator's own.
fn observed_settings(
    want: &ContainerSpec,
    c: &ContainerDetails,
    image: &ImageDefaults,
) -> Settings {
    let mut s = c.settings.clone();
    // The persona names the sysctls the file gives: the same values, the same persona.
    s.persona = want
        .settings
        .persona
        .clone()
        .filter(|_| s.sysctls == want.settings.sysctls);
    // The engine gives every container its daemon's default log options,
    // indistinguishable through the API from a container's own: compared
    // only where the file sets logging, and never for `logging = "engine"`.
    s.logging = match &want.settings.logging {
        Some(l) if l.driver == ENGINE_LOGGING => Some(l.clone()),
        Some(_) => s.logging,
        None => None,
    };
    s.user = s.user.filter(|u| Some(u) != image.user.as_ref());
    s.working_dir = s
        .working_dir
        .filter(|d| Some(d) != image.working_dir.as_ref());
    s.labels
        .retain(|k, v| !labels::is_tool_label(k) && image.labels.get(k) != Some(v));
    s.healthcheck = s
        .healthcheck
        .and_then(|h| own_healthcheck(h, image.healthcheck.as_ref()));
    s
}

/// A container's health check less what it inherits from its image's: the
/// engine fills in every part a container leaves unset from the image's, so
/// a part equal to the image's counts as unset, and all of it as none.
fn own_healthcheck(
    h: crate::settings::Healthcheck,
    image: Option<&crate::settings::Healthcheck>,
) -> Option<crate::settings::Healthcheck> {
    let Some(image) = image else {
        return Some(h);
    };
    if h == *image {
        return None;
    }
    let own =
        |mine: Option<String>, theirs: &Option<String>| mine.filter(|m| Some(m) != theirs.as_ref());
    Some(crate::settings::Healthcheck {
        interval: own(h.interval, &image.interval),
        timeout: own(h.timeout, &image.timeout),
        start_period: own(h.start_period, &image.start_period),
        retries: h.retries.filter(|r| Some(*r) != image.retries),
        test: h.test,
    })
}

/// Where a base or singleton `c` joins, in the place of `want`: its one
/// network and address, or its LANs (when it is on several, or the file
/// names LANs). A service joins none of its own.
fn joins_of(
    want: &ContainerSpec,
    c: &ContainerDetails,
) -> (Option<String>, Option<String>, BTreeMap<String, String>) {
    if want.role == Role::Service {
        return (None, None, BTreeMap::new());
    }
    if !want.lans.is_empty() || c.networks.len() > 1 {
        let lans = c.networks.iter();
        let lans = lans.map(|(n, ip)| (n.clone(), ip.clone().unwrap_or_default()));
        return (None, None, lans.collect());
    }
    // The one named in its network mode, else its only one.
    let network = if c.networks.contains_key(&c.network_mode) || c.networks.len() != 1 {
        c.network_mode.clone()
    } else {
        c.networks.keys().next().cloned().unwrap_or_default()
    };
    let ip = c.networks.get(&network).cloned().flatten();
    (Some(network), ip, BTreeMap::new())
}

/// The spec of container `c` in the place of `want` (which gives name, role,
/// decky, service and topology: labels that DECNET's containers do not carry).
/// Values equal to the image's defaults count as unset, as in a deckhand spec.
pub fn observed_spec(
    want: &ContainerSpec,
    c: &ContainerDetails,
    image: &ImageDefaults,
) -> ContainerSpec {
    let unless_default = |v: &Option<Vec<String>>, default: &Option<Vec<String>>| {
        if v == default {
            None
        } else {
            v.clone()
        }
    };
    let base = want.role != Role::Service;
    let (network, ip, lans) = joins_of(want, c);
    ContainerSpec {
        name: want.name.clone(),
        role: want.role,
        decky: want.decky.clone(),
        service: want.service.clone(),
        image: c.image.clone(),
        entrypoint: unless_default(&c.entrypoint, &image.entrypoint),
        // A base always names its command (default: sleep infinity).
        command: match base {
            true => c.command.clone().or_else(|| image.command.clone()),
            false => unless_default(&c.command, &image.command),
        },
        env: own_env(&c.env, image),
        settings: Box::new(observed_settings(want, c, image)),
        publish: c.publish.clone(),
        ports: want.ports.clone(),
        hostname: base.then(|| c.hostname.clone()),
        network,
        ip,
        lans,
        topology: want.topology.clone(),
        build: None,
        base: None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn details() -> ContainerDetails {
        ContainerDetails {
            id: "abc".into(),
            name: "decky-01".into(),
            image: "busybox:1".into(),
            entrypoint: None,
            command: Some(vec!["sleep".into(), "infinity".into()]),
            env: vec!["PATH=/bin".into(), "HOSTNAME=decky-01".into()],
            hostname: "decky-01".into(),
            network_mode: "decnet_lan".into(),
            networks: [("decnet_lan".to_string(), Some("172.30.0.10".to_string()))].into(),
            labels: BTreeMap::new(),
            ..Default::default()
        }
    }

    /// A busybox-like image: `sh` as its command, `PATH` in its environment.
    pub(crate) fn image() -> ImageDefaults {
        ImageDefaults {
            entrypoint: None,
            command: Some(vec!["sh".into()]),
            env: vec!["PATH=/bin".into()],
            ..Default::default()
        }
    }

    #[test]
    fn a_decnet_base_reads_as_the_spec_deckhand_would_write() {
        let mut want =
            ContainerSpec::minimal("decky-01", Role::Base, Some("decky-01"), None, "busybox:1");
        want.command = Some(vec!["sleep".into(), "infinity".into()]);
        want.hostname = Some("decky-01".into());
        want.network = Some("decnet_lan".into());
        want.ip = Some("172.30.0.10".into());
        want.env = [("HOSTNAME".to_string(), "decky-01".to_string())].into();
        let seen = observed_spec(&want, &details(), &image());
        assert_eq!(seen, want);
        assert_eq!(seen.digest(), want.digest());
    }

    #[test]
    fn an_image_health_check_counts_as_unset() {
        use crate::settings::Healthcheck;
        let check = |test: &str, interval: &str| Healthcheck {
            test: vec!["CMD".into(), test.into()],
            interval: Some(interval.into()),
            timeout: None,
            start_period: None,
            retries: None,
        };
        let image = ImageDefaults {
            healthcheck: Some(check("true", "30s")),
            ..image()
        };
        let want = ContainerSpec::minimal("d-ssh", Role::Service, Some("d"), Some("ssh"), "i");
        let mut c = details();
        c.settings.healthcheck = Some(check("true", "30s"));
        assert_eq!(observed_spec(&want, &c, &image).settings.healthcheck, None);
        c.settings.healthcheck = Some(check("false", "30s"));
        let own = observed_spec(&want, &c, &image)
            .settings
            .healthcheck
            .unwrap();
        assert_eq!((own.test[1].as_str(), own.interval), ("false", None));
        c.settings.healthcheck = Some(check("true", "10s"));
        let seen = observed_spec(&want, &c, &image).settings.healthcheck;
        assert_eq!(seen.unwrap().interval.as_deref(), Some("10s"));
    }

    #[test]
    fn image_defaults_count_as_unset_and_services_have_no_network_of_their_own() {
        let want = ContainerSpec::minimal(
            "decky-01-ssh",
            Role::Service,
            Some("decky-01"),
            Some("ssh"),
            "busybox:1",
        );
        let mut c = details();
        c.command = Some(vec!["sh".into()]);
        c.env = vec!["PATH=/bin".into()];
        c.network_mode = "container:0123".into();
        c.networks.clear();
        let seen = observed_spec(&want, &c, &image());
        assert_eq!(seen, want);
    }
}
