//! Engagement-aware changes (SPEC §11): a decky with a live inbound session
//! is not replaced, restarted or restored while it lasts — a restore in the
//! middle of an intruder's session ends the engagement deckhand is there to
//! watch. The plan holds those changes back and says why; `--force`
//! applies them anyway; watch looks again until the session ends.
//!
//! Sessions are read from the host ([`crate::observe::host::sessions`]),
//! so only on a local engine with deckhand as root; elsewhere nothing is
//! held, and `--verbose` says why.

use crate::desired::{DesiredState, Role};
use crate::engine::{Engine, Running};
use crate::observe::host::{sessions, unavailable};
use crate::plan::{Action, Change, Held, Object, Plan};

/// Whether a change would end a session: a replace, a restart, a file written or deleted.
fn disrupts(change: &Change) -> bool {
    matches!(change.action, Action::Replace | Action::Start)
        || matches!(change.object, Object::File { .. })
        || crate::rotation::is_rotation(&change.reasons)
}

/// Moves the disruptive changes of every engaged decky of `plan` into its
/// `held`, with a note each.
pub async fn hold(engine: &Engine, desired: &DesiredState, plan: &mut Plan) {
    if !desired.hold_on_session {
        return;
    }
    let deckies: std::collections::BTreeSet<String> = plan
        .changes
        .iter()
        .filter(|c| disrupts(c))
        .filter_map(|c| c.object.decky().map(str::to_string))
        .collect();
    if deckies.is_empty() {
        return;
    }
    if let Some(why) = unavailable(engine) {
        crate::verbose!("sessions not read, nothing held: {why}");
        return;
    }
    for decky in deckies {
        if let Some((base, found)) = engaged(engine, desired, &decky).await {
            hold_decky(plan, decky, found, base);
        }
    }
}

/// `decky`'s base and its live sessions, as `PEER -> port N`, when it has
/// any; `None` when it has none or they cannot be read (said with `--verbose`).
async fn engaged(
    engine: &Engine,
    desired: &DesiredState,
    decky: &str,
) -> Option<(Running, Vec<String>)> {
    let base = desired
        .containers
        .iter()
        .find(|c| c.decky.as_deref() == Some(decky) && c.role == Role::Base)?;
    let running = engine.running_on(&base.name).await.ok()??;
    let found = live_sessions(&running)
        .map_err(|why| crate::verbose!("sessions of {}: not read ({why}); nothing held", base.name))
        .ok()?;
    (!found.is_empty()).then_some((running, found))
}

/// The live inbound sessions of a running base, as `PEER -> port N`.
pub fn live_sessions(base: &Running) -> Result<Vec<String>, String> {
    let found = sessions::read(&base.id, base.pid, &base.gateways)?;
    Ok(found
        .iter()
        .map(|s| format!("{} -> port {}", s.peer, s.port))
        .collect())
}

fn hold_decky(plan: &mut Plan, decky: String, sessions: Vec<String>, base: Running) {
    let (changes, kept): (Vec<Change>, Vec<Change>) = plan
        .changes
        .drain(..)
        .partition(|c| disrupts(c) && c.object.decky() == Some(decky.as_str()));
    plan.changes = kept;
    plan.notes.push(format!(
        "decky {decky} held: live session from {}; its {} change(s) (replaces, restarts, restores) wait until it ends (--force applies them now)",
        sessions.join(", "),
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
        let sessions = vec!["10.0.0.9:5000 -> port 22".into()];
        hold_decky(&mut plan, "a".into(), sessions, base);
        assert_eq!(plan.changes.len(), 2, "a's create and b's replace go on");
        assert_eq!(plan.held[0].changes.len(), 1);
        assert!(plan.notes[0].starts_with(
            "decky a held: live session from 10.0.0.9:5000 -> port 22; its 1 change(s)"
        ));
    }
}
