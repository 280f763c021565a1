//! `plan --at TIME`: the config loaded as desired at that time, and a note
//! saying which time and epoch the plan is for.

use std::path::Path;

use anyhow::Context as _;

use crate::config::Loaded;
use crate::plan::Plan;

/// The desired state now, or at `at`.
pub fn load(path: &Path, at: Option<&str>) -> anyhow::Result<Loaded> {
    let Some(at) = at else {
        return crate::commands::load(path);
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let at = super::at::parse(at, now).map_err(|m| anyhow::anyhow!("--at: {m}"))?;
    crate::config::load_at(path, at).context("invalid configuration")
}

/// With `--at`, a note naming the time and the rotation's epoch.
pub fn note(loaded: &Loaded, at: Option<&str>, plan: &mut Plan) {
    if at.is_none() {
        return;
    }
    let r = &loaded.desired.rotation;
    let when = super::at::show(r.at);
    let note = match r.is_on() {
        true => format!(
            "planned as desired at {when}: rotation epoch {} (every {}s)",
            r.epoch,
            r.every.as_secs()
        ),
        false => format!("planned as desired at {when}: there is no [rotation]"),
    };
    plan.notes.push(note);
}
