//! Push grants: a random token handed to one `git receive-pack` run through its environment,
//! so that its `pre-receive` hook can call paasd on behalf of the pushing user.

use crate::auth::generate_token;
use std::collections::HashMap;
use std::sync::Mutex;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct PushGrant {
    pub app: String,
    pub user_id: Uuid,
    pub user_email: String,
}

#[derive(Default)]
pub struct PushGrants {
    grants: Mutex<HashMap<String, PushGrant>>,
}

impl PushGrants {
    pub fn grant(&self, grant: PushGrant) -> String {
        let token = generate_token();
        self.lock().insert(token.clone(), grant);
        token
    }

    pub fn get(&self, token: &str) -> Option<PushGrant> {
        self.lock().get(token).cloned()
    }

    pub fn revoke(&self, token: &str) {
        self.lock().remove(token);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, PushGrant>> {
        self.grants.lock().unwrap_or_else(|p| p.into_inner())
    }
}
