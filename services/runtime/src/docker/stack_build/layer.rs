//! One stack layer (run or build): a container from the parent image runs the apt script, its
//! output streams as progress, and on success it is committed as the stack tag. The container
//! is removed in every case.

use super::{script, Progress, Tail};
use crate::docker::DockerRuntime;
use crate::spec::{ContainerSpec, ImageConfig};
use crate::stacks::StackConfig;
use crate::{Result, RuntimeError};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layer {
    Run,
    Build,
}

impl Layer {
    fn name(self) -> &'static str {
        match self {
            Layer::Run => "run",
            Layer::Build => "build",
        }
    }
}

const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub(crate) async fn build_layer(
    rt: &DockerRuntime,
    config: &StackConfig,
    layer: Layer,
    from: &str,
    tag: &str,
    progress: &Progress<'_>,
) -> Result<()> {
    let start = Instant::now();
    progress
        .step(format!("Building {} stack {tag}", layer.name()))
        .await;
    // One builder name per tag: a leftover from a crashed process is removed first (we hold
    // the stack lock, so nobody else is using it). A name, not a label: labels of the
    // container would be merged into the committed image.
    let name = format!(
        "paas-stack-builder-{}",
        tag.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "-")
    );
    rt.remove_container_impl(&name, Duration::ZERO).await?;

    let ca = host_ca_for_apt(config);
    let script = match layer {
        Layer::Run => script::run_stack_script(config, ca.is_some()),
        Layer::Build => script::build_stack_script(config, ca.is_some()),
    };
    let spec = ContainerSpec {
        name: Some(name),
        image: from.to_string(),
        cmd: Some(vec!["/bin/sh".into(), "-c".into(), script]),
        ..Default::default()
    };
    let id = rt.create_container_impl(&spec).await?;
    let result = run_and_commit(rt, &id, ca, layer, tag, progress).await;
    if let Err(e) = rt.remove_container_impl(&id, Duration::ZERO).await {
        tracing::warn!(container = %id, error = %e, "removing the stack builder failed");
    }
    result?;
    progress
        .done(&format!("{} stack", layer.name()), start)
        .await;
    Ok(())
}

async fn run_and_commit(
    rt: &DockerRuntime,
    id: &str,
    ca: Option<Vec<u8>>,
    layer: Layer,
    tag: &str,
    progress: &Progress<'_>,
) -> Result<()> {
    if let Some(ca) = ca {
        rt.upload_tar_impl(
            id,
            script::BUILD_CA_DIR,
            single_file_tar(script::BUILD_CA_FILE, &ca)?,
        )
        .await?;
    }
    rt.start_container_impl(id).await?;

    let (tx, mut rx) = mpsc::channel::<String>(256);
    let mut tail = Tail::new(40);
    let consume = async {
        while let Some(line) = rx.recv().await {
            tail.push(&line);
            if is_noise(&line) {
                continue;
            }
            progress.detail(&line).await;
        }
    };
    let (followed, ()) = tokio::join!(rt.follow_output_impl(id, tx), consume);
    followed?;
    let code = rt.wait_container_impl(id).await?;
    if code != 0 {
        return Err(RuntimeError::Stack(format!(
            "building the {} stack {tag} failed (exit code {code}); last output:\n{}",
            layer.name(),
            tail.text()
        )));
    }

    let config = ImageConfig {
        env: [
            ("PATH".to_string(), PATH.to_string()),
            ("LANG".to_string(), "C.UTF-8".to_string()),
        ]
        .into(),
        entrypoint: None,
        cmd: Some(vec!["bash".to_string()]),
        working_dir: Some("/app".to_string()),
        user: None,
        labels: BTreeMap::from([("paas.stack".to_string(), layer.name().to_string())]),
    };
    rt.commit_impl(id, tag, &config).await
}

/// The host CA bundle, when apt needs it: only for an `https://` mirror (apt over plain HTTP
/// verifies packages by signature and needs no CA).
fn host_ca_for_apt(config: &StackConfig) -> Option<Vec<u8>> {
    if !config.mirror.trim().starts_with("https://") {
        return None;
    }
    let path = config.ca_bundle.as_deref()?;
    std::fs::read(path).ok()
}

/// apt chatter that only makes the progress longer.
fn is_noise(line: &str) -> bool {
    line.starts_with("Selecting previously unselected package")
        || line.starts_with("Preparing to unpack")
        || line.starts_with("(Reading database")
        || line.trim().is_empty()
}

fn single_file_tar(name: &str, content: &[u8]) -> Result<Vec<u8>> {
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append_data(&mut header, name, content)?;
    Ok(builder.into_inner()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_file_tar_round_trips() {
        let tar = single_file_tar("ca.crt", b"PEM").unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let mut entries = archive.entries().unwrap();
        let mut entry = entries.next().unwrap().unwrap();
        assert_eq!(entry.path().unwrap().to_str(), Some("ca.crt"));
        let mut body = String::new();
        std::io::Read::read_to_string(&mut entry, &mut body).unwrap();
        assert_eq!(body, "PEM");
    }

    #[test]
    fn apt_noise_is_dropped() {
        assert!(is_noise(
            "Preparing to unpack .../python3_3.11.2-1+b1_amd64.deb ..."
        ));
        assert!(!is_noise("Setting up python3 (3.11.2-1+b1) ..."));
    }

    #[test]
    fn no_ca_for_http_mirrors() {
        let config = StackConfig {
            ca_bundle: Some(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml").into()),
            ..StackConfig::default()
        };
        assert!(host_ca_for_apt(&config).is_none());
        let https = StackConfig {
            mirror: "https://deb.debian.org/debian".into(),
            ..config
        };
        assert!(host_ca_for_apt(&https).is_some());
    }
}
