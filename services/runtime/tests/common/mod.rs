//! Helpers for the integration tests against the real Docker engine: connection with a short
//! timeout, the shared stack images, unique labels, and cleanup that also runs when a test
//! panics.

#![allow(dead_code)]

use paas_runtime::{
    ContainerRuntime, ContainerSpec, DockerRuntime, RuntimeError, StackConfig, StackImages,
};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::mpsc;

/// Bound for ordinary steps, so a broken engine fails the test instead of hanging it.
pub const STEP: Duration = Duration::from_secs(60);
/// Bound for the first stack build (debootstrap, run and build stacks).
pub const STACK_BUILD: Duration = Duration::from_secs(30 * 60);

pub async fn within<T>(limit: Duration, what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, fut).await {
        Ok(value) => value,
        Err(_) => panic!("{what}: no result within {limit:?}"),
    }
}

pub async fn runtime() -> DockerRuntime {
    within(Duration::from_secs(10), "connect", DockerRuntime::connect())
        .await
        .expect("the Docker engine answers")
}

/// The stack configuration of the tests (the defaults, spelled out).
pub fn stack_config() -> StackConfig {
    // The same stacks paasd uses, so a machine builds them once.
    StackConfig::default()
}

/// Ensures the stacks (built once per host; the file lock serializes parallel tests),
/// printing the progress lines.
pub async fn stacks(rt: &DockerRuntime) -> StackImages {
    let (tx, mut rx) = mpsc::channel::<String>(1024);
    let printer = tokio::spawn(async move {
        while let Some(line) = rx.recv().await {
            eprintln!("{line}");
        }
    });
    let images = within(
        STACK_BUILD,
        "ensure_stacks",
        rt.ensure_stacks(&stack_config(), tx),
    )
    .await
    .expect("stacks are ensured");
    let _ = printer.await;
    images
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// Everything a test creates carries `paas.test=<id>`; dropping this removes those containers
/// and the images, volumes and networks registered with it, even after a panic.
pub struct Cleanup {
    pub id: String,
    images: Mutex<Vec<String>>,
    volumes: Mutex<Vec<String>>,
    networks: Mutex<Vec<String>>,
}

impl Cleanup {
    pub fn new() -> Self {
        Cleanup {
            id: unique("t"),
            images: Mutex::default(),
            volumes: Mutex::default(),
            networks: Mutex::default(),
        }
    }

    pub fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([("paas.test".to_string(), self.id.clone())])
    }

    /// A spec with the test label, no name.
    pub fn spec(&self, image: &str, cmd: &[&str]) -> ContainerSpec {
        ContainerSpec {
            image: image.to_string(),
            cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
            labels: self.labels(),
            ..ContainerSpec::default()
        }
    }

    pub fn image(&self, tag: &str) {
        self.images.lock().unwrap().push(tag.to_string());
    }

    pub fn volume(&self, name: &str) {
        self.volumes.lock().unwrap().push(name.to_string());
    }

    pub fn network(&self, name: &str) {
        self.networks.lock().unwrap().push(name.to_string());
    }

    async fn run(
        labels: BTreeMap<String, String>,
        images: Vec<String>,
        volumes: Vec<String>,
        networks: Vec<String>,
    ) -> Result<(), RuntimeError> {
        let rt = DockerRuntime::connect().await?;
        for c in rt.list_containers(&labels).await? {
            rt.remove_container(&c.id, Duration::ZERO).await?;
        }
        for image in images {
            rt.remove_image(&image).await?;
        }
        for volume in volumes {
            rt.remove_volume(&volume).await?;
        }
        for network in networks {
            rt.remove_network(&network).await?;
        }
        Ok(())
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let labels = self.labels();
        let take = |m: &Mutex<Vec<String>>| {
            std::mem::take(&mut *m.lock().unwrap_or_else(|p| p.into_inner()))
        };
        let (images, volumes, networks) = (
            take(&self.images),
            take(&self.volumes),
            take(&self.networks),
        );
        // Drop may run inside the test's runtime: clean up from a thread with its own.
        let done = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for cleanup");
            runtime.block_on(async {
                match tokio::time::timeout(STEP, Cleanup::run(labels, images, volumes, networks))
                    .await
                {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => eprintln!("cleanup failed: {e}"),
                    Err(_) => eprintln!("cleanup timed out"),
                }
            });
        });
        let _ = done.join();
    }
}

/// Collects a container's output lines until it exits.
pub async fn output_of(rt: &DockerRuntime, id: &str) -> Vec<String> {
    let (tx, mut rx) = mpsc::channel(1024);
    within(STEP, "follow_output", rt.follow_output(id, tx))
        .await
        .expect("follow_output");
    let mut lines = Vec::new();
    while let Some(line) = rx.recv().await {
        lines.push(line);
    }
    lines
}

/// Creates and starts a container, returns its id.
pub async fn run(rt: &DockerRuntime, spec: &ContainerSpec) -> String {
    let id = within(STEP, "create", rt.create_container(spec))
        .await
        .expect("create_container");
    within(STEP, "start", rt.start_container(&id))
        .await
        .expect("start_container");
    id
}

/// Runs a container to completion: its output lines and exit code.
pub async fn run_to_end(rt: &DockerRuntime, spec: &ContainerSpec) -> (Vec<String>, i64) {
    let id = run(rt, spec).await;
    let lines = output_of(rt, &id).await;
    let code = within(STEP, "wait", rt.wait_container(&id))
        .await
        .expect("wait_container");
    (lines, code)
}
