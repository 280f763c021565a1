//! The fleet lock (SPEC §5): one apply or watch pass per fleet and engine.
//!
//! The lock is a never-started holder container named `deckhand.lock.<fleet>`;
//! creating it succeeds for exactly one caller. Its labels name the holder.

use std::collections::BTreeMap;

use crate::engine::{Engine, EngineError};
use crate::{holder, labels};

const OWNER: &str = "deckhand.lock.owner";
const HOST: &str = "deckhand.lock.host";
const PID: &str = "deckhand.lock.pid";
const COMMAND: &str = "deckhand.lock.command";
const SINCE: &str = "deckhand.lock.since";
/// How often, and how far apart, a contended lock is looked at before giving up.
const LOOKS: usize = 10;
const LOOK_AGAIN: std::time::Duration = std::time::Duration::from_millis(100);

/// Who holds a fleet's lock, and since when (escaped: see [`describe`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub fleet: String,
    pub holder: String,
    pub since: String,
}

impl Held {
    /// What a run that finds the lock held does about it.
    pub const HELP: &'static str =
        "wait for that run to end; if it was killed, run `deckhand unlock`";

    /// `fleet 'f' is locked by HOLDER since SINCE`.
    pub fn message(&self) -> String {
        format!(
            "fleet '{}' is locked by {} since {}",
            self.fleet, self.holder, self.since
        )
    }
}

impl std::fmt::Display for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}\n  help: {}", self.message(), Held::HELP)
    }
}

impl std::error::Error for Held {}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(transparent)]
    Held(Held),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// A held lock; release it with [`FleetLock::release`].
pub struct FleetLock {
    name: String,
    /// The lock a process gone from this host left, taken over to get this one.
    pub took_over: Option<Held>,
}

fn lock_name(fleet: &str) -> String {
    format!("deckhand.lock.{fleet}")
}

fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string())
}

/// Who runs this process: the login name of its uid (not `$USER`, which
/// cron, systemd and `sudo -i` leave unset or wrong), and the person behind
/// a `sudo`: `alice (root via sudo)`.
fn this_user() -> String {
    let uid = rustix::process::getuid().as_raw();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    user_label(
        uid,
        name_in_passwd(&passwd, uid),
        std::env::var("SUDO_USER").ok(),
    )
}

/// `name`, else `uid N`; `SUDO_USER` first when it is someone else.
fn user_label(uid: u32, name: Option<String>, sudo_user: Option<String>) -> String {
    let name = name.unwrap_or_else(|| format!("uid {uid}"));
    match sudo_user {
        Some(s) if !s.is_empty() && s != name => format!("{s} ({name} via sudo)"),
        _ => name,
    }
}

/// The login name of `uid` in an `/etc/passwd` text.
fn name_in_passwd(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id = fields.nth(1)?;
        (id.parse() == Ok(uid)).then(|| name.to_string())
    })
}

/// The holder and since when, as the lock's labels say; they are on the
/// engine, where anyone with access wrote them, so they are escaped here,
/// once, for every message that names them.
fn describe(l: &BTreeMap<String, String>) -> (String, String) {
    let get = |k: &str| {
        let value = l.get(k).map(String::as_str).unwrap_or("?");
        crate::safe::escape(value).into_owned()
    };
    (
        format!(
            "{}@{} (pid {}, `{}`)",
            get(OWNER),
            get(HOST),
            get(PID),
            get(COMMAND)
        ),
        get(SINCE),
    )
}

impl FleetLock {
    /// Takes the lock or fails fast naming the holder. A lock left on this host
    /// by a process that no longer exists is taken over: the lock returned
    /// names it, for the caller to warn of.
    pub async fn acquire(
        engine: &Engine,
        fleet: &str,
        command: &str,
    ) -> Result<FleetLock, LockError> {
        let name = lock_name(fleet);
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let labels = BTreeMap::from([
            (OWNER.to_string(), this_user()),
            (HOST.to_string(), this_host()),
            (PID.to_string(), std::process::id().to_string()),
            (COMMAND.to_string(), command.to_string()),
            (SINCE.to_string(), now),
        ]);
        // A conflict with no holder to be seen means the name is taken by a
        // container still being created (or just removed): look again shortly.
        let mut took_over = None;
        for _ in 0..LOOKS {
            match holder::create(engine, &name, fleet, "lock", labels.clone()).await {
                Ok(()) => return Ok(FleetLock { name, took_over }),
                Err(e) if e.is_conflict() => {}
                Err(e) => return Err(e.into()),
            }
            let Some(held) = engine.container_labels(&name).await? else {
                tokio::time::sleep(LOOK_AGAIN).await;
                continue;
            };
            let (holder, since) = describe(&held);
            let dead_here = held.get(HOST) == Some(&this_host())
                && held
                    .get(PID)
                    .and_then(|p| p.parse::<u32>().ok())
                    .is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists());
            let held = Held {
                fleet: fleet.to_string(),
                holder,
                since,
            };
            if !dead_here {
                return Err(LockError::Held(held));
            }
            engine.remove_container(&name).await?;
            took_over = Some(held);
        }
        Err(LockError::Held(Held {
            fleet: fleet.to_string(),
            holder: "another run whose lock is being created or removed right now".to_string(),
            since: "a moment ago".to_string(),
        }))
    }

    pub async fn release(self, engine: &Engine) -> Result<(), EngineError> {
        engine.remove_container(&self.name).await
    }
}

/// Removes the lock of `fleet` whoever holds it; returns the holder it removed.
pub async fn force_unlock(engine: &Engine, fleet: &str) -> Result<Option<String>, EngineError> {
    let name = lock_name(fleet);
    let Some(held) = engine.container_labels(&name).await? else {
        return Ok(None);
    };
    if held.get(labels::FLEET).map(String::as_str) != Some(fleet) {
        return Ok(None);
    }
    engine.remove_container(&name).await?;
    let (holder, since) = describe(&held);
    Ok(Some(format!("{holder} since {since}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_is_the_person_behind_root_not_unknown() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        assert_eq!(name_in_passwd(passwd, 0).as_deref(), Some("root"));
        assert_eq!(name_in_passwd(passwd, 1000).as_deref(), Some("alice"));
        assert_eq!(name_in_passwd(passwd, 7), None);
        assert_eq!(
            user_label(0, Some("root".into()), Some("alice".into())),
            "alice (root via sudo)"
        );
        assert_eq!(user_label(0, Some("root".into()), None), "root");
        assert_eq!(
            user_label(1000, Some("alice".into()), Some("alice".into())),
            "alice"
        );
        assert_eq!(user_label(4242, None, None), "uid 4242");
    }

    // The lock's labels are on the engine: a holder written there to attack a
    // terminal is shown escaped in every message that names it.
    #[test]
    fn a_hostile_holder_is_described_escaped() {
        let labels = BTreeMap::from([
            (OWNER.to_string(), "root\u{1b}]52;c;cm0=\u{7}".to_string()),
            (SINCE.to_string(), "now\r".to_string()),
        ]);
        let (holder, since) = describe(&labels);
        assert!(holder.starts_with("root\\x1b]52;c;cm0=\\x07@?"), "{holder}");
        assert_eq!(since, "now\\x0d");
    }
}
