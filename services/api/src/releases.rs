//! The releases service: every release that is not a push (config changes, rollbacks, and
//! later the console's) is made here, the same way: recorded with the store's one-transaction
//! `change_release`, then rolled out by the scheduler, waiting until its processes answer.

use crate::error::ApiError;
use crate::state::ApiState;
use crate::views::rfc3339;
use paas_domain::api::ReleaseInfo;
use paas_scheduler::ReleaseOutcome;
use paas_store::{App, Release, ReleaseChange, ReleaseStatus, User};
use std::collections::HashMap;
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
    state.scheduler.wake();
    if release.status != ReleaseStatus::Pending {
        return Ok(release);
    }
    let outcome = state
        .scheduler
        .await_release(release.id, state.config.deploy_timeout)
        .await
        .map_err(ApiError::internal)?;
    match outcome {
        ReleaseOutcome::Succeeded => Ok(release),
        ReleaseOutcome::Failed | ReleaseOutcome::TimedOut => Err(ApiError::Invalid(format!(
            "Release v{} failed to start: its web process did not answer HTTP on $PORT in time; the previous release keeps serving.",
            release.version
        ))),
    }
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
