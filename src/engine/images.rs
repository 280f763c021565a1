//! Images: deckhand's own empty image for its never-started lock and record
//! holders, and the images it builds from service build contexts.

use std::collections::BTreeSet;

use bollard::query_parameters::{
    BuildImageOptionsBuilder, CreateImageOptionsBuilder, ListImagesOptionsBuilder,
};
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

    /// Every `repository:tag` present in `repository`.
    pub async fn built_images(&self, repository: &str) -> Result<BTreeSet<String>, EngineError> {
        let filters = std::collections::HashMap::from([(
            "reference".to_string(),
            vec![repository.to_string()],
        )]);
        let options = ListImagesOptionsBuilder::default()
            .filters(&filters)
            .build();
        let images = self
            .docker
            .list_images(Some(options))
            .await
            .map_err(|e| EngineError::from_bollard("list images", e))?;
        Ok(images
            .into_iter()
            .flat_map(|i| i.repo_tags)
            .filter(|t| t.starts_with(&format!("{repository}:")))
            .collect())
    }

    /// Builds `context` (a tar archive holding a Dockerfile) as `tag` with
    /// build arguments `args`, passing each line of the builder's output to
    /// `line` as it comes.
    pub async fn build_image(
        &self,
        context: Vec<u8>,
        tag: &str,
        args: &std::collections::BTreeMap<String, String>,
        line: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<(), EngineError> {
        let args: std::collections::HashMap<String, String> = args.clone().into_iter().collect();
        let options = BuildImageOptionsBuilder::default()
            .dockerfile("Dockerfile")
            .buildargs(&args)
            .t(tag)
            .rm(true)
            .forcerm(true)
            .build();
        let what = format!("build image {tag}");
        let mut stream =
            self.docker
                .build_image(options, None, Some(bollard::body_full(context.into())));
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| EngineError::from_bollard(what.clone(), e))?;
            if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                return Err(EngineError::Api {
                    what,
                    message: detail,
                });
            }
            for text in info.stream.iter().flat_map(|s| s.lines()) {
                if !text.trim().is_empty() {
                    line(text.trim_end());
                }
            }
        }
        Ok(())
    }
}
