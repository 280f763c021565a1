//! Names the fields that force a container's replacement.

use crate::build;
use crate::desired::ContainerSpec;

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
    let show = |v: &Option<Vec<String>>| {
        v.as_ref()
            .map(|c| format!("{c:?}"))
            .unwrap_or_else(|| "(image default)".to_string())
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_string());
    if live.image != want.image {
        // Both built by deckhand from a context: the tag is the content digest.
        let rebuilt = build::is_built(&live.image) && build::is_built(&want.image);
        let context = want.build.as_ref().map(|c| c.display().to_string());
        match (rebuilt, context) {
            (true, Some(dir)) => out.push(format!(
                "image rebuilt: build context {dir} changed ({} -> {})",
                tag(&live.image),
                tag(&want.image)
            )),
            _ => out.push(format!("image {} -> {}", live.image, want.image)),
        }
    }
    for (field, before, after) in [
        ("entrypoint", &live.entrypoint, &want.entrypoint),
        ("command", &live.command, &want.command),
    ] {
        if before != after {
            out.push(format!("{field} {} -> {}", show(before), show(after)));
        }
    }
    for (k, v) in &want.env {
        match live.env.get(k) {
            None => out.push(format!("env {k} added")),
            Some(old) if old != v => out.push(format!("env {k} changed")),
            _ => {}
        }
    }
    for k in live.env.keys().filter(|k| !want.env.contains_key(*k)) {
        out.push(format!("env {k} removed"));
    }
    if live.cap_add != want.cap_add {
        out.push(format!("cap_add {:?} -> {:?}", live.cap_add, want.cap_add));
    }
    let text_fields = [
        ("hostname", &live.hostname, &want.hostname),
        ("network", &live.network, &want.network),
        ("ip", &live.ip, &want.ip),
        ("topology", &live.topology, &want.topology),
    ];
    for (field, before, after) in text_fields {
        if before != after {
            out.push(format!("{field} {} -> {}", opt(before), opt(after)));
        }
    }
    if live.role != want.role || live.decky != want.decky || live.service != want.service {
        out.push("role changed".to_string());
    }
    if out.is_empty() {
        out.push("spec digest differs".to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::Role;

    fn spec() -> ContainerSpec {
        ContainerSpec {
            name: "web-01-ssh".into(),
            role: Role::Service,
            decky: Some("web-01".into()),
            service: Some("ssh".into()),
            image: "decnet/ssh:1.2".into(),
            entrypoint: None,
            command: None,
            env: [("SSH_PASSWORD".to_string(), "admin".to_string())].into(),
            cap_add: vec![],
            ports: vec![22],
            hostname: None,
            network: None,
            ip: None,
            topology: None,
            build: None,
        }
    }

    #[test]
    fn a_new_build_of_the_same_context_says_rebuilt() {
        let mut live = spec();
        live.image = "deckhand-build:ssh-aaaaaaaaaaaa".into();
        let mut want = live.clone();
        want.image = "deckhand-build:ssh-bbbbbbbbbbbb".into();
        want.build = Some("/repo/images/ssh".into());
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
