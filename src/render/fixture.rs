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

/// A network, then decky web-01: its base replaced with a service and a text file.
fn web_01() -> Vec<Change> {
    vec![
        Change {
            host: crate::hosts::LOCAL.to_string(),
            action: Action::Create,
            object: Object::Network {
                name: "decnet_lan".into(),
            },
            reasons: vec!["not present live".into()],
            detail: Detail::Network(NetworkSpec {
                name: "decnet_lan".into(),
                driver: "bridge".into(),
                subnet: Some("172.30.0.0/24".into()),
                gateway: None,
                parent: None,
                ..Default::default()
            }),
        },
        Change {
            host: crate::hosts::LOCAL.to_string(),
            action: Action::Replace,
            object: Object::Decky {
                decky: "web-01".into(),
            },
            reasons: vec![
                "image busybox:1.35 -> busybox:1.36".into(),
                "replaces its services too: web-01-ssh".into(),
            ],
            detail: Detail::Container {
                name: "web-01".into(),
                spec: spec("web-01", Role::Base, Some("web-01"), None),
            },
        },
        Change {
            host: crate::hosts::LOCAL.to_string(),
            action: Action::Replace,
            object: Object::Service {
                decky: "web-01".into(),
                service: "ssh".into(),
            },
            reasons: vec!["its base web-01 is replaced".into()],
            detail: Detail::Container {
                name: "web-01-ssh".into(),
                spec: spec("web-01-ssh", Role::Service, Some("web-01"), Some("ssh")),
            },
        },
        Change {
            host: crate::hosts::LOCAL.to_string(),
            action: Action::Create,
            object: file("web-01", "web-01-ssh", "/home/admin/.bash_history"),
            reasons: vec!["container web-01-ssh is replaced".into()],
            detail: Detail::File(FileChange {
                write: content(b"ls\n"),
                sensitive: false,
                content: ContentChange::TextDiff("@@ -0,0 +1 @@\n+ls\n".into()),
                evidence: None,
                clear: None,
                blocked: None,
            }),
        },
    ]
}

/// Decky web-02's base joining a LAN, live.
fn web_02_lan() -> Change {
    Change {
        host: crate::hosts::LOCAL.to_string(),
        action: Action::Update,
        object: Object::Decky {
            decky: "web-02".into(),
        },
        reasons: vec!["network lan_b attached".into()],
        detail: Detail::Lans(crate::plan::LanChange {
            container: "web-02".into(),
            attach: [("lan_b".to_string(), String::new())].into(),
            detach: vec![],
        }),
    }
}

/// Decky web-02: a LAN joined, a service started, a sensitive file, a deletion.
fn web_02() -> Vec<Change> {
    vec![
        web_02_lan(),
        Change {
            host: crate::hosts::LOCAL.to_string(),
            action: Action::Start,
            object: Object::Service {
                decky: "web-02".into(),
                service: "http".into(),
            },
            reasons: vec!["exited live".into()],
            detail: Detail::Container {
                name: "web-02-http".into(),
                spec: None,
            },
        },
        Change {
            host: crate::hosts::LOCAL.to_string(),
            action: Action::Update,
            object: file("web-02", "web-02", "/root/.aws/credentials"),
            reasons: vec!["content changed".into(), "mode 0644 -> 0600".into()],
            detail: Detail::File(FileChange {
                write: content(b"secret"),
                sensitive: true,
                content: ContentChange::Opaque {
                    before: Some(Digest {
                        size: 12,
                        sha256: Some("aaaaaaaaaaaa".into()),
                    }),
                    after: Some(Digest {
                        size: 6,
                        sha256: Some("bbbbbbbbbbbb".into()),
                    }),
                },
                evidence: None,
                clear: None,
                blocked: None,
            }),
        },
        Change {
            host: crate::hosts::LOCAL.to_string(),
            action: Action::Delete,
            object: file("web-02", "web-02", "/tmp/old"),
            reasons: vec!["dropped by deckhand, no longer in the file".into()],
            detail: Detail::File(FileChange {
                write: None,
                sensitive: true,
                content: ContentChange::Opaque {
                    before: Some(Digest {
                        size: 3,
                        sha256: Some("cccccccccccc".into()),
                    }),
                    after: None,
                },
                evidence: None,
                clear: None,
                blocked: None,
            }),
        },
    ]
}

/// Decky web-03 going, and a singleton.
fn web_03_and_a_singleton() -> Vec<Change> {
    vec![
        Change {
            host: crate::hosts::LOCAL.to_string(),
            action: Action::Delete,
            object: Object::Service {
                decky: "web-03".into(),
                service: "ftp".into(),
            },
            reasons: vec!["decky web-03 is no longer in the file".into()],
            detail: Detail::Container {
                name: "web-03-ftp".into(),
                spec: None,
            },
        },
        Change {
            host: crate::hosts::LOCAL.to_string(),
            action: Action::Delete,
            object: Object::Decky {
                decky: "web-03".into(),
            },
            reasons: vec!["decky web-03 is no longer in the file".into()],
            detail: Detail::Container {
                name: "web-03".into(),
                spec: None,
            },
        },
        Change {
            host: crate::hosts::LOCAL.to_string(),
            action: Action::Create,
            object: Object::Singleton {
                service: "sniffer".into(),
            },
            reasons: vec!["not live".into()],
            detail: Detail::Container {
                name: "corp-sniffer".into(),
                spec: spec("corp-sniffer", Role::Singleton, None, Some("sniffer")),
            },
        },
    ]
}
