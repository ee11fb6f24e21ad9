//! Push grants: a random token handed to one `git receive-pack` run through its environment,
//! so that its `pre-receive` hook can call paasd on behalf of the pushing user. A grant also
//! collects the deploys its hook started, so that the end of the receive-pack run can wait for
//! them and settle their outcome against the branch git did (or did not) move.

use crate::auth::generate_token;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::OwnedMutexGuard;
use tokio::task::JoinHandle;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct PushGrant {
    pub app: String,
    pub user_id: Uuid,
    pub user_email: String,
}

/// What a finished deploy hands back: the app's push lock, held until its outcome is settled.
pub struct DeployDone {
    pub push_lock: Option<OwnedMutexGuard<()>>,
}

struct Entry {
    grant: PushGrant,
    deploys: Vec<JoinHandle<DeployDone>>,
}

#[derive(Default)]
pub struct PushGrants {
    grants: Mutex<HashMap<String, Entry>>,
}

impl PushGrants {
    pub fn grant(&self, grant: PushGrant) -> String {
        let token = generate_token();
        self.lock().insert(
            token.clone(),
            Entry {
                grant,
                deploys: Vec::new(),
            },
        );
        token
    }

    pub fn get(&self, token: &str) -> Option<PushGrant> {
        self.lock().get(token).map(|e| e.grant.clone())
    }

    /// Remembers a deploy started by the grant's hook. Returns false (and the caller must abort
    /// the deploy) when the grant is gone.
    pub fn attach(
        &self,
        token: &str,
        deploy: JoinHandle<DeployDone>,
    ) -> Result<(), JoinHandle<DeployDone>> {
        match self.lock().get_mut(token) {
            Some(entry) => {
                entry.deploys.push(deploy);
                Ok(())
            }
            None => Err(deploy),
        }
    }

    /// Ends the grant; returns the deploys its hook started.
    pub fn revoke(&self, token: &str) -> Vec<JoinHandle<DeployDone>> {
        self.lock()
            .remove(token)
            .map(|e| e.deploys)
            .unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.grants.lock().unwrap_or_else(|p| p.into_inner())
    }
}
