//! `plan --format json` when a check stopped the plan (SPEC §4): the plan as
//! it would have been, with its problems, and exit 1.

use std::process::ExitCode;

use serde_json::{json, Value};

use crate::fleet::{Failure, Pass};
use crate::plan::{Plan, PlanError};

/// Prints the JSON plan with a `problems` array when any engine's plan was
/// stopped by a check; `None` (nothing printed) otherwise.
pub fn json(pass: &Pass) -> anyhow::Result<Option<ExitCode>> {
    let mut plans: Vec<Plan> = pass.planned.iter().map(|p| p.plan.clone()).collect();
    let mut problems = Vec::new();
    for f in &pass.failures {
        if let Failure::Plan(PlanError::Blocked { problems: found, plan }) = &f.failure {
            plans.push((**plan).clone());
            problems.extend(found.iter().map(|p| problem(&f.host, p)));
        }
    }
    if problems.is_empty() {
        return Ok(None);
    }
    let mut value = crate::render::json::to_value(&Plan::merge(&pass.fleet, plans));
    value["problems"] = Value::Array(problems);
    let mut out = std::io::stdout().lock();
    crate::safe::json::to_writer_pretty(&mut out, &value)?;
    println!();
    for f in &pass.failures {
        eprintln!("error: {}", crate::render::steps::failure(f, pass.several));
    }
    Ok(Some(ExitCode::from(1)))
}

/// One problem: its check and fields, the host, and its words.
fn problem(host: &str, p: &crate::plan::checks::Problem) -> Value {
    let mut v = serde_json::to_value(p).unwrap_or_else(|_| json!({}));
    v["host"] = json!(host);
    v["message"] = json!(p.message());
    v["help"] = json!(p.help());
    v
}
