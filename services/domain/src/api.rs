//! JSON shapes exchanged by the HTTP API and the CLI. They follow Heroku's Platform API
//! resource names where they fit (apps, collaborators, account, oauth authorizations).

use serde::{Deserialize, Serialize};

/// Every API error body: a machine-readable `id` and one human sentence.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub id: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// What the token is for, e.g. `paas login from laptop` (shown by `paas authorizations`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginResponse {
    pub email: String,
    pub token: String,
}

/// An API token of the account (Heroku's OAuth authorization), without the token itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Authorization {
    pub id: String,
    pub description: String,
    pub created_at: String,
    pub expires_at: String,
    /// Roughly (recorded at most once a minute); absent when never used.
    pub last_used_at: Option<String>,
    /// Whether this is the token the request was made with.
    pub current: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub email: String,
    pub admin: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserInfo {
    pub email: String,
    pub admin: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateUser {
    pub email: String,
    /// When absent the server generates one and returns it once.
    pub password: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedUser {
    pub email: String,
    /// Set only when the server generated the password.
    pub generated_password: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateApp {
    /// When absent the server picks a random readable name.
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppInfo {
    pub name: String,
    pub owner: String,
    pub web_url: String,
    pub git_url: String,
    pub created_at: String,
    /// The current release, e.g. `v3`; absent before the first deploy.
    pub release: Option<String>,
    /// Process type -> quantity.
    pub formation: std::collections::BTreeMap<String, u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Collaborator {
    pub email: String,
    /// `owner` or `collaborator`.
    pub role: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AddCollaborator {
    pub email: String,
}

/// One process type's size, as `GET/PATCH /api/apps/{app}/sizes` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessSizeInfo {
    #[serde(rename = "type")]
    pub process_type: String,
    pub memory_mb: u32,
    /// Thousandths of a CPU.
    pub cpu_millis: u32,
}

/// One release, as `GET /api/apps/{app}/releases` lists them (newest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseInfo {
    /// `v3`.
    pub version: String,
    pub description: String,
    /// E-mail of who made it, when known.
    pub user: Option<String>,
    pub created_at: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    pub current: bool,
}

/// `POST /api/apps/{app}/releases`: roll back to `release` (e.g. `v3`), or to the one before the
/// current release when absent.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RollbackRequest {
    pub release: Option<String>,
}

/// The answer to a change of config vars: the config now, and the release it made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfigVarsChanged {
    pub config: std::collections::BTreeMap<String, String>,
    pub release: ReleaseInfo,
}

/// One process type of the formation (`GET/PATCH /api/apps/{app}/formation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormationEntry {
    #[serde(rename = "type")]
    pub process_type: String,
    pub quantity: u32,
    /// The command from the current release, when it declares the type.
    #[serde(default)]
    pub command: Option<String>,
}

/// `PATCH /api/apps/{app}/formation`: Heroku's batch update shape.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FormationUpdate {
    pub updates: Vec<FormationEntry>,
}

/// One process (`GET /api/apps/{app}/dynos`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dyno {
    /// `web.1`.
    pub name: String,
    #[serde(rename = "type")]
    pub process_type: String,
    /// `up` or `crashed`.
    pub state: String,
    /// Crashed because the kernel killed it for exceeding its memory limit.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub out_of_memory: bool,
    /// `v3`.
    pub release: Option<String>,
    pub created_at: String,
}

/// One custom domain of an app (`GET /api/apps/{app}/domains`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainInfo {
    pub hostname: String,
}

/// An app's maintenance mode (`GET`/`PATCH /api/apps/{app}/maintenance`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaintenanceInfo {
    pub maintenance: bool,
    /// A page of the owner's shown inside the maintenance page.
    #[serde(default)]
    pub page_url: Option<String>,
}

/// Where an app's processes run (`GET /api/apps/{app}/scheduler`, and the answer to `PATCH`):
/// `docker` or `swarm`, and whether that is the platform's default because the app chose none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulerInfo {
    pub scheduler: String,
    pub default: bool,
}

/// `PATCH /api/apps/{app}/scheduler`: `"docker"`, `"swarm"`, or `null` for the platform's
/// default again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetScheduler {
    pub scheduler: Option<String>,
}

/// One node of the platform's Swarm (`GET /api/nodes`, and the answer to a drain or an
/// activation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub id: String,
    pub hostname: String,
    #[serde(default)]
    pub addr: Option<String>,
    /// `ready`, `down`, `disconnected` or `unknown`.
    pub state: String,
    /// `active`, `drain` or `pause`.
    pub availability: String,
    pub manager: bool,
    pub leader: bool,
    /// `"<app> <type>.<n>"` of each of the platform's processes on the node.
    #[serde(default)]
    pub processes: Vec<String>,
}

/// `GET /api/nodes/join?role=worker|manager`: the command that joins a new node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeJoin {
    /// `worker` or `manager`.
    pub role: String,
    pub command: String,
}
