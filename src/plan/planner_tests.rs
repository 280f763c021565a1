//! The planner, from literal desired and live states.

use super::*;
use std::sync::Arc;

use crate::desired::{Ensure, FileContent, FileSpec, Mtime};
use crate::live::{LiveContainer, LiveFile, LiveFileState};
use crate::record::FileRecord;

fn container(name: &str, role: Role, decky: &str, service: Option<&str>) -> ContainerSpec {
    ContainerSpec::minimal(name, role, Some(decky), service, "img:1")
}

fn desired() -> DesiredState {
    let containers = vec![
        container("web", Role::Base, "web", None),
        container("web-ssh", Role::Service, "web", Some("ssh")),
        container("db", Role::Base, "db", None),
    ];
    DesiredState {
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
        ..DesiredState::of("corp", containers, &["db", "web"])
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
                spec: Some((**c).clone()),
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
    Arc::make_mut(&mut changed.containers[0]).image = "img:2".into();
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
    Arc::make_mut(&mut d.containers[2]).network = Some("lan".into());
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
    Arc::make_mut(&mut d.containers[0]).lans =
        [("lan_a".to_string(), "10.1.0.5".to_string())].into();
    let mut live = converged(&d);
    live.networks = ["lan_a".to_string(), "lan_b".to_string()].into();
    Arc::make_mut(&mut d.containers[0])
        .lans
        .insert("lan_b".into(), String::new());
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

#[test]
fn an_address_held_by_another_container_blocks_the_plan_but_its_own_does_not() {
    use crate::observe::neighbours::Neighbour;
    let mut d = desired();
    Arc::make_mut(&mut d.containers[2]).network = Some("lan".into());
    Arc::make_mut(&mut d.containers[2]).ip = Some("10.1.0.5".into());
    let mut live = converged(&d);
    live.networks.insert("lan".into());
    // Its own container holds the address: a replace is no problem.
    live.containers.get_mut("db").unwrap().digest = Some("old".into());
    assert!(plan(&d, &live, &[], "local").is_ok());
    live.engine.others = vec![Neighbour {
        name: "nc-legacy".into(),
        addresses: [("lan".to_string(), ["10.1.0.5".to_string()].into())].into(),
        published: vec![],
    }];
    let Err(PlanError::Blocked { problems, .. }) = plan(&d, &live, &[], "local") else {
        panic!("the held address was planned");
    };
    assert_eq!(
        problems.iter().map(|p| p.message()).collect::<Vec<_>>(),
        ["decky db: address 10.1.0.5 on network lan is already held by container nc-legacy"]
    );
}

#[test]
fn a_missing_image_is_a_note_with_pull_missing_and_an_error_with_pull_never() {
    let mut d = desired();
    let mut live = converged(&d);
    live.containers.remove("db");
    live.engine.missing_images = ["img:1".to_string()].into();
    let p = plan(&d, &live, &[], "local").unwrap();
    assert!(
        p.notes.contains(
            &"image img:1 is not on the engine: apply pulls it before creating db".to_string()
        ),
        "{:?}",
        p.notes
    );
    d.pull = crate::desired::Pull::Never;
    let err = plan(&d, &live, &[], "local").unwrap_err().to_string();
    assert_eq!(
        err,
        "the plan found 1 problem(s) that apply would fail on; nothing was changed:\n  image img:1 is not on the engine and [fleet] pull = \"never\"; needed by db\n    help: put img:1 on the engine first (docker pull, docker load or docker build), or set [fleet] pull = \"missing\" to have apply pull it"
    );
}

#[test]
fn a_canary_file_is_shown_by_id_and_size_and_no_digest_of_either_side() {
    let mut d = desired();
    let new = b"password=SecretTail\n".to_vec();
    d.files[0].sensitive = true;
    d.files[0].canary = Some("cn-0123456789".into());
    if let Ensure::Present(c) = &mut d.files[0].ensure {
        c.bytes = new.clone();
    }
    let p = plan(&d, &converged(&desired()), &[], "local").unwrap();
    let (mut text, mut json, mut md) = (Vec::new(), Vec::new(), Vec::new());
    crate::render::text::render(&p, &mut text, crate::render::style::Style::PLAIN).unwrap();
    crate::render::json::render(&p, &mut json).unwrap();
    crate::render::markdown::render(&p, &mut md, 1 << 20).unwrap();
    let shown: String = [text, json, md]
        .map(|o| String::from_utf8(o).unwrap())
        .concat();
    assert!(shown.contains("canary cn-0123456789, 20 bytes"), "{shown}");
    assert!(shown.contains(r#""canary": "cn-0123456789""#), "{shown}");
    for bytes in [&new[..], b"x\n"] {
        let full = crate::record::content_digest(bytes);
        assert!(!shown.contains(&full[..8]), "{shown}");
    }
    assert!(!shown.contains("sha256"), "{shown}");
}
