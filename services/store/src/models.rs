//! Rows of the store as plain Rust values. Times are unix milliseconds (UTC).

use std::collections::BTreeMap;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub admin: bool,
    pub created_at: i64,
}

/// An API token as stored: everything but the token (only its hash is kept, and not returned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: Uuid,
    pub user_id: Uuid,
    /// Which client asked for it, e.g. `paas login from laptop`.
    pub description: String,
    pub created_at: i64,
    /// The token is refused from this time on.
    pub expires_at: i64,
    /// Updated at most about once a minute (see `Store::touch_token`).
    pub last_used_at: Option<i64>,
}

impl ApiToken {
    pub fn is_expired(&self, now_ms: i64) -> bool {
        now_ms >= self.expires_at
    }
}

/// What `Store::create_token` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub user_id: Uuid,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    pub description: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub id: Uuid,
    pub name: String,
    pub owner_id: Uuid,
    pub current_release_id: Option<Uuid>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildStatus {
    Pending,
    Succeeded,
    Failed,
}

impl BuildStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    pub id: Uuid,
    pub app_id: Uuid,
    pub user_id: Uuid,
    pub commit: String,
    pub status: BuildStatus,
    pub release_id: Option<Uuid>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseStatus {
    /// Created, not yet running healthy.
    Pending,
    /// Deployed: its processes started and answered.
    Succeeded,
    /// Never became healthy; the previous release kept serving.
    Failed,
}

impl ReleaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRelease {
    pub app_id: Uuid,
    pub image: String,
    /// Process type -> command.
    pub process_types: BTreeMap<String, String>,
    /// Config vars snapshot.
    pub config: BTreeMap<String, String>,
    pub description: String,
    pub user_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub id: Uuid,
    pub app_id: Uuid,
    /// 1, 2, 3, ... per app.
    pub version: i64,
    pub image: String,
    pub process_types: BTreeMap<String, String>,
    pub config: BTreeMap<String, String>,
    pub description: String,
    pub user_id: Option<Uuid>,
    pub status: ReleaseStatus,
    pub created_at: i64,
}

/// A pushed build's release, recorded in one transaction with everything that goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRelease {
    pub build_id: Uuid,
    /// Its `config` is ignored: the release takes the current release's config, read in the
    /// same transaction (so a concurrent config change is never lost).
    pub release: NewRelease,
    /// The formation to set when the app has none yet.
    pub initial_formation: paas_domain::Formation,
    /// The branch git will move, e.g. `refs/heads/main`.
    pub ref_name: String,
    pub new_commit: String,
}

/// A push whose release is current while git may not yet have moved the branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingPush {
    pub build_id: Uuid,
    pub app_id: Uuid,
    pub ref_name: String,
    pub new_commit: String,
    pub release_id: Uuid,
    /// The release that was current before; made current again if the push is undone.
    pub previous_release_id: Option<Uuid>,
}

/// A release made from the current one (or an older one) without a build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseChange {
    /// Config vars set (`Some`) or unset (`None`) on the current release's image.
    Config(paas_domain::config_vars::ConfigChange),
    /// The image, process types and config of release `version`, as a new release.
    Rollback { version: i64 },
}

/// What a drain row is: a log drain (`paas drains`) or an OTLP export (`paas telemetry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DrainKind {
    Log,
    Otlp,
}

impl DrainKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DrainKind::Log => "log",
            DrainKind::Otlp => "otlp",
        }
    }
}
