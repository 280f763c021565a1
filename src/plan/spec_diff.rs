//! Names the fields that force a container's replacement.

use std::collections::BTreeMap;

use crate::build;
use crate::desired::ContainerSpec;
use crate::settings::Settings;

/// The part after the repository: `ssh-1a2b3c4d5e6f`.
fn tag(image: &str) -> &str {
    image.rsplit_once(':').map(|(_, t)| t).unwrap_or(image)
}

/// Why `live` must be replaced by `want`, field by field. Environment values
/// are never shown: they may hold passwords.
pub fn reasons(live: Option<&ContainerSpec>, want: &ContainerSpec) -> Vec<String> {
    let Some(live) = live else {
        return vec!["created from an unknown spec (no readable deckhand.spec label)".to_string()];
    };
    let mut out = Vec::new();
    out.extend(image(&live.image, want));
    out.extend(argv(live, want));
    out.extend(env(&live.env, &want.env));
    out.extend(Settings::reasons(&live.settings, &want.settings));
    if live.publish != want.publish {
        out.push(format!("publish {:?} -> {:?}", live.publish, want.publish));
    }
    out.extend(texts(live, want));
    if live.role != want.role || live.decky != want.decky || live.service != want.service {
        out.push("role changed".to_string());
    }
    if out.is_empty() {
        out.push("spec digest differs".to_string());
    }
    out
}

/// A changed image; for two of deckhand's builds, the context that changed.
fn image(live: &str, want: &ContainerSpec) -> Option<String> {
    if live == want.image {
        return None;
    }
    // Both built by deckhand from a context: the tag is the content digest.
    let rebuilt = build::is_built(live) && build::is_built(&want.image);
    let context = want.build.as_ref().map(|b| b.context.display().to_string());
    Some(match (rebuilt, context) {
        (true, Some(dir)) => format!(
            "image rebuilt: build context {dir} changed ({} -> {})",
            tag(live),
            tag(&want.image)
        ),
        _ => format!("image {live} -> {}", want.image),
    })
}

/// A changed entrypoint or command, with both values.
fn argv(live: &ContainerSpec, want: &ContainerSpec) -> Vec<String> {
    let show = |v: &Option<Vec<String>>| {
        v.as_ref()
            .map(|c| format!("{c:?}"))
            .unwrap_or_else(|| "(image default)".to_string())
    };
    let fields = [
        ("entrypoint", &live.entrypoint, &want.entrypoint),
        ("command", &live.command, &want.command),
    ];
    let changed = fields
        .into_iter()
        .filter(|(_, before, after)| before != after);
    changed
        .map(|(field, before, after)| format!("{field} {} -> {}", show(before), show(after)))
        .collect()
}

/// Environment variables added, changed or removed, by name only.
fn env(live: &BTreeMap<String, String>, want: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in want {
        match live.get(k) {
            None => out.push(format!("env {k} added")),
            Some(old) if old != v => out.push(format!("env {k} changed")),
            _ => {}
        }
    }
    for k in live.keys().filter(|k| !want.contains_key(*k)) {
        out.push(format!("env {k} removed"));
    }
    out
}

/// The hostname, network, address and topology, with both values.
fn texts(live: &ContainerSpec, want: &ContainerSpec) -> Vec<String> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_string());
    let fields = [
        ("hostname", &live.hostname, &want.hostname),
        ("network", &live.network, &want.network),
        ("ip", &live.ip, &want.ip),
        ("topology", &live.topology, &want.topology),
    ];
    let changed = fields
        .into_iter()
        .filter(|(_, before, after)| before != after);
    changed
        .map(|(field, before, after)| format!("{field} {} -> {}", opt(before), opt(after)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::Role;

    fn spec() -> ContainerSpec {
        let mut spec = ContainerSpec::minimal(
            "web-01-ssh",
            Role::Service,
            Some("web-01"),
            Some("ssh"),
            "decnet/ssh:1.2",
        );
        spec.env = [("SSH_PASSWORD".to_string(), "admin".to_string())].into();
        spec.ports = vec![22];
        spec
    }

    #[test]
    fn a_persona_change_names_each_sysctl_and_the_persona() {
        let mut live = spec();
        live.settings.persona = Some("linux".into());
        live.settings.sysctls = crate::persona::sysctls("linux").unwrap();
        let mut want = live.clone();
        want.settings.persona = Some("windows".into());
        want.settings.sysctls = crate::persona::sysctls("windows").unwrap();
        want.settings.volumes = vec!["/q/a:/var/lib/systemd/coredump:rw".into()];
        want.settings.logging = Some(crate::desired::Logging {
            driver: "json-file".into(),
            options: [("max-size".to_string(), "10m".to_string())].into(),
        });
        let r = reasons(Some(&live), &want);
        for expected in [
            "persona linux -> windows",
            "sysctl net.ipv4.ip_default_ttl 64 -> 128",
            "sysctl net.ipv4.tcp_ecn 2 -> 0",
            "volume added: /q/a:/var/lib/systemd/coredump:rw",
            "logging changed",
        ] {
            assert!(r.contains(&expected.to_string()), "{expected}: {r:?}");
        }
    }

    // Regression guard: fields left unset must not change the spec's digest,
    // or every container made before them would be replaced on upgrade.
    #[test]
    fn unset_disguise_fields_leave_the_serialised_spec_as_it_was() {
        let json = serde_json::to_string(&spec()).unwrap();
        for key in ["cap_drop", "persona", "sysctls", "volumes", "logging"] {
            assert!(!json.contains(key), "{key} in {json}");
        }
    }

    #[test]
    fn a_new_build_of_the_same_context_says_rebuilt() {
        let mut live = spec();
        live.image = "deckhand-build:ssh-aaaaaaaaaaaa".into();
        let mut want = live.clone();
        want.image = "deckhand-build:ssh-bbbbbbbbbbbb".into();
        want.build = Some(crate::build::Build::unread("ssh", "/repo/images/ssh"));
        assert_eq!(
            reasons(Some(&live), &want),
            vec!["image rebuilt: build context /repo/images/ssh changed (ssh-aaaaaaaaaaaa -> ssh-bbbbbbbbbbbb)"]
        );
        // A switch from a registry image to a build names both images.
        assert_eq!(
            reasons(Some(&spec()), &want),
            vec!["image decnet/ssh:1.2 -> deckhand-build:ssh-bbbbbbbbbbbb"]
        );
    }

    #[test]
    fn an_image_change_names_both_images() {
        let mut want = spec();
        want.image = "decnet/ssh:1.3".into();
        assert_eq!(
            reasons(Some(&spec()), &want),
            vec!["image decnet/ssh:1.2 -> decnet/ssh:1.3"]
        );
    }

    #[test]
    fn env_changes_name_the_key_but_never_the_value() {
        let mut want = spec();
        want.env.insert("SSH_PASSWORD".into(), "hunter2".into());
        want.env.insert("BANNER".into(), "x".into());
        let r = reasons(Some(&spec()), &want);
        assert_eq!(r, vec!["env BANNER added", "env SSH_PASSWORD changed"]);
        assert!(!r.join(" ").contains("hunter2"));
    }
}
