//! The base image bootstrap without a registry: the pull fails, debootstrap builds a Debian
//! root filesystem and it is imported. Runs under a throwaway tag, so it is exercised even on a
//! machine whose stack images already exist.

mod common;

use common::{runtime, stack_config, within};
use paas_runtime::{ContainerRuntime, ContainerSpec};
use std::time::Duration;
use tokio::sync::mpsc;

#[tokio::test(flavor = "multi_thread")]
async fn base_is_bootstrapped_with_debootstrap_when_no_registry_answers() {
    let rt = runtime().await;
    let tag = format!("paas-test/base:{}", uuid::Uuid::new_v4().simple());
    let config = paas_runtime::StackConfig {
        // A registry that cannot exist: the pull must fail and the bootstrap take over.
        pull_base: "registry.invalid/debian:bookworm-slim".to_string(),
        ..stack_config()
    };
    let (tx, mut rx) = mpsc::channel::<String>(4096);
    let collector = tokio::spawn(async move {
        let mut lines = Vec::new();
        while let Some(line) = rx.recv().await {
            lines.push(line);
        }
        lines
    });
    let built = within(
        Duration::from_secs(15 * 60),
        "bootstrap",
        rt.build_base_image(&config, &tag, tx),
    )
    .await;
    let progress = collector.await.expect("collector");
    built.unwrap_or_else(|e| panic!("bootstrap failed: {e}\n{}", progress.join("\n")));
    let text = progress.join("\n");
    assert!(
        text.contains("-----> Pulling registry.invalid/debian:bookworm-slim"),
        "{text}"
    );
    assert!(
        text.contains("No registry reachable; bootstrapping Debian bookworm with debootstrap"),
        "{text}"
    );

    // The imported image is a Debian 12 root filesystem that runs commands.
    let id = rt
        .create_container(&ContainerSpec {
            image: tag.clone(),
            cmd: Some(vec!["cat".into(), "/etc/debian_version".into()]),
            ..ContainerSpec::default()
        })
        .await
        .expect("container from the bootstrapped base");
    rt.start_container(&id).await.expect("start");
    assert_eq!(rt.wait_container(&id).await.expect("wait"), 0);
    let (tx, mut rx) = mpsc::channel::<String>(16);
    rt.follow_output(&id, tx).await.expect("output");
    let mut output = Vec::new();
    while let Some(line) = rx.recv().await {
        output.push(line);
    }
    assert!(output.iter().any(|l| l.starts_with("12.")), "{output:?}");
    rt.remove_container(&id, Duration::ZERO)
        .await
        .expect("remove");
    rt.remove_image(&tag).await.expect("remove image");
    assert!(!rt.image_exists(&tag).await.expect("inspect"));
}
