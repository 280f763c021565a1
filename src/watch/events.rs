//! Following the container events of each engine of the fleet, across
//! engine restarts, as signals for the watch loop.

use futures_util::StreamExt;
use tokio::sync::mpsc::UnboundedSender;

use crate::engine::{ContainerEvent, Engine};
use crate::labels;

use super::pass::Endpoint;
use super::{RETRY_FIRST, RETRY_MAX};

/// What an engine-events task tells the loop; `host` is named when the
/// fleet spans several engines.
pub enum EngineSignal {
    Event(ContainerEvent),
    Lost {
        host: Option<String>,
        why: String,
    },
    Back {
        host: Option<String>,
    },
    /// A look at the engaged deckies' sessions (off the loop) found these
    /// deckies' sessions ended.
    SessionsEnded(Vec<String>),
}

/// `host edge: ` when a host is named, else nothing.
pub fn on(host: &Option<String>) -> String {
    host.as_ref()
        .map(|h| format!("host {h}: "))
        .unwrap_or_default()
}

/// Forwards the fleet's container events; when the engine goes away, says so,
/// reconnects with backoff, and says when it is back (the loop then observes
/// everything again: the engine does not replay what happened meanwhile).
pub async fn follow_events(
    engine: Endpoint,
    fleet: String,
    host: Option<String>,
    since: i64,
    tx: UnboundedSender<EngineSignal>,
) {
    let label = format!("{}={fleet}", labels::FLEET);
    let mut since = Some(since);
    let mut lost = false;
    let mut wait = RETRY_FIRST;
    loop {
        match Engine::connect(engine.url.as_deref(), engine.tls.as_ref()).await {
            Ok(engine) => {
                if lost && tx.send(EngineSignal::Back { host: host.clone() }).is_err() {
                    return;
                }
                wait = RETRY_FIRST;
                // After a reconnect the loop observes everything again: no replay needed.
                let mut stream = Box::pin(engine.container_events(&label, since.take()));
                let why = loop {
                    match stream.next().await {
                        Some(Ok(event)) => {
                            if tx.send(EngineSignal::Event(event)).is_err() {
                                return;
                            }
                        }
                        Some(Err(e)) => break e.to_string(),
                        None => break "the event stream ended".to_string(),
                    }
                };
                lost = true;
                let host = host.clone();
                if tx.send(EngineSignal::Lost { host, why }).is_err() {
                    return;
                }
            }
            Err(e) if !lost => {
                lost = true;
                let why = first_line(&e.to_string());
                let host = host.clone();
                if tx.send(EngineSignal::Lost { host, why }).is_err() {
                    return;
                }
            }
            Err(_) => {}
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(RETRY_MAX);
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}
