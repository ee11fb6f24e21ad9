//! Stack images: a base Debian root filesystem, a run stack (runtimes only) and a build stack
//! (run stack plus compilers, headers and package tools). Built once per host and reused.

use std::path::PathBuf;

/// How to obtain the stacks. `Default` gives the values paasd uses unless configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackConfig {
    /// Image tried first with a registry pull.
    pub pull_base: String,
    /// Debian mirror for debootstrap and apt inside the stacks.
    pub mirror: String,
    /// Debian suite, e.g. `bookworm`.
    pub suite: String,
    /// Host CA bundle made available to containers that fetch over HTTPS, if any.
    pub ca_bundle: Option<String>,
    /// Debian packages of the run stack.
    pub run_packages: Vec<String>,
    /// Debian packages added on top of the run stack to make the build stack.
    pub build_packages: Vec<String>,
    /// Host file used as a cross-process lock while building stacks.
    pub lock_path: PathBuf,
}

/// Tags of the stack images, ready to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackImages {
    pub base: String,
    pub run: String,
    pub build: String,
}
