//! What a killed paasd leaves half done, finished or undone at the next start: pushes whose
//! release was made current before git moved the branch (settled against the branch), builds
//! still marked running (failed), build and release-phase containers and scratch directories
//! (removed), and attached one-off processes (`paas run`) whose session died with it (removed).

use paas_api::{settle_pushes, ApiConfig, Settled};
use paas_runtime::ContainerRuntime;
use paas_store::Store;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

pub async fn recover(
    store: &dyn Store,
    runtime: &dyn ContainerRuntime,
    api: &ApiConfig,
    instance_id: &str,
) -> anyhow::Result<()> {
    for (push, settled) in settle_pushes(store, api, None).await? {
        match settled {
            Settled::Finished => {
                tracing::info!(commit = %push.new_commit, "finished a push interrupted after its branch moved")
            }
            Settled::Undone => tracing::warn!(
                commit = %push.new_commit,
                "undid a push interrupted before its branch moved; the previous release is current again"
            ),
        }
    }
    let interrupted = store.fail_pending_builds().await?;
    if interrupted > 0 {
        tracing::warn!("marked {interrupted} interrupted build(s) failed");
    }
    let mut build_containers = Vec::new();
    // A release phase runs inside a push: it was interrupted with it.
    for role in ["build", "release"] {
        build_containers.extend(
            runtime
                .list_containers(&BTreeMap::from([
                    ("paas.instance".to_string(), instance_id.to_string()),
                    ("paas.role".to_string(), role.to_string()),
                ]))
                .await?,
        );
    }
    for container in build_containers {
        tracing::info!(container = %container.name, "removing the container of an interrupted build");
        runtime
            .remove_container(&container.id, Duration::ZERO)
            .await?;
    }
    remove_scratch(&api.builds_dir)?;
    let attached_runs = runtime
        .list_containers(&BTreeMap::from([
            ("paas.instance".to_string(), instance_id.to_string()),
            ("paas.role".to_string(), "run".to_string()),
            (paas_api::RUN_ATTACHED_LABEL.to_string(), "true".to_string()),
        ]))
        .await?;
    for container in attached_runs {
        tracing::info!(container = %container.name, "removing a one-off process whose session ended with the previous paasd");
        runtime
            .remove_container(&container.id, Duration::ZERO)
            .await?;
    }
    Ok(())
}

/// Empties the builds' scratch directory (no build runs before paasd serves).
fn remove_scratch(builds_dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(builds_dir)? {
        let path = entry?.path();
        tracing::info!(dir = %path.display(), "removing the scratch directory of an interrupted build");
        if path.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}
