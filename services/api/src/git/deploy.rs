//! Build and deploy of one pushed commit, run while the pushing client waits: take the app's
//! push lock, check the branch is still where the client saw it, build the image, record
//! release vN and make it current (one transaction that also records the push as pending), and
//! wait until its processes answer. Any failure ends with a ` !     ` line and a failed result,
//! which rejects the push; the previous release keeps serving because it is only replaced once
//! the new one is healthy. The push lock is handed back to the receive-pack run, which keeps
//! it until the pending push is settled (see `settle`).

use crate::git::pushes::{DeployDone, PushGrant};
use crate::git::{HookRequest, HOOK_RESULT_PREFIX};
use crate::releases;
use crate::state::ApiState;
use paas_builder::BuildRequest;
use paas_domain::formation::initial_formation;
use paas_domain::AppName;
use paas_store::{BuildStatus, NewRelease, PushRelease};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc;
use tracing::Instrument;

const ZERO_OID: &str = "0000000000000000000000000000000000000000";

pub async fn run(
    state: Arc<ApiState>,
    grant: PushGrant,
    request: HookRequest,
    out: mpsc::Sender<String>,
) -> DeployDone {
    let span = tracing::info_span!("deploy", app = %grant.app, commit = %short(&request.new));
    async move {
        let lock = state.push_lock(&grant.app);
        let push_lock = match lock.clone().try_lock_owned() {
            Ok(guard) => guard,
            Err(_) => {
                let _ = out
                    .send("-----> Waiting for the push in progress to finish".to_string())
                    .await;
                tokio::select! {
                    guard = lock.lock_owned() => guard,
                    _ = out.closed() => return DeployDone { push_lock: None },
                }
            }
        };
        // A client that goes away cancels the deploy: the push cannot succeed any more.
        let result = tokio::select! {
            result = deploy(&state, &grant, &request, &out) => result,
            _ = out.closed() => Err("the push was interrupted".to_string()),
        };
        let verdict = match result {
            Ok(()) => "ok",
            Err(message) => {
                let _ = out.send(format!(" !     {message}")).await;
                "failed"
            }
        };
        let _ = out.send(format!("{HOOK_RESULT_PREFIX}{verdict}")).await;
        DeployDone {
            push_lock: Some(push_lock),
        }
    }
    .instrument(span)
    .await
}

fn short(commit: &str) -> &str {
    commit.get(..7).unwrap_or(commit)
}

/// Removes the build's scratch directory when dropped, also when the deploy is cancelled.
struct ScratchDir(PathBuf);

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!("could not remove build directory: {e}");
            }
        }
    }
}

/// `build_and_release`, its output kept in the app's log and the build's own output file
/// (with the failure, when it fails).
async fn deploy(
    state: &ApiState,
    grant: &PushGrant,
    request: &HookRequest,
    out: &mpsc::Sender<String>,
) -> Result<(), String> {
    let mut kept = None;
    let result = build_and_release(state, grant, request, out, &mut kept).await;
    if let Some((output, tee)) = kept {
        // Every line the build sent is in the file before its verdict (a sender some task
        // still holds is not waited for long).
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), tee).await;
        if let Err(message) = &result {
            output.line(&format!(" !     {message}"));
        }
    }
    result
}

async fn build_and_release(
    state: &ApiState,
    grant: &PushGrant,
    request: &HookRequest,
    out: &mpsc::Sender<String>,
    kept: &mut Option<(Arc<paas_logs::BuildOutput>, tokio::task::JoinHandle<()>)>,
) -> Result<(), String> {
    let name = AppName::parse(&grant.app).map_err(|e| e.to_string())?;
    let app = state
        .store
        .app_by_name(&name)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("This app no longer exists.")?;
    let repo = state.config.repo_path(&app.name);
    let head = paas_builder::branch_head(&repo, &request.ref_name).map_err(|e| e.to_string())?;
    let expected_old = (request.old != ZERO_OID).then(|| request.old.clone());
    if head != expected_old {
        return Err(format!(
            "Push rejected: {} moved while you pushed (another push landed first). Fetch and push again.",
            request.ref_name.trim_start_matches("refs/heads/")
        ));
    }
    let build = state
        .store
        .create_build(app.id, grant.user_id, &request.new)
        .await
        .map_err(|e| e.to_string())?;
    // From here the output is also kept: the app's log and the build's output file.
    let teed;
    let out = match state.logs.build_output(&app.name, build.id) {
        Ok(output) => {
            let (tee, task) = output.tee(out.clone());
            *kept = Some((output, task));
            teed = tee;
            &teed
        }
        Err(e) => {
            tracing::warn!("cannot keep the build's output: {e}");
            out
        }
    };
    let say = |line: String| async move {
        let _ = out.send(line).await;
    };
    say(format!(
        "-----> Building {} ({}) on the paas bookworm stack",
        app.name,
        short(&request.new)
    ))
    .await;

    let work_dir = state.config.builds_dir.join(build.id.to_string());
    let _scratch = ScratchDir(work_dir.clone());
    let build_id = build.id.simple().to_string();
    let image_tag = format!(
        "{}/{}:{}",
        state.config.image_prefix,
        app.name,
        &build_id[..12]
    );
    let cache_volume = state.config.cache_volume(&app.name);
    let object_dirs: Vec<PathBuf> = request.object_dirs.iter().map(PathBuf::from).collect();
    // The current release's config vars reach the build as ENV_DIR (values are never logged).
    let config = match app.current_release_id {
        Some(id) => state
            .store
            .release_by_id(id)
            .await
            .map_err(|e| e.to_string())?
            .map(|release| release.config)
            .unwrap_or_default(),
        None => Default::default(),
    };
    let buildpacks = state
        .store
        .app_buildpacks(app.id)
        .await
        .map_err(|e| e.to_string())?;
    let method = state
        .store
        .app_build_method(app.id)
        .await
        .map_err(|e| e.to_string())?;
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
                config: &config,
                buildpacks: &buildpacks,
                method,
            },
            out,
        )
        .await;
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
    let recorded = releases::record_push(
        state,
        &app,
        &grant.user_email,
        PushRelease {
            build_id: build.id,
            release: NewRelease {
                app_id: app.id,
                image: built.image.clone(),
                process_types: built.process_types.clone(),
                // The store copies the current release's config in the same transaction.
                config: Default::default(),
                description: format!("Deploy {}", short(&request.new)),
                user_id: Some(grant.user_id),
            },
            initial_formation: initial_formation(built.process_types.keys()),
            ref_name: request.ref_name.clone(),
            new_commit: request.new.clone(),
        },
    )
    .await;
    let release = match recorded {
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
    say(format!("-----> Launching v{}...", release.version)).await;
    let failure = releases::await_rollout(state, &release, Some(out))
        .await
        .map_err(|e| e.to_string())?;
    match failure {
        None => {
            say(format!("-----> Launching... done, v{}", release.version)).await;
            say(format!(
                "       {} deployed",
                state.config.web_url(&app.name)
            ))
            .await;
            Ok(())
        }
        Some(message) => {
            // Like a config change's failed release: its first line ("Release vN failed to start:
            // ...") in the app's log.
            let why = message.lines().next().unwrap_or_default();
            state.logs.platform(&app.name, "api", why);
            Err(message)
        }
    }
}
