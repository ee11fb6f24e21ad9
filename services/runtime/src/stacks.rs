//! Stack images: a base Debian root filesystem, a run stack (runtimes only) and a build stack
//! (run stack plus compilers, headers and package tools). Built once per host and reused.

use std::path::PathBuf;

/// A second tag of the run stack, for Dockerfiles (`FROM paas/run`).
pub const RUN_ALIAS: &str = "paas/run:latest";

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

impl Default for StackConfig {
    /// Debian bookworm from `deb.debian.org`, Python, Node.js, Ruby and PHP (with mbstring, xml
    /// and curl; netbase and tzdata) in the run stack, compilers, Python and Ruby headers, npm,
    /// yarn, Go, Rust and composer in the build stack, the host CA bundle when present, and a lock file in the
    /// system temporary directory (shared by every process on the host that uses the default).
    fn default() -> Self {
        let ca_bundle = "/etc/ssl/certs/ca-certificates.crt";
        StackConfig {
            pull_base: "debian:bookworm-slim".to_string(),
            mirror: "http://deb.debian.org/debian".to_string(),
            suite: "bookworm".to_string(),
            ca_bundle: std::path::Path::new(ca_bundle)
                .exists()
                .then(|| ca_bundle.to_string()),
            run_packages: [
                "ca-certificates",
                "python3",
                "netbase",
                "tzdata",
                // Runtimes of the Node.js, Ruby and PHP buildpacks (`bundle exec` needs bundler),
                // and the PHP extensions most apps expect (mbstring, xml/dom, curl).
                "nodejs",
                "ruby",
                "ruby-bundler",
                "php-cli",
                "php-mbstring",
                "php-xml",
                "php-curl",
            ]
            .map(String::from)
            .to_vec(),
            build_packages: [
                "python3-pip",
                "python3-venv",
                "python3-dev",
                "build-essential",
                "git",
                "curl",
                // Toolchains of the Node.js, Go, Rust, PHP and Ruby buildpacks (yarn is Debian's
                // `yarnpkg`; bookworm has no pnpm package).
                "npm",
                "yarnpkg",
                "golang-go",
                "rustc-web",
                "cargo-web",
                "composer",
                "ruby-dev",
            ]
            .map(String::from)
            .to_vec(),
            lock_path: std::env::temp_dir().join("paas-stacks.lock"),
        }
    }
}
