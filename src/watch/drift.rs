//! Containers recreated or changed behind watch's back (DECNET's mutator
//! runs `docker compose up --remove-orphans`; a person runs `docker`): at
//! the start of each pass, every managed container is compared with what
//! the last pass left. An id that differs, where deckhand did not replace
//! it, is a `drift` event and a log line naming what changed and, where its
//! labels say, who (a compose project). The pass then reconciles as usual.

use std::collections::BTreeMap;

use serde_json::json;

use crate::fleet::Planned;
use crate::live::LiveContainer;
use crate::plan::Action;

use super::say::Say;

/// What the last pass left: per (host, container name), its id and spec.
#[derive(Debug, Default)]
pub struct Known {
    last: BTreeMap<(String, String), LiveContainer>,
}

/// A managed container someone else recreated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recreated {
    pub host: String,
    pub kind: &'static str,
    pub decky: Option<String>,
    pub container: String,
    pub what: String,
}

impl Known {
    /// Compares what `planned` observed with what the last pass left, then
    /// remembers it, less what the plans will create, replace or remove
    /// (their next ids are deckhand's own: learnt at the next pass).
    pub fn observe(&mut self, planned: &[Planned]) -> Vec<Recreated> {
        let mut out = Vec::new();
        for p in planned {
            let host = &p.site.host.name;
            for (name, now) in &p.live.containers {
                let key = (host.clone(), name.clone());
                if let Some(was) = self.last.get(&key).filter(|was| was.id != now.id) {
                    out.push(recreated(host, was, now));
                }
                self.last.insert(key, now.clone());
            }
            for c in &p.plan.changes {
                let ours = matches!(c.action, Action::Create | Action::Replace | Action::Delete);
                if let (true, Some(name)) = (ours, c.container()) {
                    self.last.remove(&(host.clone(), name.to_string()));
                }
            }
        }
        out
    }
}

/// What changed between `was` and `now` of one container, and who did it.
fn recreated(host: &str, was: &LiveContainer, now: &LiveContainer) -> Recreated {
    let mut what = format!(
        "recreated outside deckhand (id {} -> {})",
        short(&was.id),
        short(&now.id)
    );
    match (&was.spec, &now.spec) {
        (Some(a), Some(b)) if a != b => {
            let changes = crate::plan::spec_changes(Some(a), b);
            what.push_str(&format!("; spec changed: {}", changes.join(", ")));
        }
        (a, b) if a.is_some() != b.is_some() => what.push_str("; spec changed"),
        _ => {}
    }
    if let Some(project) = &now.compose_project {
        what.push_str(&format!("; by docker-compose project {project}"));
    }
    let kind = match (&now.service, &now.decky) {
        (Some(_), Some(_)) => "service",
        (Some(_), None) => "singleton",
        _ => "decky",
    };
    Recreated {
        host: host.to_string(),
        kind,
        decky: now.decky.clone(),
        container: now.name.clone(),
        what,
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// Tells of each recreated container: a log line, or a `drift` event.
pub fn tell(fleet: &str, recreated: &[Recreated], say: Say) {
    for r in recreated {
        let line = format!("drift {} {}: {}", r.kind, r.container, r.what);
        say.line(&crate::safe::escape(&line));
        let mut e = crate::render::events_json::event("drift", fleet);
        e.insert("host".into(), json!(r.host));
        e.insert("kind".into(), json!(r.kind));
        e.insert("decky".into(), json!(r.decky));
        e.insert("container".into(), json!(r.container));
        e.insert("path".into(), json!(null));
        e.insert("what".into(), json!(r.what));
        say.event(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::{ContainerSpec, Role};

    fn container(id: &str, env: &str, project: Option<&str>) -> LiveContainer {
        let mut spec =
            ContainerSpec::minimal("web-ssh", Role::Service, Some("web"), Some("ssh"), "img");
        spec.env.insert("BANNER".into(), env.into());
        LiveContainer {
            id: id.into(),
            name: "web-ssh".into(),
            decky: Some("web".into()),
            service: Some("ssh".into()),
            spec: Some(spec),
            compose_project: project.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn a_recreate_names_the_ids_the_spec_change_and_the_compose_project() {
        let was = container("aaaaaaaaaaaaaaaa", "one", None);
        let now = container("bbbbbbbbbbbbbbbb", "two", Some("decnet"));
        let r = recreated("local", &was, &now);
        assert_eq!(r.kind, "service");
        assert_eq!(
            r.what,
            "recreated outside deckhand (id aaaaaaaaaaaa -> bbbbbbbbbbbb); spec changed: env BANNER changed; by docker-compose project decnet"
        );
        let same = recreated("local", &was, &container("cccc", "one", None));
        assert_eq!(
            same.what,
            "recreated outside deckhand (id aaaaaaaaaaaa -> cccc)"
        );
    }
}
