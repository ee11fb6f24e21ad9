//! Images and volumes: commit, inspect, tag, remove, pull and import of a root filesystem.

use super::{convert, errors, DockerRuntime};
use crate::spec::ImageConfig;
use crate::{Result, RuntimeError};
use bollard::image::{
    CommitContainerOptions, CreateImageOptions, RemoveImageOptions, TagImageOptions,
};
use bollard::volume::RemoveVolumeOptions;
use futures_util::StreamExt;

impl DockerRuntime {
    /// Docker merges the container's own config into the committed one: environment variables
    /// and labels of the container that `config` does not name are kept, and so are its working
    /// directory and user when `config` leaves them unset, and its command when `config` sets
    /// neither command nor entrypoint. The entrypoint is exactly `config.entrypoint` (none when
    /// unset: it is sent as an empty list, which the engine does not replace).
    pub(crate) async fn commit_impl(
        &self,
        id: &str,
        tag: &str,
        config: &ImageConfig,
    ) -> Result<()> {
        let (repo, tag) = convert::split_image_ref(tag);
        let options = CommitContainerOptions {
            container: id.to_string(),
            repo,
            tag,
            pause: true,
            ..Default::default()
        };
        self.slow
            .commit_container(options, convert::commit_config(config))
            .await
            .map(|_| ())
            .map_err(errors::map)
    }

    pub(crate) async fn image_size_impl(&self, image: &str) -> Result<Option<i64>> {
        match self.docker.inspect_image(image).await {
            Ok(inspect) => Ok(Some(inspect.size.unwrap_or(0))),
            Err(e) if errors::is_not_found(&e) => Ok(None),
            Err(e) => Err(errors::map(e)),
        }
    }

    /// A missing image is fine; an image still used by a container is a `Conflict`.
    pub(crate) async fn remove_image_impl(&self, image: &str) -> Result<()> {
        let options = RemoveImageOptions {
            force: false,
            noprune: false,
        };
        match self.docker.remove_image(image, Some(options), None).await {
            Ok(_) => Ok(()),
            Err(e) if errors::is_not_found(&e) => Ok(()),
            Err(e) => Err(errors::map(e)),
        }
    }

    /// A missing volume is fine; a volume in use is a `Conflict`.
    pub(crate) async fn remove_volume_impl(&self, name: &str) -> Result<()> {
        match self
            .docker
            .remove_volume(name, Some(RemoveVolumeOptions { force: false }))
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if errors::is_not_found(&e) => Ok(()),
            Err(e) => Err(errors::map(e)),
        }
    }

    /// Adds tag `target` to an existing image.
    pub(crate) async fn tag_image(&self, source: &str, target: &str) -> Result<()> {
        let (repo, tag) = convert::split_image_ref(target);
        self.docker
            .tag_image(source, Some(TagImageOptions { repo, tag }))
            .await
            .map_err(errors::map)
    }

    /// Pulls `image` from its registry (a bare name means `:latest`, never all tags). The
    /// caller bounds the time: with no registry reachable the engine may hang on connect.
    pub(crate) async fn pull_image(&self, image: &str) -> Result<()> {
        let (repo, tag) = convert::split_image_ref(image);
        let options = CreateImageOptions {
            from_image: repo,
            tag,
            ..Default::default()
        };
        let mut stream = self.slow.create_image(Some(options), None, None);
        while let Some(item) = stream.next().await {
            item.map_err(errors::map)?;
        }
        Ok(())
    }

    /// Imports a root filesystem tar (the Docker import API: `POST /images/create?fromSrc=-`)
    /// as image `tag`, applying Dockerfile-style `changes` (`ENV ...`, `CMD [...]`).
    /// bollard 0.18 only takes the body as one buffer here.
    pub(crate) async fn import_rootfs(
        &self,
        rootfs_tar: Vec<u8>,
        tag: &str,
        changes: &[&str],
    ) -> Result<()> {
        let (repo, tag_part) = convert::split_image_ref(tag);
        let options = CreateImageOptions {
            from_src: "-".to_string(),
            repo,
            tag: tag_part,
            changes: changes.to_vec(),
            ..Default::default()
        };
        let mut stream = self
            .slow
            .create_image(Some(options), Some(rootfs_tar.into()), None);
        while let Some(item) = stream.next().await {
            item.map_err(errors::map)?;
        }
        if self.image_size_impl(tag).await?.is_none() {
            return Err(RuntimeError::Stack(format!(
                "the engine accepted the import but image {tag} does not exist"
            )));
        }
        Ok(())
    }
}
