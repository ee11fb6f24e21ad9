//! paasd's configuration: defaults, then a TOML file (`PAAS_CONFIG`, or `paasd.toml` in the
//! data directory when present), then `PAAS_*` environment variables (and `DATABASE_URL`).

use anyhow::Context;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

const DEFAULT_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Database, repositories and build scratch space.
    pub data_dir: PathBuf,
    /// The one HTTP port for apps and the platform.
    pub http_addr: SocketAddr,
    /// Apps answer at `<app>.<domain>`.
    pub domain: String,
    /// `sqlite://...` or `postgres://...`; default: SQLite in the data directory.
    pub database_url: Option<String>,
    pub admin_email: String,
    /// When unset on first start, a password is generated and printed once.
    pub admin_password: Option<String>,
    /// Base URL of the platform for git remotes (default: as each client reached it).
    pub public_url: Option<String>,
    /// CA bundle trusted inside build containers; empty string disables.
    pub ca_bundle: Option<String>,
    pub debian_mirror: String,
    /// Base image tried with a registry pull before bootstrapping one with debootstrap.
    pub pull_base: String,
    /// Docker network the app processes join.
    pub network: String,
    pub health_timeout_secs: u64,
    pub stop_grace_secs: u64,
    /// `tracing` filter, e.g. `info` or `paas_scheduler=debug`.
    pub log: String,
    /// Seconds a build's compile may run before it is stopped.
    pub build_timeout: u64,
    /// Memory limit of a build container, MiB.
    pub build_memory: u64,
    /// CPU limit of a build container, in CPUs (e.g. 1.5).
    pub build_cpus: f64,
    /// Largest push accepted, MiB.
    pub max_push: u64,
    /// CPU limit of each app process, in CPUs.
    pub process_cpus: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from(".paas"),
            http_addr: SocketAddr::from(([0, 0, 0, 0], 8080)),
            domain: "localhost".to_string(),
            database_url: None,
            admin_email: "admin@paas.local".to_string(),
            admin_password: None,
            public_url: None,
            ca_bundle: Path::new(DEFAULT_CA_BUNDLE)
                .exists()
                .then(|| DEFAULT_CA_BUNDLE.to_string()),
            debian_mirror: "http://deb.debian.org/debian".to_string(),
            pull_base: "debian:bookworm-slim".to_string(),
            network: "paas".to_string(),
            health_timeout_secs: 60,
            stop_grace_secs: 30,
            log: "info".to_string(),
            build_timeout: 15 * 60,
            build_memory: 2048,
            build_cpus: 1.0,
            max_push: 1024,
            process_cpus: 1.0,
        }
    }
}

impl Config {
    /// Defaults, then the file, then the environment.
    pub fn load() -> anyhow::Result<Self> {
        let env = |key: &str| std::env::var(key).ok();
        let data_dir = env("PAAS_DATA").map(PathBuf::from);
        let file = env("PAAS_CONFIG").map(PathBuf::from).or_else(|| {
            let candidate = data_dir
                .clone()
                .unwrap_or_else(|| Config::default().data_dir)
                .join("paasd.toml");
            candidate.exists().then_some(candidate)
        });
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("invalid configuration in {}", path.display()))?
            }
            None => Config::default(),
        };
        config.apply_env(env)?;
        Ok(config)
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(v) = env("PAAS_DATA") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = env("PAAS_HTTP_ADDR") {
            self.http_addr = v.parse().with_context(|| {
                format!("PAAS_HTTP_ADDR {v:?} is not an address like 0.0.0.0:8080")
            })?;
        }
        if let Some(v) = env("PAAS_DOMAIN") {
            self.domain = v;
        }
        if let Some(v) = env("PAAS_DATABASE_URL").or_else(|| env("DATABASE_URL")) {
            self.database_url = Some(v);
        }
        if let Some(v) = env("PAAS_ADMIN_EMAIL") {
            self.admin_email = v;
        }
        if let Some(v) = env("PAAS_ADMIN_PASSWORD") {
            self.admin_password = Some(v);
        }
        if let Some(v) = env("PAAS_PUBLIC_URL") {
            self.public_url = Some(v);
        }
        if let Some(v) = env("PAAS_CA_BUNDLE") {
            self.ca_bundle = Some(v);
        }
        if let Some(v) = env("PAAS_DEBIAN_MIRROR") {
            self.debian_mirror = v;
        }
        if let Some(v) = env("PAAS_PULL_BASE") {
            self.pull_base = v;
        }
        if let Some(v) = env("PAAS_NETWORK") {
            self.network = v;
        }
        if let Some(v) = env("PAAS_HEALTH_TIMEOUT") {
            self.health_timeout_secs = v
                .parse()
                .with_context(|| format!("PAAS_HEALTH_TIMEOUT {v:?} is not a number of seconds"))?;
        }
        if let Some(v) = env("PAAS_STOP_GRACE") {
            self.stop_grace_secs = v
                .parse()
                .with_context(|| format!("PAAS_STOP_GRACE {v:?} is not a number of seconds"))?;
        }
        if let Some(v) = env("PAAS_LOG") {
            self.log = v;
        }
        if let Some(v) = env("PAAS_BUILD_TIMEOUT") {
            self.build_timeout = parse_env("PAAS_BUILD_TIMEOUT", &v, "a number of seconds")?;
        }
        if let Some(v) = env("PAAS_BUILD_MEMORY") {
            self.build_memory = parse_env("PAAS_BUILD_MEMORY", &v, "a number of MiB")?;
        }
        if let Some(v) = env("PAAS_BUILD_CPUS") {
            self.build_cpus = parse_env("PAAS_BUILD_CPUS", &v, "a number of CPUs")?;
        }
        if let Some(v) = env("PAAS_MAX_PUSH") {
            self.max_push = parse_env("PAAS_MAX_PUSH", &v, "a number of MiB")?;
        }
        if let Some(v) = env("PAAS_PROCESS_CPUS") {
            self.process_cpus = parse_env("PAAS_PROCESS_CPUS", &v, "a number of CPUs")?;
        }
        Ok(())
    }

    /// CPUs as Docker's billionths of a CPU (at least a hundredth of one).
    pub fn nano_cpus(cpus: f64) -> i64 {
        ((cpus * 1e9) as i64).max(10_000_000)
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("paas.db").display()))
    }

    pub fn ca_bundle(&self) -> Option<String> {
        self.ca_bundle.clone().filter(|p| !p.is_empty())
    }
}

fn parse_env<T: std::str::FromStr>(name: &str, value: &str, what: &str) -> anyhow::Result<T> {
    value
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("{name} {value:?} is not {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn env_overrides_defaults() {
        let vars: HashMap<&str, &str> = HashMap::from([
            ("PAAS_DATA", "/var/lib/paas"),
            ("PAAS_HTTP_ADDR", "127.0.0.1:9000"),
            ("DATABASE_URL", "postgres://u@h/db"),
            ("PAAS_CA_BUNDLE", ""),
        ]);
        let mut config = Config::default();
        config
            .apply_env(|k| vars.get(k).map(|v| v.to_string()))
            .unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/paas"));
        assert_eq!(config.http_addr.port(), 9000);
        assert_eq!(config.database_url(), "postgres://u@h/db");
        assert_eq!(config.ca_bundle(), None);
        assert_eq!(config.domain, "localhost");
    }

    #[test]
    fn default_database_is_sqlite_in_data_dir() {
        assert_eq!(Config::default().database_url(), "sqlite://.paas/paas.db");
    }

    #[test]
    fn bad_values_are_refused_with_their_name() {
        let mut config = Config::default();
        let err = config
            .apply_env(|k| (k == "PAAS_HTTP_ADDR").then(|| "nope".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("PAAS_HTTP_ADDR"));
        let err = config
            .apply_env(|k| (k == "PAAS_BUILD_TIMEOUT").then(|| "soon".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("PAAS_BUILD_TIMEOUT"));
    }

    #[test]
    fn build_and_push_limits() {
        let config = Config::default();
        assert_eq!(
            (config.build_timeout, config.max_push, config.build_memory),
            (900, 1024, 2048)
        );
        let vars: HashMap<&str, &str> = HashMap::from([
            ("PAAS_BUILD_TIMEOUT", "20"),
            ("PAAS_MAX_PUSH", "5"),
            ("PAAS_BUILD_CPUS", "0.5"),
        ]);
        let mut config = Config::default();
        config
            .apply_env(|k| vars.get(k).map(|v| v.to_string()))
            .unwrap();
        assert_eq!((config.build_timeout, config.max_push), (20, 5));
        assert_eq!(Config::nano_cpus(config.build_cpus), 500_000_000);
        assert_eq!(Config::nano_cpus(0.0), 10_000_000);
    }

    #[test]
    fn file_values_parse() {
        let config: Config =
            toml::from_str("domain = \"apps.example.com\"\nstop_grace_secs = 5\n").unwrap();
        assert_eq!(config.domain, "apps.example.com");
        assert_eq!(config.stop_grace_secs, 5);
        assert_eq!(config.network, "paas");
        assert!(toml::from_str::<Config>("nonsense = 1").is_err());
    }
}
