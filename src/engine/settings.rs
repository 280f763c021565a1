//! [`Settings`] to the engine's create request and back from its inspect
//! answer: the one place each setting is mapped.

use std::collections::BTreeMap;

use bollard::models::{
    ContainerConfig, ContainerCreateBody, DeviceMapping, EndpointSettings, HealthConfig,
    HostConfig, HostConfigLogConfig, ResourcesUlimits, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::{BollardRequest, Docker};

use crate::settings::{
    cpus_nanos, cpus_text, duration_nanos, duration_text, Healthcheck, Logging, Settings, Ulimit,
    ENGINE_LOGGING,
};

fn some_vec(v: &[String]) -> Option<Vec<String>> {
    (!v.is_empty()).then(|| v.to_vec())
}

/// The host config of a container created with `s` (network mode and ports
/// are the caller's).
pub(super) fn host_config(s: &Settings) -> HostConfig {
    HostConfig {
        cap_add: some_vec(&s.cap_add),
        cap_drop: some_vec(&s.cap_drop),
        sysctls: (!s.sysctls.is_empty()).then(|| s.sysctls.clone().into_iter().collect()),
        binds: some_vec(&s.volumes),
        log_config: s
            .logging
            .as_ref()
            .filter(|l| l.driver != ENGINE_LOGGING)
            .map(|l| HostConfigLogConfig {
                typ: Some(l.driver.clone()),
                config: Some(l.options.clone().into_iter().collect()),
            }),
        restart_policy: Some(restart_policy(s.restart.as_deref())),
        memory: s.mem_limit,
        nano_cpus: s.cpus.as_deref().and_then(cpus_nanos),
        pids_limit: s.pids_limit,
        ulimits: (!s.ulimits.is_empty()).then(|| {
            let each = s.ulimits.iter().map(|(name, u)| ResourcesUlimits {
                name: Some(name.clone()),
                soft: Some(u.soft),
                hard: Some(u.hard),
            });
            each.collect()
        }),
        security_opt: some_vec(&s.security_opt),
        tmpfs: (!s.tmpfs.is_empty()).then(|| s.tmpfs.iter().map(|t| tmpfs_entry(t)).collect()),
        readonly_rootfs: s.read_only.then_some(true),
        extra_hosts: some_vec(&s.extra_hosts),
        dns: some_vec(&s.dns),
        dns_search: some_vec(&s.dns_search),
        privileged: s.privileged.then_some(true),
        devices: (!s.devices.is_empty()).then(|| s.devices.iter().map(|d| device(d)).collect()),
        ..Default::default()
    }
}

/// `no`, `always`, `on-failure[:N]`; unset is `unless-stopped`.
fn restart_policy(restart: Option<&str>) -> RestartPolicy {
    let (name, count) = match restart.unwrap_or("unless-stopped").split_once(':') {
        Some((name, n)) => (name.to_string(), n.parse().ok()),
        None => (restart.unwrap_or("unless-stopped").to_string(), None),
    };
    let name = match name.as_str() {
        "no" => RestartPolicyNameEnum::NO,
        "always" => RestartPolicyNameEnum::ALWAYS,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        _ => RestartPolicyNameEnum::UNLESS_STOPPED,
    };
    RestartPolicy {
        name: Some(name),
        maximum_retry_count: count,
    }
}

fn tmpfs_entry(t: &str) -> (String, String) {
    let (path, options) = t.split_once(':').unwrap_or((t, ""));
    (path.to_string(), options.to_string())
}

/// `host[:container[:permissions]]`.
fn device(d: &str) -> DeviceMapping {
    let mut parts = d.splitn(3, ':');
    let host = parts.next().unwrap_or_default().to_string();
    let container = parts
        .next()
        .map(str::to_string)
        .unwrap_or_else(|| host.clone());
    DeviceMapping {
        path_on_host: Some(host),
        path_in_container: Some(container),
        cgroup_permissions: Some(parts.next().unwrap_or("rwm").to_string()),
    }
}

/// The create request `body` (image, command, network mode, ports: the
/// caller's) with the settings `s` on it.
pub(super) fn onto(s: &Settings, body: ContainerCreateBody) -> ContainerCreateBody {
    let host = body.host_config.clone().unwrap_or_default();
    ContainerCreateBody {
        user: s.user.clone(),
        working_dir: s.working_dir.clone(),
        domainname: s.domainname.clone(),
        healthcheck: health_config(s),
        host_config: Some(HostConfig {
            network_mode: host.network_mode,
            port_bindings: host.port_bindings,
            ..host_config(s)
        }),
        ..body
    }
}

/// The health check of the create request.
fn health_config(s: &Settings) -> Option<HealthConfig> {
    s.healthcheck.as_ref().map(|h| {
        let nanos = |d: &Option<String>| d.as_deref().and_then(duration_nanos);
        HealthConfig {
            test: Some(h.test.clone()),
            interval: nanos(&h.interval),
            timeout: nanos(&h.timeout),
            start_period: nanos(&h.start_period),
            retries: h.retries,
            ..Default::default()
        }
    })
}

/// The client that creates a container with `s`: API 1.41 takes a MAC
/// address only as the create request's `MacAddress` (an endpoint's came in
/// 1.44), which bollard's create body no longer has, so it is added to the
/// request's JSON on its way out.
pub(super) fn docker_for(docker: &Docker, s: &Settings) -> Docker {
    match s.mac_address.clone() {
        None => docker.clone(),
        Some(mac) => docker
            .clone()
            .with_request_modifier(move |req| with_mac(req, &mac)),
    }
}

/// A create request with `"MacAddress": mac` in its body.
fn with_mac(req: BollardRequest, mac: &str) -> BollardRequest {
    use futures_util::FutureExt;
    use http_body_util::{BodyExt, Either};
    if !req.uri().path().ends_with("/containers/create") {
        return req;
    }
    let (parts, body) = req.into_parts();
    let Either::Left(full) = body else {
        return BollardRequest::from_parts(parts, body);
    };
    // A full body is ready at once.
    let bytes = match full.collect().now_or_never() {
        Some(Ok(collected)) => collected.to_bytes(),
        _ => bytes::Bytes::new(),
    };
    let with = match serde_json::from_slice(&bytes) {
        Ok(serde_json::Value::Object(mut o)) => {
            o.insert("MacAddress".into(), mac.into());
            serde_json::to_vec(&o).ok().map(bytes::Bytes::from)
        }
        _ => None,
    };
    BollardRequest::from_parts(parts, bollard::body_full(with.unwrap_or(bytes)))
}

/// The MAC address a container asked for on endpoint `e`: its address,
/// unless the one the engine derives from its IPv4 address (`02:42:` and
/// the address's four bytes), which a container that asks for none gets.
pub(super) fn mac_address(e: &EndpointSettings) -> Option<String> {
    let mac = e.mac_address.as_deref().filter(|m| !m.is_empty())?;
    let ip: Option<std::net::Ipv4Addr> = e.ip_address.as_deref().and_then(|i| i.parse().ok());
    let derived = ip.map(|ip| {
        let [a, b, c, d] = ip.octets();
        format!("02:42:{a:02x}:{b:02x}:{c:02x}:{d:02x}")
    });
    (derived.as_deref() != Some(mac)).then(|| mac.to_ascii_lowercase())
}

/// A health check as the engine reports it.
pub(super) fn healthcheck(h: &HealthConfig) -> Option<Healthcheck> {
    let text = |n: Option<i64>| n.filter(|n| *n > 0).map(duration_text);
    Some(Healthcheck {
        test: h.test.clone().filter(|t| !t.is_empty())?,
        interval: text(h.interval),
        timeout: text(h.timeout),
        start_period: text(h.start_period),
        retries: h.retries.filter(|r| *r > 0),
    })
}

/// The settings a container was created with, as the engine reports them.
/// Labels are all of the container's: the caller keeps the operator's own.
pub(super) fn read(config: &ContainerConfig, host: &HostConfig) -> Settings {
    let vec = |v: &Option<Vec<String>>| v.clone().unwrap_or_default();
    let text = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    let mut tmpfs: Vec<String> = host
        .tmpfs
        .iter()
        .flatten()
        .map(|(p, o)| match o.is_empty() {
            true => p.clone(),
            false => format!("{p}:{o}"),
        })
        .collect();
    tmpfs.sort();
    Settings {
        cap_add: vec(&host.cap_add),
        cap_drop: vec(&host.cap_drop),
        persona: None,
        sysctls: host
            .sysctls
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        volumes: vec(&host.binds),
        logging: host.log_config.as_ref().and_then(logging),
        restart: restart(host.restart_policy.as_ref()),
        mem_limit: host.memory.filter(|m| *m > 0),
        cpus: host.nano_cpus.filter(|c| *c > 0).map(cpus_text),
        pids_limit: host.pids_limit.filter(|p| *p > 0),
        ulimits: host.ulimits.iter().flatten().map(ulimit).collect(),
        security_opt: vec(&host.security_opt),
        tmpfs,
        read_only: host.readonly_rootfs == Some(true),
        extra_hosts: vec(&host.extra_hosts),
        dns: vec(&host.dns),
        dns_search: vec(&host.dns_search),
        user: text(&config.user),
        working_dir: text(&config.working_dir),
        labels: config
            .labels
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        privileged: host.privileged == Some(true),
        devices: host.devices.iter().flatten().map(device_text).collect(),
        healthcheck: config.healthcheck.as_ref().and_then(healthcheck),
        // Read from the container's endpoint (see [`mac_address`]).
        mac_address: None,
        // A container in another's network namespace is given that one's
        // domain by the engine: not a setting of its own.
        domainname: text(&config.domainname).filter(|_| !in_anothers_network(host)),
    }
}

fn in_anothers_network(host: &HostConfig) -> bool {
    host.network_mode
        .as_deref()
        .is_some_and(|m| m.starts_with("container:"))
}

/// The log driver and options, unless the engine's default json-file without options.
fn logging(l: &HostConfigLogConfig) -> Option<Logging> {
    let driver = l.typ.clone().unwrap_or_default();
    let options: BTreeMap<String, String> =
        l.config.clone().unwrap_or_default().into_iter().collect();
    (!(driver.is_empty() || driver == "json-file" && options.is_empty()))
        .then_some(Logging { driver, options })
}

fn restart(p: Option<&RestartPolicy>) -> Option<String> {
    let name = p
        .and_then(|p| p.name)
        .map(|n| n.to_string())
        .unwrap_or_default();
    let count = p.and_then(|p| p.maximum_retry_count).filter(|c| *c > 0);
    match (name.as_str(), count) {
        ("" | "unless-stopped", _) => None,
        ("on-failure", Some(n)) => Some(format!("on-failure:{n}")),
        (other, _) => Some(other.to_string()),
    }
}

fn ulimit(u: &ResourcesUlimits) -> (String, Ulimit) {
    let soft = u.soft.unwrap_or_default();
    (
        u.name.clone().unwrap_or_default(),
        Ulimit {
            soft,
            hard: u.hard.unwrap_or(soft),
        },
    )
}

fn device_text(d: &DeviceMapping) -> String {
    let host = d.path_on_host.clone().unwrap_or_default();
    let container = d.path_in_container.clone().unwrap_or_default();
    let perms = d.cgroup_permissions.clone().unwrap_or_default();
    match (container == host, perms.as_str()) {
        (true, "rwm" | "") => host,
        (_, "rwm" | "") => format!("{host}:{container}"),
        _ => format!("{host}:{container}:{perms}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_read_back_as_they_were_given() {
        let s = Settings {
            cap_add: vec!["NET_ADMIN".into()],
            restart: Some("on-failure:3".into()),
            mem_limit: Some(64 << 20),
            cpus: Some("0.5".into()),
            pids_limit: Some(100),
            ulimits: [(
                "nofile".to_string(),
                Ulimit {
                    soft: 1024,
                    hard: 2048,
                },
            )]
            .into(),
            security_opt: vec!["no-new-privileges".into()],
            tmpfs: vec!["/run".into(), "/tmp:size=64m".into()],
            read_only: true,
            extra_hosts: vec!["db:10.0.0.5".into()],
            dns: vec!["9.9.9.9".into()],
            dns_search: vec!["corp.local".into()],
            user: Some("1000:1000".into()),
            working_dir: Some("/srv".into()),
            domainname: Some("corp.local".into()),
            labels: [("team".to_string(), "red".to_string())].into(),
            privileged: true,
            devices: vec!["/dev/null:/dev/x:r".into(), "/dev/zero".into()],
            healthcheck: Some(Healthcheck {
                test: vec!["CMD".into(), "true".into()],
                interval: Some("30s".into()),
                timeout: Some("1500ms".into()),
                start_period: None,
                retries: Some(3),
            }),
            ..Settings::default()
        };
        let body = onto(&s, ContainerCreateBody::default());
        let config = ContainerConfig {
            user: body.user,
            working_dir: body.working_dir,
            domainname: body.domainname,
            healthcheck: body.healthcheck,
            labels: Some(s.labels.clone().into_iter().collect()),
            ..Default::default()
        };
        assert_eq!(read(&config, &body.host_config.unwrap()), s);
    }

    #[test]
    fn a_mac_address_is_the_containers_own_unless_derived_from_its_address() {
        let endpoint = |mac: &str| EndpointSettings {
            mac_address: Some(mac.into()),
            ip_address: Some("172.17.0.2".into()),
            ..Default::default()
        };
        assert_eq!(mac_address(&endpoint("02:42:ac:11:00:02")), None);
        assert_eq!(
            mac_address(&endpoint("02:AA:bb:cc:dd:01")),
            Some("02:aa:bb:cc:dd:01".into())
        );
        assert_eq!(mac_address(&endpoint("")), None);
    }

    #[test]
    fn a_create_request_carries_the_mac_address_in_its_body() {
        use http_body_util::BodyExt;
        let body = bollard::body_full(bytes::Bytes::from_static(br#"{"Image":"x"}"#));
        let mut req = BollardRequest::new(body);
        *req.uri_mut() = "http://engine/v1.41/containers/create?name=a"
            .parse()
            .unwrap();
        let sent = with_mac(req, "02:aa:bb:cc:dd:01").into_body();
        let sent = futures_util::FutureExt::now_or_never(sent.collect()).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&sent.unwrap().to_bytes()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"Image": "x", "MacAddress": "02:aa:bb:cc:dd:01"})
        );
    }

    #[test]
    fn a_service_in_its_bases_network_has_no_domain_of_its_own() {
        let config = ContainerConfig {
            domainname: Some("corp.local".into()),
            ..Default::default()
        };
        let base = HostConfig::default();
        let service = HostConfig {
            network_mode: Some("container:web-01".into()),
            ..Default::default()
        };
        assert_eq!(
            read(&config, &base).domainname.as_deref(),
            Some("corp.local")
        );
        assert_eq!(read(&config, &service).domainname, None);
    }
}
