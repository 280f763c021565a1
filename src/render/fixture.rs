//! A plan with one change of every kind, for the renderers' snapshot tests.

use crate::desired::{ContainerSpec, FileContent, Mtime, NetworkSpec, Role};
use crate::plan::{Action, Change, ContentChange, Detail, Digest, FileChange, Object, Plan};

fn spec(
    name: &str,
    role: Role,
    decky: Option<&str>,
    service: Option<&str>,
) -> Option<std::sync::Arc<ContainerSpec>> {
    Some(std::sync::Arc::new(ContainerSpec::minimal(
        name,
        role,
        decky,
        service,
        "busybox:1.36",
    )))
}

fn content(bytes: &[u8]) -> Option<FileContent> {
    Some(FileContent {
        bytes: bytes.to_vec(),
        mode: 0o600,
        uid: 1000,
        gid: 1000,
        mtime: Mtime::Absolute(0),
    })
}

fn file(decky: &str, container: &str, path: &str) -> Object {
    Object::File {
        decky: decky.into(),
        container: container.into(),
        path: path.into(),
    }
}

pub fn every_kind() -> Plan {
    let mut changes = web_01();
    changes.extend(web_02());
    changes.extend(web_03_and_a_singleton());
    Plan {
        fleet: "corp".into(),
        hosts: vec!["local".into()],
        unplanned: vec![],
        notes: vec![],
        changes,
        drift: vec![],
        degraded: vec![],
        held: vec![],
    }
}

/// A step on the local engine.
fn step(action: Action, object: Object, reasons: &[&str], detail: Detail) -> Change {
    Change {
        host: crate::hosts::LOCAL.to_string(),
        action,
        object,
        reasons: reasons.iter().map(|r| r.to_string()).collect(),
        detail,
    }
}

fn decky(name: &str) -> Object {
    Object::Decky { decky: name.into() }
}

fn service(decky: &str, service: &str) -> Object {
    Object::Service {
        decky: decky.into(),
        service: service.into(),
    }
}

fn container(name: &str, spec: Option<std::sync::Arc<ContainerSpec>>) -> Detail {
    Detail::Container {
        name: name.into(),
        spec,
    }
}

fn digest(size: usize, sha256: &str) -> Option<Digest> {
    let sha256 = Some(sha256.to_string());
    Some(Digest { size, sha256 })
}

/// A network, then decky web-01: its base replaced with a service and a text file.
fn web_01() -> Vec<Change> {
    let lan = NetworkSpec {
        name: "decnet_lan".into(),
        driver: "bridge".into(),
        subnet: Some("172.30.0.0/24".into()),
        ..Default::default()
    };
    let history = ContentChange::TextDiff("@@ -0,0 +1 @@\n+ls\n".into());
    let (base, ssh) = (
        spec("web-01", Role::Base, Some("web-01"), None),
        spec("web-01-ssh", Role::Service, Some("web-01"), Some("ssh")),
    );
    vec![
        step(
            Action::Create,
            Object::Network {
                name: "decnet_lan".into(),
            },
            &["not present live"],
            Detail::Network(lan),
        ),
        step(
            Action::Replace,
            decky("web-01"),
            &[
                "image busybox:1.35 -> busybox:1.36",
                "replaces its services too: web-01-ssh",
            ],
            container("web-01", base),
        ),
        step(
            Action::Replace,
            service("web-01", "ssh"),
            &["its base web-01 is replaced"],
            container("web-01-ssh", ssh),
        ),
        step(
            Action::Create,
            file("web-01", "web-01-ssh", "/home/admin/.bash_history"),
            &["container web-01-ssh is replaced"],
            Detail::File(FileChange::new(content(b"ls\n"), false, history)),
        ),
    ]
}

/// Decky web-02's base joining a LAN, live.
fn web_02_lan() -> Change {
    let lans = crate::plan::LanChange {
        container: "web-02".into(),
        attach: [("lan_b".to_string(), String::new())].into(),
        detach: vec![],
    };
    step(
        Action::Update,
        decky("web-02"),
        &["network lan_b attached"],
        Detail::Lans(lans),
    )
}

/// Decky web-02: a LAN joined, a service started, a sensitive file, a deletion.
fn web_02() -> Vec<Change> {
    let changed = ContentChange::Opaque {
        before: digest(12, "aaaaaaaaaaaa"),
        after: digest(6, "bbbbbbbbbbbb"),
    };
    let gone = ContentChange::Opaque {
        before: digest(3, "cccccccccccc"),
        after: None,
    };
    vec![
        web_02_lan(),
        step(
            Action::Start,
            service("web-02", "http"),
            &["exited live"],
            container("web-02-http", None),
        ),
        step(
            Action::Update,
            file("web-02", "web-02", "/root/.aws/credentials"),
            &["content changed", "mode 0644 -> 0600"],
            Detail::File(FileChange::new(content(b"secret"), true, changed)),
        ),
        step(
            Action::Delete,
            file("web-02", "web-02", "/tmp/old"),
            &["dropped by deckhand, no longer in the file"],
            Detail::File(FileChange::new(None, true, gone)),
        ),
    ]
}

/// Decky web-03 going, and a singleton.
fn web_03_and_a_singleton() -> Vec<Change> {
    let gone = ["decky web-03 is no longer in the file"];
    let sniffer = spec("corp-sniffer", Role::Singleton, None, Some("sniffer"));
    vec![
        step(
            Action::Delete,
            service("web-03", "ftp"),
            &gone,
            container("web-03-ftp", None),
        ),
        step(
            Action::Delete,
            decky("web-03"),
            &gone,
            container("web-03", None),
        ),
        step(
            Action::Create,
            Object::Singleton {
                service: "sniffer".into(),
            },
            &["not live"],
            container("corp-sniffer", sniffer),
        ),
    ]
}
