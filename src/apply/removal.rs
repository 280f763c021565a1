//! Deleting files and clearing what stands in their way, in one container:
//! from the host where deckhand can ([`remove_host`]), and only otherwise
//! by `rm` in the container, bounded in time and output (SPEC §8).
//!
//! Once the root is had, the host's answer is final: a removal that fails
//! from the host never falls back to the container's `rm`.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::engine::{Engine, ExecOutput, OUTPUT_CAP};
use crate::observe::host::Root;

use super::remove_host;
use super::report::StepError;

/// How removals are done in one container.
pub enum Remover {
    /// From the host, beneath the container's verified root.
    Host(Arc<Root>),
    /// By `rm` in the container.
    Exec,
}

impl Remover {
    /// The way removals in `container` are done now.
    pub async fn of(engine: &Engine, container: &str) -> Remover {
        match remove_host::root(engine, container).await {
            Ok(root) => Remover::Host(Arc::new(root)),
            Err(why) => {
                crate::verbose!("remove in {container}: by rm in the container ({why})");
                Remover::Exec
            }
        }
    }

    /// Removes what stands at each of `paths`; returns why, per path not cleared.
    pub async fn clear(
        &self,
        engine: &Engine,
        container: &str,
        paths: Vec<String>,
    ) -> BTreeMap<String, String> {
        let Remover::Host(root) = self else {
            let mut cmd = vec!["rm".to_string(), "-rf".to_string(), "--".to_string()];
            cmd.extend(paths.iter().cloned());
            let Err(e) = run_rm(engine, container, cmd).await else {
                return BTreeMap::new();
            };
            return paths.into_iter().map(|p| (p, e.to_string())).collect();
        };
        let (root, container) = (root.clone(), container.to_string());
        let failed = tokio::task::spawn_blocking(move || {
            let cleared = |p: &String| remove_host::clear(&root, p).map(|_| ());
            let why = |e: String| format!("in {container} (from the host): {e}");
            paths
                .into_iter()
                .filter_map(|p| cleared(&p).err().map(|e| (p, why(e))))
                .collect()
        });
        failed
            .await
            .unwrap_or_else(|e| panic!("a removal panicked: {e}"))
    }

    /// Deletes each of `paths`: one result per path, in order.
    pub async fn delete(
        &self,
        engine: &Engine,
        container: &str,
        paths: Vec<String>,
    ) -> Vec<Result<(), StepError>> {
        let Remover::Host(root) = self else {
            let mut cmd = vec!["rm".to_string(), "-f".to_string(), "--".to_string()];
            cmd.extend(paths.iter().cloned());
            let result = run_rm(engine, container, cmd).await;
            return vec![result; paths.len()];
        };
        let (root, container) = (root.clone(), container.to_string());
        let deleted = tokio::task::spawn_blocking(move || {
            let one = |path: String| {
                remove_host::delete(&root, &path).map_err(|e| StepError::Delete {
                    path,
                    why: format!("in {container} (from the host): {e}"),
                })
            };
            paths.into_iter().map(one).collect()
        });
        deleted
            .await
            .unwrap_or_else(|e| panic!("a removal panicked: {e}"))
    }
}

/// Runs an `rm` command line in `container` as root (bounded by the engine's
/// exec: a timeout and an output cap).
async fn run_rm(engine: &Engine, container: &str, cmd: Vec<String>) -> Result<(), StepError> {
    let no_rm = |output: String| StepError::NoRm {
        container: container.to_string(),
        output,
    };
    match engine.exec(container, "0:0", cmd).await {
        Ok(ExecOutput {
            exit_code: Some(0), ..
        }) => Ok(()),
        Ok(out) if rm_missing(&out) => Err(no_rm(out.output.trim().to_string())),
        Ok(out) if out.cut && out.exit_code.is_none() => Err(StepError::Engine(format!(
            "rm in {container} printed more than {} KiB and had not ended: deckhand stopped reading it and gave up on it",
            OUTPUT_CAP / 1024
        ))),
        Ok(out) => Err(StepError::Rm {
            code: out.exit_code,
            output: out.output.trim().to_string(),
        }),
        Err(e) if e.to_string().contains("executable file not found") => Err(no_rm(e.to_string())),
        Err(e) => Err(StepError::Engine(e.to_string())),
    }
}

/// Whether an exec's result says the command was not there.
fn rm_missing(out: &ExecOutput) -> bool {
    matches!(out.exit_code, Some(126) | Some(127))
        || out.output.contains("executable file not found")
}
