//! `plan --format json` when a check stopped the plan (SPEC §4): the plan as
//! it would have been, with its problems, and exit 1.

use std::process::ExitCode;

use serde_json::Value;

use crate::fleet::{Failure, Pass};
use crate::plan::{Plan, PlanError};
use crate::render::{problems_json, steps};

/// Prints the JSON plan with a `problems` array when any engine's plan was
/// stopped by a check; `None` (nothing printed) otherwise.
pub fn json(pass: &Pass) -> anyhow::Result<Option<ExitCode>> {
    let Some(value) = stopped(pass) else {
        return Ok(None);
    };
    let mut out = std::io::stdout().lock();
    crate::safe::json::to_writer_pretty(&mut out, &value)?;
    println!();
    for f in &pass.failures {
        eprintln!("error: {}", steps::failure(f, pass.several));
    }
    Ok(Some(ExitCode::from(1)))
}

/// The §4 plan object of every engine (a stopped one's as it would have
/// been) with `problems`; `None` when no check stopped a plan.
fn stopped(pass: &Pass) -> Option<Value> {
    let mut plans: Vec<Plan> = pass.planned.iter().map(|p| p.plan.clone()).collect();
    let mut problems = Vec::new();
    for f in &pass.failures {
        if let Failure::Plan(PlanError::Blocked {
            problems: found,
            plan,
        }) = &f.failure
        {
            plans.push((**plan).clone());
            problems.extend(problems_json::problems(&f.host, found));
        }
    }
    if problems.is_empty() {
        return None;
    }
    let mut value = crate::render::json::to_value(&Plan::merge(&pass.fleet, plans));
    value["problems"] = Value::Array(problems);
    Some(value)
}
