//! Containers and networks: create, start, list by label, inspect, wait, stop and remove, and
//! moving tar archives in and out.

use super::{convert, errors, DockerRuntime};
use crate::spec::{ContainerInfo, ContainerSpec};
use crate::subnets::Ipv4Net;
use crate::{Result, RuntimeError};
use bollard::container::{
    CreateContainerOptions, DownloadFromContainerOptions, InspectContainerOptions,
    ListContainersOptions, RemoveContainerOptions, StartContainerOptions, StopContainerOptions,
    UploadToContainerOptions, WaitContainerOptions,
};
use bollard::errors::Error as BollardError;
use bollard::models::{Ipam, IpamConfig};
use bollard::network::{CreateNetworkOptions, InspectNetworkOptions, ListNetworksOptions};
use futures_util::{StreamExt, TryStreamExt};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

impl DockerRuntime {
    pub(crate) async fn ensure_network_impl(&self, name: &str) -> Result<()> {
        let _serialized = self.network_lock.lock().await;
        match self
            .docker
            .inspect_network(name, None::<InspectNetworkOptions<String>>)
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if errors::is_not_found(&e) => {}
            Err(e) => return Err(errors::map(e)),
        }
        let mut taken = self.network_subnets().await?;
        for _ in 0..16 {
            let Some(subnet) = self.subnets.first_free(&taken) else {
                return Err(RuntimeError::Docker(format!(
                    "no free subnet left in {} for network {name}",
                    self.subnets.pool
                )));
            };
            let options = CreateNetworkOptions {
                name: name.to_string(),
                check_duplicate: true,
                driver: "bridge".to_string(),
                ipam: Ipam {
                    config: Some(vec![IpamConfig {
                        subnet: Some(subnet.to_string()),
                        gateway: Some(subnet.gateway().to_string()),
                        ..Default::default()
                    }]),
                    ..Default::default()
                },
                ..Default::default()
            };
            match self.docker.create_network(options).await {
                Ok(_) => return Ok(()),
                // Created meanwhile by someone else.
                Err(e) if errors::is_conflict(&e) => return Ok(()),
                // Another engine user took this subnet meanwhile: try the next one.
                Err(e) if e.to_string().contains("overlap") => taken.push(subnet),
                Err(e) => return Err(errors::map(e)),
            }
        }
        Err(RuntimeError::Docker(format!(
            "could not find a free subnet for network {name}"
        )))
    }

    /// The IPv4 subnets of every network the engine has.
    async fn network_subnets(&self) -> Result<Vec<Ipv4Net>> {
        let networks = self
            .docker
            .list_networks(None::<ListNetworksOptions<String>>)
            .await
            .map_err(errors::map)?;
        Ok(networks
            .iter()
            .filter_map(|n| n.ipam.as_ref()?.config.as_ref())
            .flatten()
            .filter_map(|c| c.subnet.as_deref()?.parse().ok())
            .collect())
    }

    pub(crate) async fn remove_network_impl(&self, name: &str) -> Result<()> {
        match self.docker.remove_network(name).await {
            Ok(()) => Ok(()),
            Err(e) if errors::is_not_found(&e) => Ok(()),
            Err(e) => Err(errors::map(e)),
        }
    }

    pub(crate) async fn list_containers_impl(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ContainerInfo>> {
        let label_filters: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        self.list_containers_filtered(label_filters).await
    }

    /// Containers in any state matching every `label` filter (`key` or `key=value`).
    pub(crate) async fn list_containers_filtered(
        &self,
        label_filters: Vec<String>,
    ) -> Result<Vec<ContainerInfo>> {
        let mut filters = HashMap::new();
        if !label_filters.is_empty() {
            filters.insert("label".to_string(), label_filters);
        }
        let options = ListContainersOptions {
            all: true,
            filters,
            ..Default::default()
        };
        let summaries = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(errors::map)?;
        Ok(summaries
            .into_iter()
            .filter_map(convert::info_from_summary)
            .collect())
    }

    pub(crate) async fn create_container_impl(&self, spec: &ContainerSpec) -> Result<String> {
        let options = spec.name.as_ref().map(|name| CreateContainerOptions {
            name: name.clone(),
            platform: None,
        });
        let created = self
            .docker
            .create_container(options, convert::container_config(spec))
            .await
            .map_err(errors::map)?;
        Ok(created.id)
    }

    pub(crate) async fn rename_container_impl(&self, id: &str, name: &str) -> Result<()> {
        self.docker
            .rename_container(id, bollard::container::RenameContainerOptions { name })
            .await
            .map_err(errors::map)
    }

    pub(crate) async fn start_container_impl(&self, id: &str) -> Result<()> {
        self.docker
            .start_container(id, None::<StartContainerOptions<String>>)
            .await
            .map_err(errors::map)
    }

    pub(crate) async fn remove_container_impl(&self, id: &str, grace: Duration) -> Result<()> {
        // Whole seconds, rounded up so a sub-second grace still gives the process a chance.
        let t = i64::try_from(grace.as_secs())
            .unwrap_or(i64::MAX)
            .saturating_add(i64::from(grace.subsec_nanos() > 0));
        match self
            .slow
            .stop_container(id, Some(StopContainerOptions { t }))
            .await
        {
            Ok(()) => {}
            Err(e) if errors::is_not_found(&e) => return Ok(()),
            // The forced removal below kills it anyway.
            Err(e) => tracing::warn!(container = id, error = %e, "stopping container failed"),
        }
        let options = RemoveContainerOptions {
            v: true,
            force: true,
            link: false,
        };
        match self.slow.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            // Gone, or "removal already in progress".
            Err(e) if errors::is_not_found(&e) || errors::is_conflict(&e) => Ok(()),
            Err(e) => Err(errors::map(e)),
        }
    }

    pub(crate) async fn inspect_container_impl(&self, id: &str) -> Result<Option<ContainerInfo>> {
        match self
            .docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
        {
            Ok(inspect) => Ok(convert::info_from_inspect(inspect)),
            Err(e) if errors::is_not_found(&e) => Ok(None),
            Err(e) => Err(errors::map(e)),
        }
    }

    pub(crate) async fn wait_container_impl(&self, id: &str) -> Result<i64> {
        let mut stream = self
            .docker
            .wait_container(id, None::<WaitContainerOptions<String>>);
        match stream.next().await {
            Some(Ok(response)) => Ok(response.status_code),
            // bollard reports non-zero exit codes as errors.
            Some(Err(BollardError::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(e)) => Err(errors::map(e)),
            None => Err(RuntimeError::Docker(format!(
                "waiting for container {id}: the engine closed the stream without a status"
            ))),
        }
    }

    pub(crate) async fn was_oom_killed_impl(&self, id: &str) -> Result<bool> {
        let inspect = self
            .docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .map_err(errors::map)?;
        Ok(inspect
            .state
            .and_then(|state| state.oom_killed)
            .unwrap_or(false))
    }

    pub(crate) async fn upload_tar_impl(
        &self,
        id: &str,
        dest_dir: &str,
        tar: Vec<u8>,
    ) -> Result<()> {
        let options = UploadToContainerOptions {
            path: dest_dir.to_string(),
            ..Default::default()
        };
        self.slow
            .upload_to_container(id, Some(options), tar.into())
            .await
            .map_err(errors::map)
    }

    /// Streams a tar archive file into the container, a chunk at a time.
    pub(crate) async fn upload_tar_file_impl(
        &self,
        id: &str,
        dest_dir: &str,
        archive: &std::path::Path,
    ) -> Result<()> {
        let file = tokio::fs::File::open(archive).await?;
        let chunks = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024)
            .take_while(|chunk| {
                if let Err(e) = chunk {
                    tracing::warn!("reading the archive to upload failed: {e}");
                }
                std::future::ready(chunk.is_ok())
            })
            .filter_map(|chunk| std::future::ready(chunk.ok()));
        let options = UploadToContainerOptions {
            path: dest_dir.to_string(),
            ..Default::default()
        };
        self.slow
            .upload_to_container_streaming(id, Some(options), chunks)
            .await
            .map_err(errors::map)
    }

    /// Streams a tar archive of `path` in the container into the file `archive`.
    pub(crate) async fn download_tar_file_impl(
        &self,
        id: &str,
        path: &str,
        archive: &std::path::Path,
    ) -> Result<()> {
        use tokio::io::AsyncWriteExt;
        let options = DownloadFromContainerOptions {
            path: path.to_string(),
        };
        let mut file = tokio::io::BufWriter::new(tokio::fs::File::create(archive).await?);
        let mut stream = self.slow.download_from_container(id, Some(options));
        while let Some(chunk) = stream.next().await {
            file.write_all(&chunk.map_err(errors::map)?).await?;
        }
        file.flush().await?;
        Ok(())
    }

    pub(crate) async fn download_tar_impl(&self, id: &str, path: &str) -> Result<Vec<u8>> {
        let options = DownloadFromContainerOptions {
            path: path.to_string(),
        };
        self.slow
            .download_from_container(id, Some(options))
            .map_err(errors::map)
            .try_fold(Vec::new(), |mut tar, chunk| async move {
                tar.extend_from_slice(&chunk);
                Ok(tar)
            })
            .await
    }
}
