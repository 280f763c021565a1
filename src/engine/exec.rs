//! Running one command inside a container, bounded (SPEC §8): the program is
//! the intruder's, so deckhand waits for it at most [`EXEC_TIMEOUT`] and keeps
//! at most [`OUTPUT_CAP`] bytes of what it prints.

use std::time::Duration;

use bollard::exec::{CreateExecOptions, StartExecResults};
use futures_util::StreamExt;

use super::{Engine, EngineError};

/// Longest deckhand waits for a program it runs in a container.
pub const EXEC_TIMEOUT: Duration = Duration::from_secs(10);
/// Most of a program's output deckhand reads; the rest is never read.
pub const OUTPUT_CAP: usize = 64 * 1024;

/// What a command printed and returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// `None` when it had not ended (its output was cut) or the engine did not say.
    pub exit_code: Option<i64>,
    pub output: String,
    /// It printed more than [`OUTPUT_CAP`]: the rest was not read.
    pub cut: bool,
}

impl Engine {
    /// Runs `cmd` in `container` as `user` and returns its exit code and
    /// output, or gives up after [`EXEC_TIMEOUT`].
    ///
    /// The engine's API cannot stop an exec: a program that does not end
    /// goes on in the container after deckhand gives up. Giving up drops the
    /// connection that streams its output, and nothing in deckhand waits on
    /// it afterwards (no task, no lock).
    pub async fn exec(
        &self,
        container: &str,
        user: &str,
        cmd: Vec<String>,
    ) -> Result<ExecOutput, EngineError> {
        let program = cmd.first().cloned().unwrap_or_default();
        match tokio::time::timeout(EXEC_TIMEOUT, self.exec_unbounded(container, user, cmd)).await {
            Ok(result) => result,
            Err(_) => Err(EngineError::TimedOut {
                what: format!("{program} in {container}"),
                seconds: EXEC_TIMEOUT.as_secs(),
            }),
        }
    }

    /// [`Engine::exec`] without its time limit; the output is still capped.
    async fn exec_unbounded(
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
        let started = self
            .docker
            .start_exec(&created.id, None)
            .await
            .map_err(|e| EngineError::from_bollard(what(), e))?;
        let (output, cut) = match started {
            StartExecResults::Attached { output, .. } => capped(output)
                .await
                .map_err(|e| EngineError::from_bollard(what(), e))?,
            StartExecResults::Detached => (Vec::new(), false),
        };
        let inspected = self
            .docker
            .inspect_exec(&created.id)
            .await
            .map_err(|e| EngineError::from_bollard(what(), e))?;
        Ok(ExecOutput {
            // Cut short, it may still be running: its code says nothing yet.
            exit_code: inspected
                .exit_code
                .filter(|_| inspected.running != Some(true)),
            output: String::from_utf8_lossy(&output).into_owned(),
            cut,
        })
    }
}

/// The first [`OUTPUT_CAP`] bytes of an exec's output stream, and whether
/// there was more; the stream is dropped (never read further) at the cap.
async fn capped<S, T>(mut stream: S) -> Result<(Vec<u8>, bool), bollard::errors::Error>
where
    S: futures_util::Stream<Item = Result<T, bollard::errors::Error>> + Unpin,
    T: AsRef<[u8]>,
{
    let mut output = Vec::new();
    while let Some(item) = stream.next().await {
        let chunk = item?;
        let room = OUTPUT_CAP - output.len();
        if chunk.as_ref().len() > room {
            output.extend_from_slice(&chunk.as_ref()[..room]);
            return Ok((output, true));
        }
        output.extend_from_slice(chunk.as_ref());
    }
    Ok((output, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(
        n: usize,
        size: usize,
    ) -> impl futures_util::Stream<Item = Result<Vec<u8>, bollard::errors::Error>> + Unpin {
        futures_util::stream::iter((0..n).map(move |_| Ok(vec![b'a'; size])))
    }

    #[tokio::test]
    async fn output_past_the_cap_is_cut_and_not_read() {
        let endless = chunks(usize::MAX, 1000);
        let (output, cut) = capped(endless).await.unwrap();
        assert_eq!((output.len(), cut), (OUTPUT_CAP, true));
    }

    #[tokio::test]
    async fn output_under_the_cap_is_whole() {
        let short = chunks(3, 1000);
        let (output, cut) = capped(short).await.unwrap();
        assert_eq!((output.len(), cut), (3000, false));
        let exact = chunks(OUTPUT_CAP / 1024, 1024);
        assert!(!capped(exact).await.unwrap().1);
    }
}
