//! A container's writable layer: what changed against its image.

use bollard::models::ChangeType;

use super::{Engine, EngineError};

/// One path of the writable layer and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerChange {
    pub path: String,
    /// `modified`, `added` or `deleted`.
    pub kind: &'static str,
}

impl Engine {
    /// What changed in `container`'s filesystem since it was created.
    pub async fn container_changes(
        &self,
        container: &str,
    ) -> Result<Vec<LayerChange>, EngineError> {
        let changes = self
            .docker
            .container_changes(container)
            .await
            .map_err(|e| {
                EngineError::from_bollard(format!("list the changes of {container}"), e)
            })?;
        let kind = |k: ChangeType| match k {
            ChangeType::_0 => "modified",
            ChangeType::_1 => "added",
            ChangeType::_2 => "deleted",
        };
        Ok(changes
            .unwrap_or_default()
            .into_iter()
            .map(|c| LayerChange {
                path: c.path,
                kind: kind(c.kind),
            })
            .collect())
    }

    /// Where something is mounted in `container` (volumes, binds, tmpfs):
    /// the engine's changes show a mount point, never what is beneath it.
    pub async fn mount_points(&self, container: &str) -> Result<Vec<String>, EngineError> {
        let c = self
            .docker
            .inspect_container(container, None)
            .await
            .map_err(|e| EngineError::from_bollard(format!("inspect container {container}"), e))?;
        let mounts = c.mounts.unwrap_or_default().into_iter();
        Ok(mounts.filter_map(|m| m.destination).collect())
    }
}
