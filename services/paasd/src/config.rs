//! paasd's configuration: defaults, then a TOML file (`PAAS_CONFIG`, or `paasd.toml` in the
//! data directory when present), then `PAAS_*` environment variables (and `DATABASE_URL`).

use crate::front_door::FrontDoorConfig;
use anyhow::Context;
use paas_runtime::{Ipv4Net, SubnetPool};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

const DEFAULT_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Database, repositories and build scratch space.
    #[serde(alias = "data")]
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
    /// Prefix of the apps' Docker networks (one per app).
    pub network: String,
    /// Where the apps' networks take their subnets from (a /24 each), CIDR.
    pub network_pool: String,
    #[serde(alias = "health_timeout")]
    pub health_timeout_secs: u64,
    #[serde(alias = "stop_grace")]
    pub stop_grace_secs: u64,
    /// Seconds between reconcile passes when nothing changes (Docker's events and API
    /// changes wake the scheduler sooner).
    #[serde(alias = "reconcile_interval")]
    pub reconcile_interval_secs: u64,
    /// Router: seconds to connect to a web process.
    #[serde(alias = "router_connect_timeout")]
    pub router_connect_timeout_secs: u64,
    /// Router: seconds until the response head (H12 after).
    #[serde(alias = "router_timeout")]
    pub router_timeout_secs: u64,
    /// Router: seconds a response body may pause before it is cut.
    #[serde(alias = "router_idle_timeout")]
    pub router_idle_timeout_secs: u64,
    /// Router: seconds a request waits for a web process when none is ready.
    #[serde(alias = "router_hold")]
    pub router_hold_secs: u64,
    /// Router: one line per request in the app's log (and its metrics); off for benchmarks
    /// or for apps whose request lines nobody reads.
    pub router_log: bool,
    /// Router: the fast path for plain HTTP/1.1 app requests (hyper serves the rest); off
    /// sends every request through hyper.
    pub router_fast_path: bool,
    /// Metrics: seconds between two readings of every process's CPU and memory.
    #[serde(alias = "stats_interval")]
    pub stats_interval_secs: u64,
    /// Seconds between two OTLP metrics exports (`paas telemetry:add`).
    #[serde(alias = "otlp_interval")]
    pub otlp_interval_secs: u64,
    /// `tracing` filter, e.g. `info` or `paas_scheduler=debug`.
    pub log: String,
    /// Bytes each app's log keeps on disk (oldest lines dropped first).
    pub app_log_max_bytes: u64,
    /// paasd's own log goes to this file (rotated) instead of stderr.
    pub log_file: Option<PathBuf>,
    /// Bytes `log_file` may reach before it is rotated (one previous file is kept).
    pub log_file_max_bytes: u64,
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
    /// Seconds a client has to send a request's head once it has connected (or started it).
    #[serde(alias = "header_timeout")]
    pub header_timeout_secs: u64,
    /// Seconds a connection may sit with no request in flight and no bytes before it is closed.
    #[serde(alias = "idle_timeout")]
    pub idle_timeout_secs: u64,
    /// Open HTTP connections allowed from one client address.
    pub max_connections_per_ip: usize,
    /// Open HTTP connections allowed in total.
    pub max_connections: usize,
    /// Threads serving the HTTP port, each with its own runtime (0: one per CPU).
    pub http_threads: usize,
    /// How long an API token from `paas login` is valid (default one year).
    #[serde(alias = "token_ttl")]
    pub token_ttl_secs: u64,
    /// Failed sign-ins allowed per account, and per client address, within the window.
    pub login_max_failures: u32,
    /// The window of `login_max_failures`, from the first failure.
    #[serde(alias = "login_window")]
    pub login_window_secs: u64,
    /// Where processes run: this Docker engine (`docker`), or a Docker Swarm through this
    /// engine, a manager (`swarm`). Apps may choose otherwise (`paas scheduler:set`).
    pub scheduler: SchedulerKind,
    /// The registry (`host:port`) release images are pushed to so that every Swarm node can
    /// pull them; unset: images are used as built (a Swarm of one node).
    pub registry: Option<String>,
}

/// `PAAS_SCHEDULER`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SchedulerKind {
    #[default]
    Docker,
    Swarm,
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
            network_pool: "172.28.0.0/14".to_string(),
            health_timeout_secs: 60,
            stop_grace_secs: 30,
            reconcile_interval_secs: 5,
            router_connect_timeout_secs: 5,
            router_timeout_secs: 30,
            router_idle_timeout_secs: 55,
            router_hold_secs: 10,
            router_log: true,
            router_fast_path: true,
            stats_interval_secs: 15,
            otlp_interval_secs: 60,
            log: "info".to_string(),
            app_log_max_bytes: 8 * 1024 * 1024,
            log_file: None,
            log_file_max_bytes: 64 * 1024 * 1024,
            build_timeout: 15 * 60,
            build_memory: 2048,
            build_cpus: 1.0,
            max_push: 1024,
            process_cpus: 1.0,
            header_timeout_secs: 10,
            idle_timeout_secs: 60,
            max_connections_per_ip: 256,
            max_connections: 8192,
            http_threads: 0,
            token_ttl_secs: 365 * 24 * 60 * 60,
            login_max_failures: 5,
            login_window_secs: 300,
            scheduler: SchedulerKind::Docker,
            registry: None,
        }
    }
}

/// Most threads the HTTP port may be served by (each has its own runtime and pool).
const MAX_HTTP_THREADS: usize = 256;

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
        config.check()?;
        Ok(config)
    }

    /// Refuses settings that parse but cannot be meant: one line naming the setting.
    fn check(&self) -> anyhow::Result<()> {
        if self.http_threads > MAX_HTTP_THREADS {
            anyhow::bail!(
                "PAAS_HTTP_THREADS {} is more than {MAX_HTTP_THREADS} threads (0 means one per CPU)",
                self.http_threads
            );
        }
        Ok(())
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
        if let Some(v) = env("PAAS_NETWORK_POOL") {
            self.network_pool = v;
        }
        if let Some(v) = env("PAAS_HEALTH_TIMEOUT") {
            self.health_timeout_secs = v
                .parse()
                .with_context(|| format!("PAAS_HEALTH_TIMEOUT {v:?} is not a number of seconds"))?;
        }
        for (name, field) in [
            ("PAAS_STATS_INTERVAL", &mut self.stats_interval_secs),
            ("PAAS_OTLP_INTERVAL", &mut self.otlp_interval_secs),
        ] {
            if let Some(v) = env(name) {
                *field =
                    v.parse().ok().filter(|secs| *secs > 0).with_context(|| {
                        format!("{name} {v:?} is not a number of seconds above 0")
                    })?;
            }
        }
        if let Some(v) = env("PAAS_RECONCILE_INTERVAL") {
            self.reconcile_interval_secs =
                v.parse().ok().filter(|secs| *secs > 0).with_context(|| {
                    format!("PAAS_RECONCILE_INTERVAL {v:?} is not a number of seconds above 0")
                })?;
        }
        for (name, field) in [
            (
                "PAAS_ROUTER_CONNECT_TIMEOUT",
                &mut self.router_connect_timeout_secs,
            ),
            ("PAAS_ROUTER_TIMEOUT", &mut self.router_timeout_secs),
            (
                "PAAS_ROUTER_IDLE_TIMEOUT",
                &mut self.router_idle_timeout_secs,
            ),
            ("PAAS_ROUTER_HOLD", &mut self.router_hold_secs),
        ] {
            if let Some(v) = env(name) {
                *field = v
                    .parse()
                    .with_context(|| format!("{name} {v:?} is not a number of seconds"))?;
            }
        }
        if let Some(v) = env("PAAS_ROUTER_LOG") {
            self.router_log = match v.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "on" | "yes" => true,
                "0" | "false" | "off" | "no" => false,
                _ => anyhow::bail!("PAAS_ROUTER_LOG {v:?} is not on or off"),
            };
        }
        if let Some(v) = env("PAAS_ROUTER_FAST_PATH") {
            self.router_fast_path = match v.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "on" | "yes" => true,
                "0" | "false" | "off" | "no" => false,
                _ => anyhow::bail!("PAAS_ROUTER_FAST_PATH {v:?} is not on or off"),
            };
        }
        if let Some(v) = env("PAAS_STOP_GRACE") {
            self.stop_grace_secs = v
                .parse()
                .with_context(|| format!("PAAS_STOP_GRACE {v:?} is not a number of seconds"))?;
        }
        if let Some(v) = env("PAAS_LOG") {
            self.log = v;
        }
        if let Some(v) = env("PAAS_APP_LOG_MAX_BYTES") {
            self.app_log_max_bytes = parse_env("PAAS_APP_LOG_MAX_BYTES", &v, "a number of bytes")?;
        }
        if let Some(v) = env("PAAS_LOG_FILE") {
            self.log_file = (!v.is_empty()).then(|| PathBuf::from(v));
        }
        if let Some(v) = env("PAAS_LOG_FILE_MAX_BYTES") {
            self.log_file_max_bytes =
                parse_env("PAAS_LOG_FILE_MAX_BYTES", &v, "a number of bytes")?;
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
        if let Some(v) = env("PAAS_HEADER_TIMEOUT") {
            self.header_timeout_secs = number(&v, "PAAS_HEADER_TIMEOUT", "seconds")?;
        }
        if let Some(v) = env("PAAS_IDLE_TIMEOUT") {
            self.idle_timeout_secs = number(&v, "PAAS_IDLE_TIMEOUT", "seconds")?;
        }
        if let Some(v) = env("PAAS_MAX_CONNECTIONS_PER_IP") {
            self.max_connections_per_ip = number(&v, "PAAS_MAX_CONNECTIONS_PER_IP", "connections")?;
        }
        if let Some(v) = env("PAAS_MAX_CONNECTIONS") {
            self.max_connections = number(&v, "PAAS_MAX_CONNECTIONS", "connections")?;
        }
        if let Some(v) = env("PAAS_HTTP_THREADS") {
            self.http_threads = number(&v, "PAAS_HTTP_THREADS", "threads")?;
        }
        if let Some(v) = env("PAAS_TOKEN_TTL") {
            self.token_ttl_secs = v
                .parse()
                .with_context(|| format!("PAAS_TOKEN_TTL {v:?} is not a number of seconds"))?;
        }
        if let Some(v) = env("PAAS_LOGIN_MAX_FAILURES") {
            self.login_max_failures = v.parse().with_context(|| {
                format!("PAAS_LOGIN_MAX_FAILURES {v:?} is not a number of attempts")
            })?;
        }
        if let Some(v) = env("PAAS_SCHEDULER") {
            self.scheduler = match v.as_str() {
                "docker" => SchedulerKind::Docker,
                "swarm" => SchedulerKind::Swarm,
                _ => anyhow::bail!("PAAS_SCHEDULER {v:?} is not docker or swarm"),
            };
        }
        if let Some(v) = env("PAAS_REGISTRY") {
            let v = v.trim();
            self.registry = (!v.is_empty()).then(|| v.to_string());
        }
        if let Some(v) = env("PAAS_LOGIN_WINDOW") {
            self.login_window_secs = v
                .parse()
                .with_context(|| format!("PAAS_LOGIN_WINDOW {v:?} is not a number of seconds"))?;
        }
        Ok(())
    }

    /// CPUs as Docker's billionths of a CPU (at least a hundredth of one).
    pub fn nano_cpus(cpus: f64) -> i64 {
        ((cpus * 1e9) as i64).max(10_000_000)
    }

    /// The pool app networks take their /24 subnets from.
    pub fn subnet_pool(&self) -> anyhow::Result<SubnetPool> {
        let pool: Ipv4Net = self
            .network_pool
            .parse()
            .with_context(|| format!("PAAS_NETWORK_POOL {:?}", self.network_pool))?;
        Ok(SubnetPool { pool, prefix: 24 })
    }

    /// The front door's timeouts and connection caps.
    pub fn front_door(&self) -> FrontDoorConfig {
        FrontDoorConfig {
            header_timeout: Duration::from_secs(self.header_timeout_secs.max(1)),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs.max(1)),
            max_connections_per_ip: self.max_connections_per_ip.max(1),
            max_connections: self.max_connections.max(1),
            threads: self.http_threads,
            fast_path: self.router_fast_path,
            park_after: crate::front_door::fast::PARK_AFTER,
        }
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("paas.db").display()))
    }

    /// The SQLite database file, when the database is SQLite.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let url = self.database_url();
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or(rest);
        (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
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

fn number<T: std::str::FromStr>(value: &str, name: &str, unit: &str) -> anyhow::Result<T> {
    value
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("{name} {value:?} is not a number of {unit}"))
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
        assert_eq!(
            Config::default().sqlite_path(),
            Some(PathBuf::from(".paas/paas.db"))
        );
        let with = |url: &str| Config {
            database_url: Some(url.to_string()),
            ..Config::default()
        };
        assert_eq!(
            with("sqlite:///var/db/p.db?mode=rwc").sqlite_path(),
            Some(PathBuf::from("/var/db/p.db"))
        );
        assert_eq!(with("postgres://u@h/db").sqlite_path(), None);
    }

    #[test]
    fn token_and_login_limits() {
        let config = Config::default();
        assert_eq!(config.token_ttl_secs, 31_536_000);
        assert_eq!(config.login_max_failures, 5);
        let vars: HashMap<&str, &str> = HashMap::from([
            ("PAAS_TOKEN_TTL", "2"),
            ("PAAS_LOGIN_MAX_FAILURES", "9"),
            ("PAAS_LOGIN_WINDOW", "30"),
        ]);
        let mut config = Config::default();
        config
            .apply_env(|k| vars.get(k).map(|v| v.to_string()))
            .unwrap();
        assert_eq!(
            (
                config.token_ttl_secs,
                config.login_max_failures,
                config.login_window_secs
            ),
            (2, 9, 30)
        );
        let file: Config = toml::from_str(
            "token_ttl_secs = 86400
",
        )
        .unwrap();
        assert_eq!(file.token_ttl_secs, 86_400);
        let err = Config::default()
            .apply_env(|k| (k == "PAAS_TOKEN_TTL").then(|| "1y".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("PAAS_TOKEN_TTL"));
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

    /// The `PAAS_*` names in README.md's configuration table: a file key is the name without
    /// `PAAS_`, in lower case.
    fn documented_keys() -> Vec<String> {
        include_str!("../../../README.md")
            .lines()
            .filter(|line| line.starts_with("| `"))
            .filter_map(|line| line.split('|').nth(1))
            .flat_map(|cell| cell.split('`'))
            .filter_map(|word| word.strip_prefix("PAAS_"))
            .map(str::to_ascii_lowercase)
            .collect()
    }

    #[test]
    fn every_documented_key_is_accepted_in_the_file() {
        let values: HashMap<&str, &str> = HashMap::from([
            ("data", "\"/srv/paas\""),
            ("http_addr", "\"127.0.0.1:9090\""),
            ("domain", "\"apps.example.com\""),
            ("database_url", "\"postgres://u@h/db\""),
            ("admin_email", "\"root@example.com\""),
            ("admin_password", "\"secret-password\""),
            ("public_url", "\"https://paas.example.com\""),
            ("ca_bundle", "\"\""),
            ("debian_mirror", "\"http://mirror.example/debian\""),
            ("pull_base", "\"debian:trixie-slim\""),
            ("network", "\"paasnet\""),
            ("network_pool", "\"10.99.0.0/16\""),
            ("health_timeout", "7"),
            ("stop_grace", "3"),
            ("reconcile_interval", "11"),
            ("router_connect_timeout", "2"),
            ("router_timeout", "12"),
            ("router_idle_timeout", "13"),
            ("router_hold", "14"),
            ("router_log", "false"),
            ("router_fast_path", "false"),
            ("stats_interval", "16"),
            ("otlp_interval", "17"),
            ("log", "\"debug\""),
            ("app_log_max_bytes", "65536"),
            ("log_file", "\"/var/log/paasd.log\""),
            ("log_file_max_bytes", "1048576"),
            ("header_timeout", "4"),
            ("idle_timeout", "9"),
            ("max_connections_per_ip", "12"),
            ("max_connections", "34"),
            ("http_threads", "3"),
            ("build_timeout", "120"),
            ("build_memory", "1024"),
            ("build_cpus", "1.5"),
            ("max_push", "64"),
            ("process_cpus", "0.5"),
            ("token_ttl", "3600"),
            ("login_max_failures", "3"),
            ("login_window", "60"),
            ("scheduler", "\"swarm\""),
            ("registry", "\"10.0.0.1:5000\""),
        ]);
        let keys = documented_keys();
        assert!(keys.len() >= 14, "README's table not found: {keys:?}");
        let file: String = keys
            .iter()
            .map(|key| {
                let value = values
                    .get(key.as_str())
                    .unwrap_or_else(|| panic!("no test value for the documented key {key}"));
                format!("{key} = {value}\n")
            })
            .collect();
        let config: Config = toml::from_str(&file).unwrap_or_else(|e| panic!("{e}\n{file}"));
        assert_eq!(config.scheduler, SchedulerKind::Swarm);
        assert_eq!(config.registry.as_deref(), Some("10.0.0.1:5000"));
        assert_eq!(config.data_dir, PathBuf::from("/srv/paas"));
        assert_eq!(config.http_addr.port(), 9090);
        assert_eq!(config.domain, "apps.example.com");
        assert_eq!(config.database_url(), "postgres://u@h/db");
        assert_eq!(config.admin_email, "root@example.com");
        assert_eq!(config.admin_password.as_deref(), Some("secret-password"));
        assert_eq!(
            config.public_url.as_deref(),
            Some("https://paas.example.com")
        );
        assert_eq!(config.ca_bundle(), None);
        assert_eq!(config.debian_mirror, "http://mirror.example/debian");
        assert_eq!(config.pull_base, "debian:trixie-slim");
        assert_eq!(config.network, "paasnet");
        assert_eq!(
            config.subnet_pool().unwrap().pool.to_string(),
            "10.99.0.0/16"
        );
        assert_eq!(config.health_timeout_secs, 7);
        assert_eq!(config.stop_grace_secs, 3);
        assert_eq!(config.reconcile_interval_secs, 11);
        assert_eq!(config.stats_interval_secs, 16);
        assert_eq!(config.otlp_interval_secs, 17);
        assert_eq!(
            (
                config.router_connect_timeout_secs,
                config.router_timeout_secs,
                config.router_idle_timeout_secs,
                config.router_hold_secs
            ),
            (2, 12, 13, 14)
        );
        assert_eq!(config.log, "debug");
        assert_eq!(
            (
                config.app_log_max_bytes,
                config.log_file.as_deref(),
                config.log_file_max_bytes
            ),
            (65536, Some(Path::new("/var/log/paasd.log")), 1048576)
        );
        let front_door = config.front_door();
        assert_eq!(front_door.header_timeout, Duration::from_secs(4));
        assert_eq!(front_door.idle_timeout, Duration::from_secs(9));
        assert_eq!(front_door.max_connections_per_ip, 12);
        assert_eq!(front_door.max_connections, 34);
        assert_eq!(
            (config.build_timeout, config.build_memory, config.max_push),
            (120, 1024, 64)
        );
        assert_eq!((config.build_cpus, config.process_cpus), (1.5, 0.5));
        assert_eq!(
            (
                config.token_ttl_secs,
                config.login_max_failures,
                config.login_window_secs
            ),
            (3600, 3, 60)
        );
    }

    #[test]
    fn front_door_limits_come_from_the_environment() {
        let vars: HashMap<&str, &str> = HashMap::from([
            ("PAAS_HEADER_TIMEOUT", "2"),
            ("PAAS_IDLE_TIMEOUT", "3"),
            ("PAAS_MAX_CONNECTIONS_PER_IP", "5"),
            ("PAAS_MAX_CONNECTIONS", "50"),
        ]);
        let mut config = Config::default();
        config
            .apply_env(|k| vars.get(k).map(|v| v.to_string()))
            .unwrap();
        let front_door = config.front_door();
        assert_eq!(front_door.header_timeout, Duration::from_secs(2));
        assert_eq!(front_door.idle_timeout, Duration::from_secs(3));
        assert_eq!(front_door.max_connections_per_ip, 5);
        assert_eq!(front_door.max_connections, 50);
        let err = config
            .apply_env(|k| (k == "PAAS_MAX_CONNECTIONS").then(|| "many".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("PAAS_MAX_CONNECTIONS"), "{err}");
    }

    #[test]
    fn http_threads_and_the_router_log_come_from_the_environment() {
        let vars: HashMap<&str, &str> =
            HashMap::from([("PAAS_HTTP_THREADS", "3"), ("PAAS_ROUTER_LOG", "off")]);
        let mut config = Config::default();
        assert!(config.router_log, "on by default");
        config
            .apply_env(|k| vars.get(k).map(|v| v.to_string()))
            .unwrap();
        assert_eq!(config.front_door().threads, 3);
        assert!(!config.router_log);
        config.check().expect("3 threads are fine");
        config.http_threads = 100_000;
        let err = config.check().unwrap_err();
        assert!(
            err.to_string().contains("PAAS_HTTP_THREADS 100000"),
            "{err}"
        );
        let err = config
            .apply_env(|k| (k == "PAAS_ROUTER_LOG").then(|| "maybe".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("PAAS_ROUTER_LOG"), "{err}");
    }

    #[test]
    fn the_router_fast_path_switch_comes_from_the_environment() {
        let mut config = Config::default();
        assert!(config.front_door().fast_path, "on by default");
        config
            .apply_env(|k| (k == "PAAS_ROUTER_FAST_PATH").then(|| "off".to_string()))
            .unwrap();
        assert!(!config.front_door().fast_path);
        config
            .apply_env(|k| (k == "PAAS_ROUTER_FAST_PATH").then(|| "1".to_string()))
            .unwrap();
        assert!(config.front_door().fast_path);
        let err = config
            .apply_env(|k| (k == "PAAS_ROUTER_FAST_PATH").then(|| "maybe".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("PAAS_ROUTER_FAST_PATH"), "{err}");
    }
}
