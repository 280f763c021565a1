//! The engine's event stream, narrowed to one fleet's containers going away.

use std::collections::HashMap;

use bollard::query_parameters::EventsOptionsBuilder;
use futures_util::{Stream, StreamExt};

use super::{Engine, EngineError};

/// A container of the fleet died (stopped, was killed, exited) or was removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerEvent {
    pub id: String,
    pub name: String,
    /// The engine's action: `die` or `destroy`.
    pub action: String,
}

impl Engine {
    /// `die` and `destroy` events of containers labelled `label` (`key=value`),
    /// from `since` (unix seconds; the engine replays its recent events) or
    /// from now on. The stream ends, or yields an error, when the engine goes away.
    pub fn container_events(
        &self,
        label: &str,
        since: Option<i64>,
    ) -> impl Stream<Item = Result<ContainerEvent, EngineError>> + Send + 'static {
        let filters = HashMap::from([
            ("type".to_string(), vec!["container".to_string()]),
            ("label".to_string(), vec![label.to_string()]),
            (
                "event".to_string(),
                vec!["die".to_string(), "destroy".to_string()],
            ),
        ]);
        let mut options = EventsOptionsBuilder::default().filters(&filters);
        if let Some(since) = since {
            options = options.since(&since.to_string());
        }
        let options = options.build();
        self.docker.events(Some(options)).map(|item| {
            let message = item.map_err(|e| EngineError::from_bollard("engine events", e))?;
            let actor = message.actor.unwrap_or_default();
            let name = actor
                .attributes
                .and_then(|mut attrs| attrs.remove("name"))
                .unwrap_or_default();
            Ok(ContainerEvent {
                id: actor.id.unwrap_or_default(),
                name,
                action: message.action.unwrap_or_default(),
            })
        })
    }
}
