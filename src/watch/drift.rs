//! Containers recreated, changed or removed behind watch's back (DECNET's
//! mutator runs `docker compose up --remove-orphans`; a person runs
//! `docker`): at the start of each pass, every managed container is
//! compared with what the last pass left. An id that differs, or a
//! container gone, where deckhand did not replace or remove it, is a
//! `drift` event and a log line naming what changed and, where its labels
//! say, who (a compose project). The pass then reconciles as usual.

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

/// A managed container someone else recreated or removed.
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
            out.extend(self.compare(host, &p.live.containers));
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

impl Known {
    /// What differs on `host` from what the last pass left; then `live` is
    /// what is known.
    fn compare(&mut self, host: &str, live: &BTreeMap<String, LiveContainer>) -> Vec<Recreated> {
        let mut out = Vec::new();
        let on_host = |(h, _): &(String, String)| h == host;
        let gone: Vec<(String, String)> = self
            .last
            .keys()
            .filter(|k| on_host(k) && !live.contains_key(&k.1))
            .cloned()
            .collect();
        for key in gone {
            let was = self.last.remove(&key).expect("listed above");
            out.push(removed(host, &was));
        }
        for (name, now) in live {
            let key = (host.to_string(), name.clone());
            if let Some(was) = self.last.get(&key).filter(|was| was.id != now.id) {
                out.push(recreated(host, was, now));
            }
            self.last.insert(key, now.clone());
        }
        out
    }
}

/// A container that is gone, though no plan of deckhand's removed it.
fn removed(host: &str, was: &LiveContainer) -> Recreated {
    Recreated {
        host: host.to_string(),
        kind: kind_of(was),
        decky: was.decky.clone(),
        container: was.name.clone(),
        what: format!("removed outside deckhand (id {})", short(&was.id)),
    }
}

fn kind_of(c: &LiveContainer) -> &'static str {
    match (&c.service, &c.decky) {
        (Some(_), Some(_)) => "service",
        (Some(_), None) => "singleton",
        _ => "decky",
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
    Recreated {
        host: host.to_string(),
        kind: kind_of(now),
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

    #[test]
    fn a_container_gone_is_told_once_and_one_of_another_host_is_not() {
        let mut known = Known::default();
        let live = |c: Option<LiveContainer>| {
            let each = c.into_iter().map(|c| (c.name.clone(), c));
            each.collect::<BTreeMap<_, _>>()
        };
        let ssh = container("aaaaaaaaaaaaaaaa", "one", None);
        assert!(known.compare("local", &live(Some(ssh.clone()))).is_empty());
        assert!(
            known.compare("edge", &live(None)).is_empty(),
            "another engine's"
        );
        let gone = known.compare("local", &live(None));
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].kind, "service");
        assert_eq!(gone[0].what, "removed outside deckhand (id aaaaaaaaaaaa)");
        assert!(known.compare("local", &live(None)).is_empty(), "told once");
        assert!(
            known.compare("local", &live(Some(ssh))).is_empty(),
            "healed: no recreate"
        );
    }
}
