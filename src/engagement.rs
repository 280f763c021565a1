//! Engagement-aware changes (SPEC §11): a decky with a live inbound session
//! is not replaced, restarted or restored while it lasts — a restore in the
//! middle of an intruder's session ends the engagement deckhand is there to
//! watch. The plan holds those changes back and says why; `--force`
//! applies them anyway; watch looks again until the session ends.
//!
//! Sessions are read from the host ([`crate::observe::host::sessions`]),
//! so only on a local engine with deckhand as root; elsewhere nothing is
//! held, and `--verbose` says why. A read gets [`sessions::BUDGET`] on a
//! blocking thread: one that takes longer holds nothing (said with
//! `--verbose`), and never stalls a pass or watch's loop. "Since" is when
//! deckhand first saw the session ([`first_seen`]): the kernel keeps no
//! start time of a connection.

use std::collections::BTreeSet;

use crate::desired::{DesiredState, Role};
use crate::engine::{Engine, Running};
use crate::observe::host::sessions::Session;
use crate::observe::host::{first_seen, sessions, unavailable};
use crate::plan::{Action, Change, Held, Object, Plan};

/// One live session that holds a decky: who, to which port, since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Engagement {
    /// The peer's address and port.
    pub peer: String,
    pub port: u16,
    /// When deckhand first saw it (RFC 3339, UTC).
    pub since: String,
}

impl Engagement {
    /// `PEER -> port N`, as the JSON plan and events list sessions.
    pub fn short(&self) -> String {
        format!("{} -> port {}", self.peer, self.port)
    }

    /// `PEER since TIME (port N)`, as the held note says it (SPEC §11).
    pub fn text(&self) -> String {
        format!("{} since {} (port {})", self.peer, self.since, self.port)
    }
}

/// What a held note says of `sessions`: `live session from PEER since TIME (port N), ...`.
pub fn live_session_from(sessions: &[Engagement]) -> String {
    let each: Vec<String> = sessions.iter().map(Engagement::text).collect();
    format!(
        "live session from {}; since: first seen by deckhand",
        each.join(", ")
    )
}

/// Whether a change would end a session: a replace, a restart, a file written or deleted.
fn disrupts(change: &Change) -> bool {
    matches!(change.action, Action::Replace | Action::Start)
        || matches!(change.object, Object::File { .. })
        || crate::rotation::is_rotation(&change.reasons)
}

/// The deckies with a disruptive change whose base is live: a base the plan
/// creates holds no session, and asking the engine about it would cost one
/// request per new decky (10,000 on a fleet's first plan).
fn disrupted(plan: &Plan) -> BTreeSet<String> {
    let created: BTreeSet<&str> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Create)
        .filter_map(|c| match &c.object {
            Object::Decky { decky } => Some(decky.as_str()),
            _ => None,
        })
        .collect();
    plan.changes
        .iter()
        .filter(|c| disrupts(c))
        .filter_map(|c| c.object.decky())
        .filter(|d| !created.contains(d))
        .map(str::to_string)
        .collect()
}

/// Moves the disruptive changes of every engaged decky of `plan` into its
/// `held`, with a note each.
pub async fn hold(engine: &Engine, desired: &DesiredState, plan: &mut Plan) {
    if !desired.hold_on_session {
        return;
    }
    let deckies = disrupted(plan);
    if deckies.is_empty() {
        return;
    }
    if let Some(why) = unavailable(engine) {
        crate::verbose!("sessions not read, nothing held: {why}");
        return;
    }
    // Read at once: a decky slow to read delays the pass by one budget at most.
    let reads = deckies.iter().map(|d| engaged(engine, desired, d));
    let found = futures_util::future::join_all(reads).await;
    for (decky, found) in deckies.into_iter().zip(found) {
        if let Some((base, found)) = found {
            let now = time::OffsetDateTime::now_utc();
            let since = first_seen::since(&desired.evidence.dir, &base.id, &found, now);
            let found = found
                .iter()
                .map(|s| Engagement {
                    peer: s.peer.to_string(),
                    port: s.port,
                    since: since[s].clone(),
                })
                .collect();
            hold_decky(plan, decky, found, base);
        }
    }
}

/// `decky`'s base and its live sessions, when it has any; `None` when it
/// has none or they cannot be read in time (said with `--verbose`).
async fn engaged(
    engine: &Engine,
    desired: &DesiredState,
    decky: &str,
) -> Option<(Running, BTreeSet<Session>)> {
    let base = desired
        .containers
        .iter()
        .find(|c| c.decky.as_deref() == Some(decky) && c.role == Role::Base)?;
    let running = engine.running_on(&base.name).await.ok()??;
    let found = live_sessions(&running)
        .await
        .map_err(|why| crate::verbose!("sessions of {}: not read ({why}); nothing held", base.name))
        .ok()?;
    (!found.is_empty()).then_some((running, found))
}

/// The live inbound sessions of a running base, read on a blocking thread
/// within [`sessions::BUDGET`].
pub async fn live_sessions(base: &Running) -> Result<BTreeSet<Session>, String> {
    sessions::read_within(&base.id, base.pid, &base.gateways, sessions::BUDGET).await
}

fn hold_decky(plan: &mut Plan, decky: String, sessions: Vec<Engagement>, base: Running) {
    let (changes, kept): (Vec<Change>, Vec<Change>) = plan
        .changes
        .drain(..)
        .partition(|c| disrupts(c) && c.object.decky() == Some(decky.as_str()));
    plan.changes = kept;
    plan.notes.push(format!(
        "decky {decky} held: {}; its {} change(s) (replaces, restarts, restores) wait until it ends (--force applies them now)",
        live_session_from(&sessions),
        changes.len(),
    ));
    let host = changes.first().map(|c| c.host.clone()).unwrap_or_default();
    plan.held.push(Held {
        host,
        decky,
        sessions,
        changes,
        base,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Detail;

    fn change(action: Action, object: Object) -> Change {
        Change {
            host: "local".into(),
            action,
            object,
            reasons: vec![],
            detail: Detail::Container {
                name: "c".into(),
                spec: None,
            },
        }
    }

    #[test]
    fn an_engaged_deckys_disruptive_changes_are_held_and_the_rest_go_on() {
        let service = |d: &str| Object::Service {
            decky: d.into(),
            service: "ssh".into(),
        };
        let mut plan = Plan::merge("f", vec![]);
        plan.changes = vec![
            change(Action::Replace, service("a")),
            change(Action::Create, service("a")),
            change(Action::Replace, service("b")),
        ];
        let base = Running {
            id: "x".repeat(64),
            pid: 1,
            gateways: Default::default(),
        };
        let sessions = vec![Engagement {
            peer: "10.0.0.9:5000".into(),
            port: 22,
            since: "2026-12-04T15:00:00Z".into(),
        }];
        hold_decky(&mut plan, "a".into(), sessions, base);
        assert_eq!(plan.changes.len(), 2, "a's create and b's replace go on");
        assert_eq!(plan.held[0].changes.len(), 1);
        assert!(plan.notes[0].starts_with(
            "decky a held: live session from 10.0.0.9:5000 since 2026-12-04T15:00:00Z (port 22); since: first seen by deckhand; its 1 change(s)"
        ));
    }

    #[test]
    fn a_decky_whose_base_the_plan_creates_is_not_read_for_sessions() {
        let file = |d: &str| Object::File {
            decky: d.into(),
            container: format!("{d}-base"),
            path: "/etc/motd".into(),
        };
        let mut plan = Plan::merge("f", vec![]);
        plan.changes = vec![
            change(
                Action::Create,
                Object::Decky {
                    decky: "new".into(),
                },
            ),
            change(Action::Create, file("new")),
            change(Action::Update, file("old")),
            change(
                Action::Create,
                Object::Decky {
                    decky: "calm".into(),
                },
            ),
        ];
        let read: Vec<String> = disrupted(&plan).into_iter().collect();
        assert_eq!(read, ["old"]);
    }
}
