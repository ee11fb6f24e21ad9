//! Settings the API needs from paasd's configuration.

use crate::signin::SigninConfig;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Apps answer at `<app>.<domain>`.
    pub domain: String,
    /// Port apps are reached on (omitted from URLs when 80).
    pub http_port: u16,
    /// Base URL of the platform for git remotes; when unset it is taken from the request.
    pub public_url: Option<String>,
    /// Bare repositories live in `<repos_dir>/<app>.git`.
    pub repos_dir: PathBuf,
    /// Scratch space for builds.
    pub builds_dir: PathBuf,
    /// URL the pre-receive hook calls back on.
    pub hook_url: String,
    /// The paasd executable the hook runs.
    pub hook_bin: PathBuf,
    /// Prefix of release image names and cache volumes (unique per paasd instance).
    pub image_prefix: String,
    /// Largest push accepted (bytes of pack data).
    pub max_push_bytes: u64,
    /// How long a push waits for the new release to answer.
    pub deploy_timeout: Duration,
    /// How long an API token from `/api/login` is valid.
    pub token_ttl: Duration,
    /// Sign-in limits and the password hashing pool.
    pub signin: SigninConfig,
    /// The secret a separate router process (`paasd router`) reads the route table with;
    /// `None`: no separate router may.
    pub router_token: Option<String>,
}

impl ApiConfig {
    pub fn web_url(&self, app: &str) -> String {
        match self.http_port {
            80 => format!("http://{app}.{}/", self.domain),
            port => format!("http://{app}.{}:{port}/", self.domain),
        }
    }

    pub fn repo_path(&self, app: &str) -> PathBuf {
        self.repos_dir.join(format!("{app}.git"))
    }

    pub fn cache_volume(&self, app: &str) -> String {
        format!("{}-cache-{app}", self.image_prefix.replace('/', "-"))
    }
}
