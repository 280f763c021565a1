//! Why a command changed nothing and stopped: a closed set of refusals, each
//! with its exit code and drawn in one place, as text (`message` then
//! `  help: ...`) or as an `error` event with `message` and `help` apart
//! (SPEC §9).

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::fleet::{Failure, HostFailure};
use crate::lock::Held;
use crate::render::events_json;
use crate::render::run::Verb;

/// A command that refused to go on; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Apply or destroy needs a `yes` and cannot ask for one.
    NoApproval { verb: Verb, json: bool },
    /// A saved plan's configuration changed since; `changed` names what.
    StaleConfig {
        config: PathBuf,
        changed: Vec<String>,
    },
    /// A saved plan's engines could not all be observed again.
    StaleHosts { fleet: String },
    /// A saved plan's live state changed since; `changed` names what.
    StaleLive { fleet: String, changed: Vec<String> },
    /// The plan changes what DECNET (or someone else) made, without `--adopt`.
    DecnetMade { touched: Vec<String> },
    /// Another run holds the fleet's lock.
    Locked(Held),
    /// `deckhand import FILE`: import reads the engine, not a file.
    ImportFile { file: PathBuf },
    /// The fleet name given to import is not one.
    FleetName { why: String },
    /// The file to write exists already (`import --out`, `init`).
    Exists { path: PathBuf, help: &'static str },
    /// No container on the engine carries DECNET's labels.
    NothingToImport { endpoint: String },
    /// `export compose --host` names no host of the file.
    NoHost { host: String, known: Vec<String> },
}

/// What `import --out` says of a file that exists.
pub const IMPORT_EXISTS: &str = "name a new file with --out, or move that one away";
/// What `init` says of a `deckhand.toml` that exists.
pub const INIT_EXISTS: &str = "run `deckhand init` in an empty directory, or edit that file";

/// What to do after a stale plan.
const NEW_PLAN: &str = "make a new plan with `deckhand plan --out FILE`";

impl Refusal {
    /// The exit code of a run this ends: a refusal is an error (SPEC §3).
    pub fn code(&self) -> u8 {
        1
    }

    /// What was refused, and why, without the advice.
    pub fn message(&self) -> String {
        match self {
            Refusal::NoApproval { json: true, .. } => "--json never prompts".into(),
            Refusal::NoApproval { verb, json: false } => format!(
                "{} asks for confirmation on a terminal, and standard input is not one",
                verb.command()
            ),
            Refusal::StaleConfig { config, changed } => format!(
                "plan is stale: the configuration ({}) changed since the plan was made{}; nothing was changed",
                config.display(),
                listed(changed)
            ),
            Refusal::StaleHosts { fleet } => format!(
                "plan is stale: not every host of fleet '{fleet}' could be observed again; nothing was changed"
            ),
            Refusal::StaleLive { fleet, changed } => format!(
                "plan is stale: the live state of fleet '{fleet}' changed since the plan was made{}; nothing was changed",
                listed(changed)
            ),
            Refusal::DecnetMade { touched } => format!(
                "the plan changes containers or networks that DECNET (or someone else) made and deckhand does not manage yet: {}; nothing was changed",
                touched.join(", ")
            ),
            Refusal::Locked(held) => held.message(),
            Refusal::ImportFile { file } => format!(
                "deckhand import reads the containers DECNET deployed from the engine; it does not read {}",
                file.display()
            ),
            Refusal::FleetName { why } => why.clone(),
            Refusal::Exists { path, .. } => {
                format!("{} exists; nothing was written", path.display())
            }
            Refusal::NothingToImport { endpoint } => format!(
                "no container on {endpoint} carries DECNET's labels (decnet.fleet.decky, decnet.fleet.service_name); nothing was written"
            ),
            Refusal::NoHost { host, known } => format!(
                "no host '{host}' in this configuration (hosts: {})",
                known.join(", ")
            ),
        }
    }

    /// What to do instead, where there is advice.
    pub fn help(&self) -> Option<String> {
        Some(match self {
            Refusal::NoApproval { verb, json } => approval_help(*verb, *json).into(),
            Refusal::StaleConfig { .. } | Refusal::StaleLive { .. } => NEW_PLAN.into(),
            Refusal::DecnetMade { .. } => "review the plan, then run `deckhand apply --adopt` to take DECNET's containers under management".into(),
            Refusal::Locked(_) => Held::HELP.into(),
            Refusal::ImportFile { file } => format!(
                "deploy it first (`docker-compose -f {f} up -d`), then run `deckhand import --fleet NAME --out deckhand.toml`",
                f = file.display()
            ),
            Refusal::Exists { help, .. } => (*help).into(),
            Refusal::StaleHosts { .. }
            | Refusal::FleetName { .. }
            | Refusal::NothingToImport { .. }
            | Refusal::NoHost { .. } => return None,
        })
    }

    /// As an `error` event of `fleet`: message and help apart.
    pub fn event(&self, fleet: &str) -> Map<String, Value> {
        let mut e = events_json::error(fleet, None, &self.message());
        e.insert("help".into(), Value::from(self.help()));
        e
    }
}

/// As text: the message, then its advice on a `  help: ` line.
impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())?;
        match self.help() {
            Some(help) => write!(f, "\n  help: {help}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for Refusal {}

/// How to run without a `yes`, in the words of the command refused.
fn approval_help(verb: Verb, json: bool) -> &'static str {
    match (verb, json) {
        (Verb::Apply, true) => "pass --auto-approve (review with `deckhand plan` first), or apply a plan saved with `deckhand plan --out FILE`",
        (Verb::Apply, false) => "pass --auto-approve to apply without asking (review with `deckhand plan` first), or apply a plan saved with `deckhand plan --out FILE`",
        (Verb::Destroy, true) => "pass --auto-approve (preview with `deckhand plan --destroy` first), or apply a plan saved with `deckhand plan --destroy --out FILE`",
        (Verb::Destroy, false) => "pass --auto-approve to destroy without asking (preview with `deckhand plan --destroy` first), or apply a plan saved with `deckhand plan --destroy --out FILE`",
    }
}

/// `: a; b` for up to ten changes (then how many more), or nothing.
fn listed(changes: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut shown = changes.iter().take(SHOWN).cloned().collect::<Vec<_>>();
    if changes.len() > SHOWN {
        shown.push(format!("and {} more", changes.len() - SHOWN));
    }
    match shown.is_empty() {
        true => String::new(),
        false => format!(": {}", shown.join("; ")),
    }
}

/// With one engine, its failure ends the command: a held lock is a refusal.
pub fn sole(f: HostFailure) -> anyhow::Error {
    match f.failure {
        Failure::Locked(held) => Refusal::Locked(held).into(),
        _ => f.into(),
    }
}

/// The exit code of a run that ended in `e`: a refusal's own, else 1.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    e.downcast_ref::<Refusal>().map_or(1, Refusal::code)
}

/// `e` as an `error` event of `fleet`: one engine's failure on its host (a
/// stopped plan with its problems), a refusal with its help apart, any other
/// error with its `  help:` lines taken apart.
pub fn event(e: &anyhow::Error, fleet: &str) -> Map<String, Value> {
    if let Some(f) = e.downcast_ref::<HostFailure>() {
        return events_json::failure(fleet, f);
    }
    match e.downcast_ref::<Refusal>() {
        Some(r) => r.event(fleet),
        None => events_json::error(fleet, None, &format!("{e:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every() -> Vec<Refusal> {
        vec![
            Refusal::NoApproval {
                verb: Verb::Destroy,
                json: true,
            },
            Refusal::NoApproval {
                verb: Verb::Apply,
                json: false,
            },
            Refusal::StaleConfig {
                config: "deckhand.toml".into(),
                changed: (0..12).map(|i| format!("f{i}.txt changed")).collect(),
            },
            Refusal::StaleHosts { fleet: "f".into() },
            Refusal::StaleLive {
                fleet: "f".into(),
                changed: vec![],
            },
            Refusal::DecnetMade {
                touched: vec!["web-01".into(), "db-01".into()],
            },
            Refusal::Locked(Held {
                fleet: "f".into(),
                holder: "alice@h (pid 7, `deckhand apply`)".into(),
                since: "2026-12-04T10:00:00Z".into(),
            }),
            Refusal::ImportFile {
                file: "docker-compose.yml".into(),
            },
            Refusal::FleetName {
                why: "fleet name '' must be 1-32 lowercase letters".into(),
            },
            Refusal::Exists {
                path: "out.toml".into(),
                help: IMPORT_EXISTS,
            },
            Refusal::NothingToImport {
                endpoint: "unix:///var/run/docker.sock".into(),
            },
            Refusal::NoHost {
                host: "edge".into(),
                known: vec!["local".into(), "dmz".into()],
            },
        ]
    }

    #[test]
    fn every_refusal_exits_1_through_anyhow_too() {
        for r in every() {
            assert_eq!(r.code(), 1, "{r:?}");
            assert_eq!(exit_code(&anyhow::Error::new(r)), 1);
        }
        assert_eq!(exit_code(&anyhow::anyhow!("engine gone")), 1);
    }

    #[test]
    fn refusals_as_text() {
        let text: Vec<String> = every().iter().map(|r| format!("error: {r}")).collect();
        insta::assert_snapshot!(text.join("\n\n"));
    }

    #[test]
    fn refusals_as_events_keep_help_apart() {
        let events: Vec<String> = every()
            .iter()
            .map(|r| {
                let mut e = r.event("f");
                e.remove("time");
                serde_json::to_string(&e).unwrap()
            })
            .collect();
        insta::assert_snapshot!(events.join("\n"));
        for r in every() {
            let e = r.event("f");
            assert_eq!(e["message"], Value::from(r.message()));
            assert!(!r.message().contains("help:"), "{r:?}");
            assert_eq!(e["help"], Value::from(r.help()));
        }
    }

    // Through anyhow (as the commands return it), the event is the refusal's own.
    #[test]
    fn a_refusal_in_anyhow_is_drawn_as_itself() {
        let r = Refusal::NoApproval {
            verb: Verb::Apply,
            json: true,
        };
        let e = event(&anyhow::Error::new(r.clone()), "f");
        assert_eq!(e["message"], "--json never prompts");
        assert_eq!(e["help"], Value::from(r.help()));
    }
}
