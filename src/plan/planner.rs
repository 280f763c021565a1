//! The planner: a pure function from (desired, live) to a [`Plan`].

use std::collections::{BTreeMap, BTreeSet};

use crate::desired::{ContainerSpec, DesiredState, Role};
use crate::live::{LiveContainer, LiveState, Origin};

use super::{spec_diff, Action, Change, Detail, Object, Plan};

/// Why no plan could be made; nothing was changed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("unknown target decky '{name}'\n  help: deckies in the file or live: {known}")]
    UnknownTarget { name: String, known: String },
    #[error("{}", .0.join("\n"))]
    Refused(Vec<String>),
}

/// Plans `live` into `desired` on the engine `host`. With `targets`, only
/// those deckies (and the networks they use) are planned; singletons are left
/// alone.
pub fn plan(
    desired: &DesiredState,
    live: &LiveState,
    targets: &[String],
    host: &str,
) -> Result<Plan, PlanError> {
    check_targets(desired, live, targets)?;
    let in_scope = |decky: Option<&str>| super::in_targets(targets, decky);
    let mut planner = Planner {
        desired,
        live,
        host,
        refusals: Vec::new(),
        fresh: BTreeMap::new(),
        drift: Vec::new(),
        over_budget: live.over_budget.clone(),
        diff_time: BTreeMap::new(),
    };
    let mut changes = planner.networks(&in_scope);
    let mut by_decky: BTreeMap<Option<String>, Vec<Change>> = BTreeMap::new();
    for spec in desired
        .containers
        .iter()
        .filter(|c| in_scope(c.decky.as_deref()))
    {
        let change = planner.container(spec);
        let joins_live = change.as_ref().is_none_or(|c| c.action == Action::Start);
        let lans = joins_live.then(|| planner.lans(spec)).flatten();
        for change in change.into_iter().chain(lans) {
            by_decky.entry(spec.decky.clone()).or_default().push(change);
        }
    }
    let gone = planner.gone(&in_scope);
    for change in gone.into_iter().chain(planner.files(&in_scope)) {
        let decky = change.object.decky().map(str::to_string);
        by_decky.entry(decky).or_default().push(change);
    }
    // A decky over its budget is not planned: its steps are skipped.
    let degraded = planner.degraded(&in_scope);
    for d in &degraded {
        by_decky.remove(&Some(d.decky.clone()));
    }
    planner
        .drift
        .retain(|d| !degraded.iter().any(|g| g.decky == d.decky));
    // Deckies in name order; fleet-wide singletons last.
    let singletons = by_decky.remove(&None).unwrap_or_default();
    changes.extend(by_decky.into_values().flatten());
    changes.extend(singletons);
    if !planner.refusals.is_empty() {
        return Err(PlanError::Refused(planner.refusals));
    }
    mark_decnet(&mut changes, live, &desired.fleet);
    let mut notes = notes(&changes, live, &in_scope);
    notes.extend(degraded.iter().map(degraded_note));
    Ok(Plan {
        fleet: desired.fleet.clone(),
        hosts: vec![host.to_string()],
        unplanned: vec![],
        changes,
        notes,
        drift: planner.drift,
        degraded,
        held: vec![],
    })
}

/// `destroy --networks`: removes every network the file declares that is
/// live. Apply runs these after every container step.
pub fn network_removals(desired: &DesiredState, live: &LiveState, host: &str) -> Vec<Change> {
    let declared = desired.networks.values();
    declared
        .filter(|n| live.networks.contains(&n.name))
        .map(|n| Change {
            host: host.to_string(),
            action: Action::Delete,
            object: Object::Network {
                name: n.name.clone(),
            },
            reasons: vec!["deckhand destroy --networks".to_string()],
            detail: Detail::Network(n.clone()),
        })
        .collect()
}

/// Every target must name a decky of the file or of the engine.
fn check_targets(
    desired: &DesiredState,
    live: &LiveState,
    targets: &[String],
) -> Result<(), PlanError> {
    let mut known: BTreeSet<&str> = desired.deckies.iter().map(String::as_str).collect();
    known.extend(desired.destroying.iter().map(String::as_str));
    known.extend(live.containers.values().filter_map(|c| c.decky.as_deref()));
    match targets.iter().find(|t| !known.contains(t.as_str())) {
        Some(t) => Err(PlanError::UnknownTarget {
            name: t.clone(),
            known: known.into_iter().collect::<Vec<_>>().join(", "),
        }),
        None => Ok(()),
    }
}

/// The note saying a decky was not planned, and why.
fn degraded_note(d: &super::Degraded) -> String {
    format!(
        "decky {} is over its budget: its {} took longer than {} (decky_budget_s); it was not planned and its steps are skipped this time",
        d.decky, d.what, d.limit
    )
}

/// A change to a container DECNET made says that it needs `--adopt`.
fn mark_decnet(changes: &mut [Change], live: &LiveState, fleet: &str) {
    for change in changes {
        let decnet = change
            .container()
            .and_then(|n| live.containers.get(n))
            .is_some_and(|c| c.origin == Origin::Decnet);
        if decnet {
            change
                .reasons
                .push("made by DECNET: needs apply --adopt".to_string());
        }
        let elsewhere = match (&change.object, change.action) {
            (Object::Network { name }, Action::Replace) => live
                .network_specs
                .get(name)
                .is_some_and(|n| super::networks::made_elsewhere(n, fleet)),
            _ => false,
        };
        if elsewhere {
            change
                .reasons
                .push("made by someone else: needs apply --adopt".to_string());
        }
    }
}

/// What the operator should know beside the changes: images to build,
/// DECNET's containers, a lost record.
fn notes(
    changes: &[Change],
    live: &LiveState,
    in_scope: &dyn Fn(Option<&str>) -> bool,
) -> Vec<String> {
    let mut notes = builds_needed(changes, live);
    let decnet: Vec<&str> = live
        .containers
        .values()
        .filter(|c| c.origin == Origin::Decnet && in_scope(c.decky.as_deref()))
        .map(|c| c.name.as_str())
        .collect();
    if !decnet.is_empty() {
        notes.push(format!(
            "{} container(s) were made by DECNET, not deckhand: {}. They are compared with the file like deckhand's own; `deckhand apply --adopt` takes them under management, and until then deckhand changes none of them",
            decnet.len(),
            decnet.join(", ")
        ));
    }
    if live.record.is_none() && !live.containers.is_empty() {
        notes.push("this engine holds no file record of the fleet yet (a new fleet, or a record removed): no file dropped earlier is known, so this plan deletes none; apply starts the record".to_string());
    }
    notes
}

/// A note for each image that apply builds first: the context of a service
/// that is created or replaced, whose tag the engine does not have.
fn builds_needed(changes: &[Change], live: &LiveState) -> Vec<String> {
    let mut images = std::collections::BTreeMap::new();
    for (image, build) in changes.iter().filter_map(Change::built_image) {
        let context = &build.context;
        if !live.images.contains(image) {
            images.insert(image.to_string(), context.display().to_string());
        }
    }
    images
        .into_iter()
        .map(|(image, context)| {
            format!("image {image} is built from {context} before its containers are created")
        })
        .collect()
}

pub(super) struct Planner<'a> {
    pub desired: &'a DesiredState,
    pub live: &'a LiveState,
    /// The engine planned for: every change names it.
    pub host: &'a str,
    pub refusals: Vec<String>,
    /// Containers this plan creates or replaces, with the word for it.
    pub fresh: BTreeMap<String, &'static str>,
    /// Files someone else changed, left as found (`on_drift = "report"`).
    pub drift: Vec<super::Drift>,
    /// Deckies over their budget: their reads (from observing) or diffs.
    pub over_budget: Vec<crate::live::OverBudget>,
    /// Time spent diffing each decky's files so far.
    pub diff_time: BTreeMap<String, std::time::Duration>,
}

impl Planner<'_> {
    /// The deckies in scope over their budget, in name order, as the plan names them.
    fn degraded(&self, in_scope: &dyn Fn(Option<&str>) -> bool) -> Vec<super::Degraded> {
        let mut out: Vec<super::Degraded> = Vec::new();
        for o in &self.over_budget {
            if in_scope(Some(&o.decky)) && !out.iter().any(|d| d.decky == o.decky) {
                out.push(super::Degraded {
                    host: self.host.to_string(),
                    decky: o.decky.clone(),
                    what: o.what.clone(),
                    limit: crate::budget::words(o.limit),
                });
            }
        }
        out.sort_by(|a, b| a.decky.cmp(&b.decky));
        out
    }

    /// Live containers no longer desired: services before their base.
    fn gone(&self, in_scope: &dyn Fn(Option<&str>) -> bool) -> Vec<Change> {
        let mut gone: Vec<&LiveContainer> = self
            .live
            .containers
            .values()
            .filter(|c| self.desired.container(&c.name).is_none() && in_scope(c.decky.as_deref()))
            .collect();
        gone.sort_by_key(|c| (c.decky.clone(), c.role == Some(Role::Base), c.name.clone()));
        let why = |c: &LiveContainer| match &c.decky {
            Some(d) if self.desired.destroying.contains(d) => {
                format!("destroy takes decky {d} down")
            }
            Some(d) if !self.desired.deckies.contains(d) => {
                format!("decky {d} is no longer in the file")
            }
            None if !self.desired.destroying.is_empty() => {
                "destroy takes the fleet down".to_string()
            }
            _ => "no longer in the file".to_string(),
        };
        gone.into_iter()
            .map(|c| Change {
                host: self.host.to_string(),
                action: Action::Delete,
                object: object_of_live(c),
                reasons: vec![why(c)],
                detail: Detail::Container {
                    name: c.name.clone(),
                    spec: None,
                },
            })
            .collect()
    }

    fn networks(&self, in_scope: &dyn Fn(Option<&str>) -> bool) -> Vec<Change> {
        let used: BTreeSet<String> = self
            .desired
            .containers
            .iter()
            .filter(|c| in_scope(c.decky.as_deref()))
            .flat_map(|c| c.joins().into_keys())
            .collect();
        super::networks::changes(self.desired, self.live, self.host, used)
    }

    fn container(&mut self, spec: &ContainerSpec) -> Option<Change> {
        for net in spec.joins().keys() {
            if !self.live.networks.contains(net) && !self.desired.networks.contains_key(net) {
                self.refusals.push(format!("{}: network '{net}' is neither declared in [networks] nor present on the engine\n  help: declare [networks.{net}] or create it first", spec.name));
            }
        }
        let (action, mut reasons) = self.container_action(spec)?;
        if action == Action::Replace {
            self.refuse_loss(spec);
        }
        if matches!(action, Action::Create | Action::Replace) {
            let word = if action == Action::Create {
                "created"
            } else {
                "replaced"
            };
            self.fresh.insert(spec.name.clone(), word);
        }
        if spec.role == Role::Base && action == Action::Replace {
            let taken = self.services_on(&spec.name);
            if !taken.is_empty() {
                reasons.push(format!("replaces its services too: {}", taken.join(", ")));
            }
        }
        Some(Change {
            host: self.host.to_string(),
            action,
            object: object_of_spec(spec),
            reasons,
            detail: Detail::Container {
                name: spec.name.clone(),
                spec: Some(Box::new(spec.clone())),
            },
        })
    }

    /// A replace of a container made with settings the file cannot express
    /// would lose them: refused, naming them (SPEC §7).
    fn refuse_loss(&mut self, spec: &ContainerSpec) {
        let Some(live) = self.live.containers.get(&spec.name) else {
            return;
        };
        if !live.unexpressed.is_empty() {
            self.refusals.push(format!(
                "{}: a replace would lose {}, which deckhand.toml cannot express\n  help: remove the container by hand if the disguise can do without that, or leave the decky out of the file (or plan the others with --target)",
                spec.name,
                live.unexpressed.join(", ")
            ));
        }
    }

    /// The LANs a live base with `networks` joins or leaves to match the
    /// file: an update made live. `None` when they match.
    fn lans(&self, spec: &ContainerSpec) -> Option<Change> {
        let live = self.live.containers.get(&spec.name)?;
        if spec.lans.is_empty() || spec.role != Role::Base {
            return None;
        }
        let lan = super::lans::compare(&spec.lans, &live.lans)?;
        Some(Change {
            host: self.host.to_string(),
            action: Action::Update,
            object: object_of_spec(spec),
            reasons: lan.reasons,
            detail: Detail::Lans(super::LanChange {
                container: spec.name.clone(),
                attach: lan.attach,
                detach: lan.detach,
            }),
        })
    }

    /// What a desired container needs, and why; `None` when it is as it should be.
    fn container_action(&self, spec: &ContainerSpec) -> Option<(Action, Vec<String>)> {
        let base_fresh = spec.base_name().and_then(|b| self.fresh.get(b).copied());
        match self.live.containers.get(&spec.name) {
            None => Some((Action::Create, vec!["not live".to_string()])),
            Some(live) if live.digest.as_deref() != Some(spec.digest().as_str()) => Some((
                Action::Replace,
                spec_diff::reasons(live.spec.as_ref(), spec),
            )),
            Some(_) if base_fresh.is_some() => {
                let base = spec.base_name().unwrap_or_default();
                let word = base_fresh.unwrap_or_default();
                Some((Action::Replace, vec![format!("its base {base} is {word}")]))
            }
            Some(live) if !live.is_running() => {
                let state = if live.state.is_empty() {
                    "not running"
                } else {
                    &live.state
                };
                Some((Action::Start, vec![format!("{state} live")]))
            }
            Some(_) => None,
        }
    }

    /// The live services of the decky whose base is `base`.
    fn services_on(&self, base: &str) -> Vec<&str> {
        let desired = self.desired.containers.iter();
        desired
            .filter(|c| c.base_name() == Some(base) && self.live.containers.contains_key(&c.name))
            .map(|c| c.name.as_str())
            .collect()
    }
}

fn object_of_spec(spec: &ContainerSpec) -> Object {
    let decky = spec.decky.clone().unwrap_or_default();
    let service = spec.service.clone().unwrap_or_default();
    match spec.role {
        Role::Base => Object::Decky { decky },
        Role::Service => Object::Service { decky, service },
        Role::Singleton => Object::Singleton { service },
    }
}

fn object_of_live(c: &LiveContainer) -> Object {
    let decky = c.decky.clone().unwrap_or_default();
    let service = c.service.clone().unwrap_or_else(|| c.name.clone());
    match c.role {
        Some(Role::Base) => Object::Decky { decky },
        Some(Role::Singleton) => Object::Singleton { service },
        _ if c.decky.is_none() => Object::Singleton { service },
        _ => Object::Service { decky, service },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::{Ensure, FileContent, FileSpec, Mtime};
    use crate::live::{LiveFile, LiveFileState};
    use crate::record::FileRecord;

    fn container(name: &str, role: Role, decky: &str, service: Option<&str>) -> ContainerSpec {
        ContainerSpec::minimal(name, role, Some(decky), service, "img:1")
    }

    fn desired() -> DesiredState {
        DesiredState {
            fleet: "corp".into(),
            networks: Default::default(),
            containers: vec![
                container("web", Role::Base, "web", None),
                container("web-ssh", Role::Service, "web", Some("ssh")),
                container("db", Role::Base, "db", None),
            ],
            files: vec![FileSpec {
                decky: "web".into(),
                target: "ssh".into(),
                container: "web-ssh".into(),
                path: "/root/x".into(),
                sensitive: false,
                ensure: Ensure::Present(FileContent {
                    bytes: b"x\n".to_vec(),
                    mode: 0o644,
                    uid: 0,
                    gid: 0,
                    mtime: Mtime::Offset(0),
                }),
                on_drift: Default::default(),
                canary: None,
            }],
            deckies: vec!["db".into(), "web".into()],
            destroying: vec![],
            evidence: Default::default(),
            budget: Default::default(),
            hold_on_session: true,
            rotation: Default::default(),
        }
    }

    /// The live state that applying `d` leaves behind.
    fn converged(d: &DesiredState) -> LiveState {
        let containers = d
            .containers
            .iter()
            .map(|c| {
                let live = LiveContainer {
                    id: format!("id-{}", c.name),
                    name: c.name.clone(),
                    role: Some(c.role),
                    decky: c.decky.clone(),
                    service: c.service.clone(),
                    state: "running".into(),
                    spec: Some(c.clone()),
                    digest: Some(c.digest()),
                    lans: c.joins(),
                    ..Default::default()
                };
                (c.name.clone(), live)
            })
            .collect();
        let files = [(
            ("web-ssh".to_string(), "/root/x".to_string()),
            LiveFile::Present(LiveFileState {
                kind: "file".into(),
                content: crate::live::LiveContent::of(b"x\n"),
                mode: 0o644,
                uid: 0,
                gid: 0,
                mtime: 5,
                link: None,
            }),
        )]
        .into();
        LiveState {
            containers,
            networks: ["bridge".to_string()].into(),
            files,
            record: Some(FileRecord {
                generation: 1,
                files: [("web-ssh".to_string(), "/root/x".to_string())].into(),
                adopted: Default::default(),
                written: Default::default(),
            }),
            images: Default::default(),
            ..Default::default()
        }
    }

    fn summary(p: &Plan) -> Vec<String> {
        p.changes
            .iter()
            .map(|c| {
                format!(
                    "{} {} {}",
                    c.action.as_str(),
                    c.object.kind(),
                    crate::render::text::describe(c)
                )
            })
            .collect()
    }

    #[test]
    fn a_converged_fleet_plans_no_changes() {
        let d = desired();
        assert_eq!(
            plan(&d, &converged(&d), &[], "local").unwrap().changes,
            vec![]
        );
    }

    #[test]
    fn replacing_a_base_replaces_its_services_and_drops_their_files_again() {
        let d = desired();
        let live = converged(&d);
        let mut changed = d.clone();
        changed.containers[0].image = "img:2".into();
        let p = plan(&changed, &live, &[], "local").unwrap();
        assert_eq!(
            summary(&p),
            vec![
                "replace decky decky web",
                "replace service service web-ssh",
                "create file file web-ssh:/root/x"
            ]
        );
        assert_eq!(
            p.changes[0].reasons,
            vec!["image img:1 -> img:2", "replaces its services too: web-ssh"]
        );
        assert_eq!(p.changes[1].reasons, vec!["its base web is replaced"]);
    }

    #[test]
    fn a_missing_base_takes_its_live_services_along() {
        let d = desired();
        let mut live = converged(&d);
        live.containers.remove("web");
        let p = plan(&d, &live, &[], "local").unwrap();
        assert_eq!(
            summary(&p)[..2],
            [
                "create decky decky web".to_string(),
                "replace service service web-ssh".to_string()
            ]
        );
    }

    #[test]
    fn a_decky_over_its_read_budget_is_named_and_its_steps_skipped() {
        let d = desired();
        let mut live = converged(&d);
        live.containers.remove("db");
        live.containers.get_mut("web-ssh").unwrap().state = "exited".into();
        live.files.clear();
        live.over_budget = vec![crate::live::OverBudget {
            decky: "web".into(),
            what: "reads".into(),
            limit: std::time::Duration::from_secs(10),
        }];
        let p = plan(&d, &live, &[], "local").unwrap();
        assert_eq!(summary(&p), vec!["create decky decky db"]);
        let names: Vec<(&str, &str, &str)> = p
            .degraded
            .iter()
            .map(|g| (g.decky.as_str(), g.what.as_str(), g.limit.as_str()))
            .collect();
        assert_eq!(names, vec![("web", "reads", "10s")]);
        assert!(
            p.notes
                .iter()
                .any(|n| n.starts_with("decky web is over its budget")),
            "{:?}",
            p.notes
        );
    }

    #[test]
    fn a_decky_whose_diffs_spend_its_budget_is_skipped_too() {
        let mut d = desired();
        d.budget.per_decky = std::time::Duration::ZERO;
        let mut live = converged(&d);
        live.containers.remove("db");
        let Some(LiveFile::Present(x)) = live.files.values_mut().next() else {
            panic!("a live file")
        };
        x.content = crate::live::LiveContent::of(b"tampered\n");
        let p = plan(&d, &live, &[], "local").unwrap();
        assert_eq!(summary(&p), vec!["create decky decky db"]);
        assert_eq!(p.degraded[0].what, "diffs");
    }

    #[test]
    fn a_file_dropped_earlier_and_gone_from_the_config_is_deleted() {
        let d = desired();
        let live = converged(&d);
        let mut changed = d.clone();
        changed.files.clear();
        let p = plan(&changed, &live, &[], "local").unwrap();
        assert_eq!(summary(&p), vec!["delete file file web-ssh:/root/x"]);
    }

    #[test]
    fn a_decky_gone_from_the_config_loses_its_services_before_its_base() {
        let d = desired();
        let live = converged(&d);
        let mut changed = d.clone();
        changed
            .containers
            .retain(|c| c.decky.as_deref() != Some("web"));
        changed.files.clear();
        changed.deckies.retain(|x| x != "web");
        let p = plan(&changed, &live, &[], "local").unwrap();
        assert_eq!(
            summary(&p),
            vec!["delete service service web-ssh", "delete decky decky web"]
        );
        assert_eq!(
            p.changes[0].reasons,
            vec!["decky web is no longer in the file"]
        );
    }

    #[test]
    fn targets_leave_other_deckies_alone_and_unknown_targets_are_refused() {
        let d = desired();
        let p = plan(&d, &LiveState::default(), &["db".into()], "local").unwrap();
        assert_eq!(summary(&p), vec!["create decky decky db"]);
        let err = plan(&d, &LiveState::default(), &["nope".into()], "local").unwrap_err();
        assert_eq!(
            err,
            PlanError::UnknownTarget {
                name: "nope".into(),
                known: "db, web".into()
            }
        );
    }

    #[test]
    fn a_network_neither_declared_nor_live_is_refused() {
        let mut d = desired();
        d.containers[2].network = Some("lan".into());
        let err = plan(&d, &LiveState::default(), &[], "local").unwrap_err();
        assert!(
            matches!(err, PlanError::Refused(r) if r[0].contains("network 'lan' is neither declared"))
        );
    }

    #[test]
    fn a_lost_record_is_reported() {
        let d = desired();
        let mut live = converged(&d);
        live.record = None;
        let p = plan(&d, &live, &[], "local").unwrap();
        assert_eq!(p.notes[0], "this engine holds no file record of the fleet yet (a new fleet, or a record removed): no file dropped earlier is known, so this plan deletes none; apply starts the record");
    }

    #[test]
    fn lans_of_a_live_base_change_as_an_update_and_nothing_else() {
        let mut d = desired();
        d.containers[0].lans = [("lan_a".to_string(), "10.1.0.5".to_string())].into();
        let mut live = converged(&d);
        live.networks = ["lan_a".to_string(), "lan_b".to_string()].into();
        d.containers[0].lans.insert("lan_b".into(), String::new());
        let p = plan(&d, &live, &[], "local").unwrap();
        assert_eq!(summary(&p), ["update decky decky web networks"]);
        let Detail::Lans(l) = &p.changes[0].detail else {
            panic!("not a LAN change: {:?}", p.changes[0]);
        };
        assert_eq!(l.attach, [("lan_b".to_string(), String::new())].into());
        assert!(l.detach.is_empty());
        assert_eq!(p.changes[0].reasons, ["network lan_b attached"]);
    }

    #[test]
    fn a_replace_that_would_lose_an_unexpressed_setting_is_refused() {
        let d = desired();
        let mut live = converged(&d);
        let ssh = live.containers.get_mut("web-ssh").unwrap();
        ssh.digest = Some("old".into());
        ssh.unexpressed = vec!["privileged".into()];
        let Err(PlanError::Refused(why)) = plan(&d, &live, &[], "local") else {
            panic!("the replace was planned");
        };
        assert!(
            why[0].contains("web-ssh: a replace would lose privileged"),
            "{why:?}"
        );
    }
}
