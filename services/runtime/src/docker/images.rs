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

impl DockerRuntime {
    /// [`crate::ContainerRuntime::layer_image`]: an archive in `docker save` layout holding only
    /// the image config, the manifest and the new layer, streamed to `POST /images/load`. The
    /// engine skips the base's layers, which it already has (it looks each layer chain up before
    /// it opens the layer's file), and extracts only the new one.
    pub(crate) async fn layer_image_impl(
        &self,
        base: &str,
        layer: &std::path::Path,
        tag: &str,
        config: &ImageConfig,
    ) -> Result<()> {
        let inspect = self.docker.inspect_image(base).await.map_err(errors::map)?;
        let mut diff_ids = inspect
            .root_fs
            .as_ref()
            .and_then(|r| r.layers.clone())
            .ok_or_else(|| RuntimeError::Docker(format!("{base} has no layer list")))?;
        let base_config = inspect.config.clone().unwrap_or_default();
        // Environment and labels: the base's, then `config`'s over them.
        let mut env: Vec<String> = base_config
            .env
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter(|kv| {
                let key = kv.split('=').next().unwrap_or_default();
                !config.env.contains_key(key)
            })
            .collect();
        env.extend(config.env.iter().map(|(k, v)| format!("{k}={v}")));
        let mut labels = base_config.labels.clone().unwrap_or_default();
        labels.extend(config.labels.clone());
        let archive = layer.with_extension("image.tar");
        let (layer_path, archive_path) = (layer.to_path_buf(), archive.clone());
        let image_config = serde_json::json!({
            "architecture": inspect.architecture.clone().unwrap_or_else(|| "amd64".to_string()),
            "os": inspect.os.clone().unwrap_or_else(|| "linux".to_string()),
            "config": {
                "Env": env,
                "Entrypoint": config.entrypoint,
                "Cmd": config.cmd,
                "WorkingDir": config.working_dir.clone().or(base_config.working_dir.clone()).unwrap_or_default(),
                "User": config.user.clone().or(base_config.user.clone()).unwrap_or_default(),
                "Labels": labels,
                "ExposedPorts": base_config.exposed_ports,
            },
        });
        let tag = tag.to_string();
        let tag_name = tag.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            use sha2::Digest;
            use std::io::{Read, Write};
            let mut hasher = sha2::Sha256::new();
            let mut file = std::fs::File::open(&layer_path)?;
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
            }
            let layer_hex = format!("{:x}", hasher.finalize());
            diff_ids.push(format!("sha256:{layer_hex}"));
            let mut image_config = image_config;
            image_config["rootfs"] = serde_json::json!({"type": "layers", "diff_ids": diff_ids});
            image_config["history"] = serde_json::json!([]);
            let config_bytes = serde_json::to_vec(&image_config)?;
            let config_name = format!("{:x}.json", sha2::Sha256::digest(&config_bytes));
            // Layers the engine already has need no file: it never opens their paths.
            let layer_names: Vec<String> = diff_ids
                .iter()
                .map(|d| format!("{}/layer.tar", d.trim_start_matches("sha256:")))
                .collect();
            let manifest = serde_json::to_vec(&serde_json::json!([{
                "Config": config_name,
                "RepoTags": [tag],
                "Layers": layer_names,
            }]))?;
            let out = std::io::BufWriter::new(std::fs::File::create(&archive_path)?);
            let mut tar = tar::Builder::new(out);
            for (name, data) in [
                (config_name.as_str(), &config_bytes),
                ("manifest.json", &manifest),
            ] {
                let mut header = tar::Header::new_gnu();
                header.set_size(data.len() as u64);
                header.set_mode(0o644);
                header.set_cksum();
                tar.append_data(&mut header, name, data.as_slice())?;
            }
            let mut header = tar::Header::new_gnu();
            header.set_size(std::fs::metadata(&layer_path)?.len());
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(
                &mut header,
                format!("{layer_hex}/layer.tar"),
                std::fs::File::open(&layer_path)?,
            )?;
            tar.into_inner()?.flush()?;
            Ok(())
        })
        .await
        .map_err(|e| RuntimeError::Docker(e.to_string()))??;
        let result = async {
            let file = tokio::fs::File::open(&archive).await?;
            let chunks = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024)
                .take_while(|chunk| std::future::ready(chunk.is_ok()))
                .filter_map(|chunk| std::future::ready(chunk.ok()));
            let options = bollard::image::ImportImageOptions { quiet: true };
            let mut progress = self.slow.import_image_stream(options, chunks, None);
            while let Some(item) = progress.next().await {
                let info = item.map_err(errors::map)?;
                if let Some(error) = info.error {
                    return Err(RuntimeError::Docker(error));
                }
            }
            // The image must now exist under its tag.
            match self.image_size_impl(&tag_name).await? {
                Some(_) => Ok(()),
                None => Err(RuntimeError::Docker(format!("{tag_name} was not loaded"))),
            }
        }
        .await;
        let _ = tokio::fs::remove_file(&archive).await;
        result
    }
}
