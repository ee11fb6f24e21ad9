//! Receiving pushes: git smart HTTP (`git receive-pack --stateless-rpc` on the app's bare
//! repository), the push grants that let the repository's `pre-receive` hook call back in, and
//! the build-and-deploy flow that runs inside that hook.

pub mod deploy;
pub mod hook;
pub mod pushes;
pub mod settle;
pub mod smart_http;

/// Last line of the hook endpoint's stream: the hook exits 0 only after `...ok`.
pub const HOOK_RESULT_PREFIX: &str = "paas-hook-result: ";

/// What the `pre-receive` hook sends for one pushed ref.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct HookRequest {
    /// The push grant given to this receive-pack run.
    pub token: String,
    pub old: String,
    pub new: String,
    pub ref_name: String,
    /// Git's quarantine object directories, where the pushed objects wait during the hook.
    pub object_dirs: Vec<String>,
}
