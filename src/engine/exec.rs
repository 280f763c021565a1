//! Running one command inside a container.

use bollard::exec::{CreateExecOptions, StartExecResults};
use futures_util::StreamExt;

use super::{Engine, EngineError};

/// What a finished command printed and returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub exit_code: Option<i64>,
    pub output: String,
}

impl Engine {
    /// Runs `cmd` in `container` as `user`, waits for it, and returns its exit code and output.
    pub async fn exec(
        &self,
        container: &str,
        user: &str,
        cmd: Vec<String>,
    ) -> Result<ExecOutput, EngineError> {
        let what = || {
            format!(
                "run {} in {container}",
                cmd.first().map(String::as_str).unwrap_or("")
            )
        };
        let options = CreateExecOptions {
            cmd: Some(cmd.clone()),
            user: Some(user.to_string()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let created = self
            .docker
            .create_exec(container, options)
            .await
            .map_err(|e| EngineError::from_bollard(what(), e))?;
        let mut output = String::new();
        match self
            .docker
            .start_exec(&created.id, None)
            .await
            .map_err(|e| EngineError::from_bollard(what(), e))?
        {
            StartExecResults::Attached {
                output: mut stream, ..
            } => {
                while let Some(item) = stream.next().await {
                    match item {
                        Ok(chunk) => output.push_str(&chunk.to_string()),
                        Err(e) => return Err(EngineError::from_bollard(what(), e)),
                    }
                }
            }
            StartExecResults::Detached => {}
        }
        let inspected = self
            .docker
            .inspect_exec(&created.id)
            .await
            .map_err(|e| EngineError::from_bollard(what(), e))?;
        Ok(ExecOutput {
            exit_code: inspected.exit_code,
            output,
        })
    }
}
