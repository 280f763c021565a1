//! deckhand's never-started holder containers, which keep its lock and file
//! record with the engine: a container name is unique per engine (creating one
//! is an atomic test-and-set) and its labels are written whole or not at all.

use std::collections::BTreeMap;

use crate::engine::{Engine, EngineError, NewContainer, HOLDER_IMAGE_NAME};
use crate::labels;

/// Creates a never-started holder container named `name` with `labels`.
pub async fn create(
    engine: &Engine,
    name: &str,
    fleet: &str,
    kind: &str,
    mut extra: BTreeMap<String, String>,
) -> Result<(), EngineError> {
    engine.ensure_holder_image().await?;
    extra.insert(labels::FLEET.to_string(), fleet.to_string());
    extra.insert(labels::HOLDER.to_string(), kind.to_string());
    let container = NewContainer {
        name: name.to_string(),
        image: HOLDER_IMAGE_NAME.to_string(),
        entrypoint: None,
        command: Some(vec!["deckhand-holder".to_string()]),
        env: Vec::new(),
        labels: extra,
        hostname: None,
        network_mode: "none".to_string(),
        ip: None,
        also_joins: Vec::new(),
        settings: crate::settings::Settings {
            restart: Some("no".to_string()),
            ..Default::default()
        },
        publish: Vec::new(),
    };
    engine.create_container(&container).await.map(|_| ())
}
