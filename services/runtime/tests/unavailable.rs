//! Without an engine, connecting fails fast with `Unavailable` (own test binary: it changes
//! `DOCKER_HOST` for the whole process).

use paas_runtime::{DockerRuntime, RuntimeError};
use std::time::{Duration, Instant};

#[tokio::test]
async fn connect_without_an_engine_is_unavailable() {
    let socket = std::env::temp_dir().join(format!("paas-no-engine-{}.sock", std::process::id()));
    std::env::set_var("DOCKER_HOST", format!("unix://{}", socket.display()));
    let start = Instant::now();
    let result = DockerRuntime::connect().await;
    assert!(
        matches!(result, Err(RuntimeError::Unavailable(_))),
        "{result:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
}
