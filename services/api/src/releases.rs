//! The releases service: every release is made here. Config changes and rollbacks (and later
//! the console's) are recorded with the store's one-transaction `change_release`; a push's
//! release with `record_push_release` (one transaction with its build and pending push).
//! Either is then rolled out by the scheduler (its release phase first, when the Procfile has
//! a `release:` command), and the caller waits until its processes answer or the release
//! fails with the reason.

use crate::error::ApiError;
use crate::state::ApiState;
use crate::views::rfc3339;
use paas_domain::api::ReleaseInfo;
use paas_store::{App, PushRelease, Release, ReleaseChange, ReleaseStatus, StoreError, User};
use std::collections::HashMap;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Makes the release and waits for its rollout. A release whose processes never answer is
/// failed by the scheduler (the previous one keeps serving) and answered with the reason.
pub async fn change(
    state: &ApiState,
    app: &App,
    user: &User,
    change: ReleaseChange,
) -> Result<Release, ApiError> {
    let release = state
        .store
        .change_release(app.id, Some(user.id), change)
        .await?;
    tracing::info!(app = %app.name, release = %format!("v{}", release.version), user = %user.email, description = %release.description, "release created");
    // The description names config keys, never values.
    state.logs.platform(
        &app.name,
        "api",
        format!(
            "Release v{} created by user {}: {}",
            release.version, user.email, release.description
        ),
    );
    if release.status != ReleaseStatus::Pending {
        return Ok(release);
    }
    match await_rollout(state, &release, None).await? {
        None => Ok(release),
        Some(message) => {
            // Its first line says why; the process's last lines follow it in the app's log.
            let why = message.lines().next().unwrap_or_default();
            state.logs.platform(&app.name, "api", why);
            Err(ApiError::Invalid(message))
        }
    }
}

/// Records a pushed build's release: in one transaction the release, its build's success,
/// a first formation, "it is current" and the pending push (see `git::settle`).
pub async fn record_push(
    state: &ApiState,
    app: &App,
    user_email: &str,
    push: PushRelease,
) -> Result<Release, StoreError> {
    let release = state.store.record_push_release(push).await?;
    tracing::info!(app = %app.name, release = %format!("v{}", release.version), user = %user_email, "release created");
    state.logs.platform(
        &app.name,
        "api",
        format!(
            "Release v{} created by user {user_email}: {}",
            release.version, release.description
        ),
    );
    Ok(release)
}

/// Wakes the scheduler and waits for `release`'s rollout: `None` when it serves, else what to
/// tell the user (the previous release keeps serving). The release phase's output goes to
/// `out` as it comes.
pub async fn await_rollout(
    state: &ApiState,
    release: &Release,
    out: Option<&mpsc::Sender<String>>,
) -> Result<Option<String>, ApiError> {
    state.scheduler.wake();
    let outcome = state
        .scheduler
        .await_release_with_output(release.id, state.config.deploy_timeout, out)
        .await
        .map_err(ApiError::internal)?;
    Ok(outcome.failure(release.version))
}

/// API views of releases, with their users' e-mails.
pub async fn infos(
    state: &ApiState,
    app: &App,
    releases: &[Release],
) -> Result<Vec<ReleaseInfo>, ApiError> {
    let mut emails: HashMap<Uuid, Option<String>> = HashMap::new();
    for id in releases.iter().filter_map(|r| r.user_id) {
        if let std::collections::hash_map::Entry::Vacant(entry) = emails.entry(id) {
            entry.insert(state.store.user_by_id(id).await?.map(|u| u.email));
        }
    }
    Ok(releases
        .iter()
        .map(|r| ReleaseInfo {
            version: format!("v{}", r.version),
            description: r.description.clone(),
            user: r.user_id.and_then(|id| emails.get(&id).cloned().flatten()),
            created_at: rfc3339(r.created_at),
            status: r.status.as_str().to_string(),
            current: app.current_release_id == Some(r.id),
        })
        .collect())
}
