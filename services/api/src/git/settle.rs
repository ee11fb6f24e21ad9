//! Settling pushes: a push whose release was made current is finished when git moved the
//! branch to the pushed commit, and undone (release failed, previous release current again)
//! when it did not. Runs when a receive-pack run ends (under the app's push lock) and, for
//! pushes interrupted by a kill, when paasd starts.

use crate::config::ApiConfig;
use paas_store::{PendingPush, Store, StoreError};
use std::collections::HashMap;
use uuid::Uuid;

/// What settling did with one push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Finished,
    Undone,
}

/// Settles every pending push (of `app_id` only, when given). Returns what was done.
pub async fn settle_pushes(
    store: &dyn Store,
    config: &ApiConfig,
    app_id: Option<Uuid>,
) -> Result<Vec<(PendingPush, Settled)>, StoreError> {
    let pending: Vec<PendingPush> = store
        .pending_pushes()
        .await?
        .into_iter()
        .filter(|p| app_id.is_none_or(|id| p.app_id == id))
        .collect();
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let names: HashMap<Uuid, String> = store
        .list_apps()
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let mut settled = Vec::with_capacity(pending.len());
    for push in pending {
        let head = match names.get(&push.app_id) {
            Some(name) => {
                let repo = config.repo_path(name);
                match paas_builder::branch_head(&repo, &push.ref_name) {
                    Ok(head) => head,
                    Err(e) => {
                        tracing::warn!(app = %name, "cannot read the branch, undoing the push: {e}");
                        None
                    }
                }
            }
            None => None,
        };
        let moved = head.as_deref() == Some(push.new_commit.as_str());
        store.settle_push(push.build_id, moved).await?;
        if moved {
            if let Some(name) = names.get(&push.app_id) {
                if let Err(e) =
                    paas_builder::set_default_branch(&config.repo_path(name), &push.ref_name)
                {
                    tracing::warn!(app = %name, "could not point HEAD at the deployed branch: {e}");
                }
            }
        } else {
            tracing::warn!(app = ?names.get(&push.app_id), "push did not move its branch; release undone");
        }
        settled.push((
            push,
            if moved {
                Settled::Finished
            } else {
                Settled::Undone
            },
        ));
    }
    Ok(settled)
}
