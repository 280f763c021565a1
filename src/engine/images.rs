//! Images: deckhand's own empty image for its never-started lock and record holders.

use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::StreamExt;

use super::{Engine, EngineError};

/// The image of deckhand's holder containers: empty, imported on first use.
pub const HOLDER_IMAGE_NAME: &str = "deckhand-holder:1";

impl Engine {
    pub async fn image_exists(&self, image: &str) -> Result<bool, EngineError> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(e) => match EngineError::from_bollard(format!("inspect image {image}"), e) {
                e if e.is_not_found() => Ok(false),
                e => Err(e),
            },
        }
    }

    /// Imports an empty filesystem as [`HOLDER_IMAGE_NAME`] unless it is there.
    pub async fn ensure_holder_image(&self) -> Result<(), EngineError> {
        if self.image_exists(HOLDER_IMAGE_NAME).await? {
            return Ok(());
        }
        let (repo, tag) = HOLDER_IMAGE_NAME
            .split_once(':')
            .expect("the holder image has a tag");
        let options = CreateImageOptionsBuilder::default()
            .from_src("-")
            .repo(repo)
            .tag(tag)
            .build();
        // An empty tar archive is two zero blocks.
        let empty_tar = vec![0u8; 1024];
        let mut stream = self.docker.create_image(
            Some(options),
            Some(bollard::body_full(empty_tar.into())),
            None,
        );
        while let Some(item) = stream.next().await {
            item.map_err(|e| EngineError::from_bollard(format!("import {HOLDER_IMAGE_NAME}"), e))?;
        }
        Ok(())
    }
}
