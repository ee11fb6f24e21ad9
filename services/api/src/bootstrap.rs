//! First start: create the admin account when the store has no user yet.

use crate::auth::{generate_password, hash_password_async};
use crate::error::ApiError;
use paas_domain::Email;
use paas_store::Store;

/// What `ensure_admin` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminBootstrap {
    /// Users exist already; nothing done.
    Existing,
    /// Created with the password from the configuration.
    Created { email: String },
    /// Created with a generated password, to be shown once.
    Generated { email: String, password: String },
}

pub async fn ensure_admin(
    store: &dyn Store,
    email: &str,
    password: Option<String>,
) -> Result<AdminBootstrap, ApiError> {
    if store.count_users().await? > 0 {
        return Ok(AdminBootstrap::Existing);
    }
    let email = Email::parse(email).map_err(|e| ApiError::Invalid(e.to_string()))?;
    let (password, generated) = match password.filter(|p| !p.is_empty()) {
        Some(p) => (p, false),
        None => (generate_password(), true),
    };
    let hash = hash_password_async(password.clone()).await?;
    store.create_user(&email, &hash, true).await?;
    Ok(if generated {
        AdminBootstrap::Generated {
            email: email.to_string(),
            password,
        }
    } else {
        AdminBootstrap::Created {
            email: email.to_string(),
        }
    })
}
