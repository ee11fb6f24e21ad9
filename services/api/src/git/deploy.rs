//! Build and deploy of one pushed commit, run while the pushing client waits: build the image,
//! create release vN, make it current, and wait until its processes answer. Any failure ends
//! with a ` !     ` line and a failed result, which rejects the push; the previous release keeps
//! serving because it is only replaced once the new one is healthy.

use crate::git::pushes::PushGrant;
use crate::git::{HookRequest, HOOK_RESULT_PREFIX};
use crate::state::ApiState;
use paas_builder::BuildRequest;
use paas_domain::formation::initial_formation;
use paas_domain::AppName;
use paas_scheduler::ReleaseOutcome;
use paas_store::{BuildStatus, NewRelease};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc;
use tracing::Instrument;

pub async fn run(
    state: Arc<ApiState>,
    grant: PushGrant,
    request: HookRequest,
    out: mpsc::Sender<String>,
) {
    let span = tracing::info_span!("deploy", app = %grant.app, commit = %short(&request.new));
    let result = deploy(&state, &grant, &request, &out)
        .instrument(span)
        .await;
    let verdict = match result {
        Ok(()) => "ok",
        Err(message) => {
            let _ = out.send(format!(" !     {message}")).await;
            "failed"
        }
    };
    let _ = out.send(format!("{HOOK_RESULT_PREFIX}{verdict}")).await;
}

fn short(commit: &str) -> &str {
    commit.get(..7).unwrap_or(commit)
}

async fn deploy(
    state: &ApiState,
    grant: &PushGrant,
    request: &HookRequest,
    out: &mpsc::Sender<String>,
) -> Result<(), String> {
    let say = |line: String| async move {
        let _ = out.send(line).await;
    };
    let name = AppName::parse(&grant.app).map_err(|e| e.to_string())?;
    let app = state
        .store
        .app_by_name(&name)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("This app no longer exists.")?;
    let lock = state.build_lock(&app.name);
    let _building = match lock.try_lock() {
        Ok(guard) => guard,
        Err(_) => {
            say("-----> Waiting for the build in progress to finish".to_string()).await;
            lock.lock().await
        }
    };
    let build = state
        .store
        .create_build(app.id, grant.user_id, &request.new)
        .await
        .map_err(|e| e.to_string())?;
    say(format!(
        "-----> Building {} ({}) on the paas bookworm stack",
        app.name,
        short(&request.new)
    ))
    .await;

    let work_dir = state.config.builds_dir.join(build.id.to_string());
    let build_id = build.id.simple().to_string();
    let image_tag = format!(
        "{}/{}:{}",
        state.config.image_prefix,
        app.name,
        &build_id[..12]
    );
    let cache_volume = state.config.cache_volume(&app.name);
    let repo = state.config.repo_path(&app.name);
    let object_dirs: Vec<PathBuf> = request.object_dirs.iter().map(PathBuf::from).collect();
    let built = state
        .builder
        .build(
            &BuildRequest {
                app: &name,
                repo: &repo,
                object_dirs: &object_dirs,
                commit: &request.new,
                work_dir: &work_dir,
                image_tag: &image_tag,
                cache_volume: &cache_volume,
            },
            out,
        )
        .await;
    if let Err(e) = tokio::fs::remove_dir_all(&work_dir).await {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!("could not remove build directory: {e}");
        }
    }
    let built = match built {
        Ok(built) => built,
        Err(e) => {
            tracing::info!("build failed: {e}");
            let _ = state
                .store
                .finish_build(build.id, BuildStatus::Failed, None)
                .await;
            return Err(format!("Push rejected: {e}"));
        }
    };

    let stored = async {
        let previous_config = match app.current_release_id {
            Some(id) => state.store.release_by_id(id).await?.map(|r| r.config),
            None => None,
        };
        let release = state
            .store
            .create_release(NewRelease {
                app_id: app.id,
                image: built.image.clone(),
                process_types: built.process_types.clone(),
                config: previous_config.unwrap_or_default(),
                description: format!("Deploy {}", short(&request.new)),
                user_id: Some(grant.user_id),
            })
            .await?;
        let mut formation = state.store.formation(app.id).await?;
        if formation.is_empty() {
            formation = initial_formation(built.process_types.keys());
            state.store.set_formation(app.id, &formation).await?;
        }
        state
            .store
            .finish_build(build.id, BuildStatus::Succeeded, Some(release.id))
            .await?;
        state
            .store
            .set_current_release(app.id, Some(release.id))
            .await?;
        Ok::<_, paas_store::StoreError>(release)
    }
    .await;
    let release = match stored {
        Ok(release) => release,
        Err(e) => {
            tracing::error!("could not record the release: {e}");
            let _ = state
                .store
                .finish_build(build.id, BuildStatus::Failed, None)
                .await;
            return Err("Push rejected: the release could not be recorded.".to_string());
        }
    };
    tracing::info!(release = %format!("v{}", release.version), user = %grant.user_email, "release created");

    say(format!("-----> Launching v{}...", release.version)).await;
    state.scheduler.wake();
    let outcome = state
        .scheduler
        .await_release(release.id, state.config.deploy_timeout)
        .await
        .map_err(|e| e.to_string())?;
    match outcome {
        ReleaseOutcome::Succeeded => {
            say(format!("-----> Launching... done, v{}", release.version)).await;
            say(format!("       {} deployed", state.config.web_url(&app.name))).await;
            Ok(())
        }
        ReleaseOutcome::Failed | ReleaseOutcome::TimedOut => Err(format!(
            "Release v{} failed to start: its web process did not answer HTTP on $PORT in time; the previous release keeps serving.",
            release.version
        )),
    }
}
