//! Pulling an image the engine lacks, with its progress.

use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::StreamExt;

use super::{Engine, EngineError};

/// `reference` as the engine's (image, tag): a reference without a tag or
/// digest means `latest` (without a tag the engine would pull every tag).
fn split(reference: &str) -> (&str, &str) {
    if reference.contains('@') {
        return (reference, "");
    }
    let name_start = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[name_start..].rfind(':') {
        Some(i) => (
            &reference[..name_start + i],
            &reference[name_start + i + 1..],
        ),
        None => (reference, "latest"),
    }
}

impl Engine {
    /// Pulls `reference`, passing each new status line (not each progress
    /// tick) to `line`.
    pub async fn pull_image(
        &self,
        reference: &str,
        line: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<(), EngineError> {
        let (image, tag) = split(reference);
        let options = CreateImageOptionsBuilder::default()
            .from_image(image)
            .tag(tag)
            .build();
        let what = format!("pull image {reference}");
        let mut stream = self.docker.create_image(Some(options), None, None);
        let mut last = String::new();
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| EngineError::from_bollard(what.clone(), e))?;
            if let Some(message) = info.error_detail.and_then(|d| d.message) {
                return Err(EngineError::Api { what, message });
            }
            let tick = info
                .progress_detail
                .as_ref()
                .is_some_and(|p| p.current.is_some());
            let status = info.status.unwrap_or_default();
            let said = match info.id {
                Some(id) => format!("{id}: {status}"),
                None => status,
            };
            if !tick && !said.is_empty() && said != last {
                line(&said);
                last = said;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn a_reference_is_split_into_image_and_tag() {
        assert_eq!(split("busybox"), ("busybox", "latest"));
        assert_eq!(split("busybox:1.36"), ("busybox", "1.36"));
        assert_eq!(split("127.0.0.1:1/nothing:1"), ("127.0.0.1:1/nothing", "1"));
        assert_eq!(
            split("127.0.0.1:1/nothing"),
            ("127.0.0.1:1/nothing", "latest")
        );
        assert_eq!(split("a/b@sha256:00"), ("a/b@sha256:00", ""));
    }
}
