//! A real multi-host Docker Swarm for a test: `SwarmCluster::up(3)` runs
//! `scripts/swarm-cluster up 3` (engines in network namespaces, the run stack image loaded
//! into each, every node a Ready manager) and its `Drop` runs `scripts/swarm-cluster down`,
//! also when the test panics. The cluster's names and addresses (namespaces `paas-sw-*`,
//! 10.231.0.0/24) are machine-wide, so a cross-process lock (`<dir>.lock`, flock) makes tests
//! that use it take turns.
//!
//! A whole paasd on the cluster: `SwarmCluster::up_for_paasd(3)` also loads paasd's build stack
//! into node 1, and `spawn_paasd` starts `target/debug/paasd` in node 1's network namespace
//! (where the containers of node 1's engine are reachable, as on a manager host) with
//! `DOCKER_HOST` at node 1's engine, `PAAS_SCHEDULER=swarm` and the cluster's registry: apps
//! build and run on node 1, and the test reaches paasd at node 1's address.

use crate::{workspace, Paasd, PaasdOptions};
use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The work directory the script uses unless `PAAS_SWARM_DIR` says otherwise.
const DEFAULT_DIR: &str = "/tmp/paas-swarm";

/// A running cluster; torn down when dropped.
pub struct SwarmCluster {
    dir: PathBuf,
    nodes: usize,
    /// Whether node 1 has paasd's build stack (`up_for_paasd`).
    build_stack: bool,
    /// How long `up` took (after the lock).
    pub took: Duration,
    /// How long `up` waited for the lock (another test's cluster).
    pub waited: Duration,
    _lock: File,
}

impl SwarmCluster {
    /// Brings up a fresh cluster of `nodes` engines (a previous one is torn down first).
    pub fn up(nodes: usize) -> Self {
        Self::start(nodes, false)
    }

    /// `up`, and node 1 also gets the stacks paasd builds on (`PAAS_SWARM_BUILD_STACK=1`:
    /// `paas/base`, `paas/stack-run`, `paas/stack-build`, as `target/debug/paasd stacks` names
    /// them), for `spawn_paasd`.
    pub fn up_for_paasd(nodes: usize) -> Self {
        Self::start(nodes, true)
    }

    fn start(nodes: usize, build_stack: bool) -> Self {
        let dir = std::env::var("PAAS_SWARM_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from(DEFAULT_DIR));
        let lock_path = dir.with_extension("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .unwrap_or_else(|e| panic!("open {}: {e}", lock_path.display()));
        let waiting = Instant::now();
        lock.lock()
            .unwrap_or_else(|e| panic!("lock {}: {e}", lock_path.display()));
        let waited = waiting.elapsed();
        let mut cluster = SwarmCluster {
            dir,
            nodes,
            build_stack,
            took: Duration::ZERO,
            waited,
            _lock: lock,
        };
        // A cluster left by a killed test run: start from nothing.
        cluster.script(&["down"]);
        let started = Instant::now();
        let output = cluster.script(&["up", &nodes.to_string()]);
        assert!(
            output.status.success(),
            "scripts/swarm-cluster up {nodes} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        cluster.took = started.elapsed();
        cluster
    }

    fn script(&self, args: &[&str]) -> Output {
        Command::new(workspace().join("scripts/swarm-cluster"))
            .args(args)
            .env("PAAS_SWARM_DIR", &self.dir)
            .env(
                "PAAS_SWARM_BUILD_STACK",
                if self.build_stack { "1" } else { "0" },
            )
            .output()
            .expect("scripts/swarm-cluster runs")
    }

    /// Starts paasd on node 1 (see the module's comment): `DOCKER_HOST` node 1's engine,
    /// `PAAS_SCHEDULER=swarm`, `PAAS_REGISTRY` the cluster's registry, then `extra_env` (which
    /// may override those), run in node 1's network namespace and listening on node 1's
    /// address. Needs a cluster from `up_for_paasd`. Drop the `Paasd` before the cluster.
    pub fn spawn_paasd(&self, extra_env: &[(&str, &str)]) -> Paasd {
        assert!(
            self.build_stack,
            "spawn_paasd needs paasd's build stack on node 1: SwarmCluster::up_for_paasd"
        );
        let registry = self.registry();
        let mut env: Vec<(String, String)> = [
            ("PAAS_SCHEDULER", "swarm"),
            ("PAAS_REGISTRY", registry.as_str()),
        ]
        .iter()
        .chain(extra_env)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        // Later entries win: keep only the last value of each variable.
        let mut seen = std::collections::BTreeSet::new();
        env.reverse();
        env.retain(|(k, _)| seen.insert(k.clone()));
        env.reverse();
        Paasd::start_with(PaasdOptions {
            env,
            docker_host: Some(self.docker_host(1)),
            netns: Some(self.netns(1)),
            listen_addr: Some(self.addr(1)),
            ..PaasdOptions::default()
        })
    }

    /// How many engines the cluster has.
    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// Node `n`'s (1-based) engine socket, as a `DOCKER_HOST` value.
    pub fn docker_host(&self, n: usize) -> String {
        format!("unix://{}/node-{n}/docker.sock", self.dir.display())
    }

    /// Node `n`'s address on the cluster's bridge, reachable from the host.
    pub fn addr(&self, n: usize) -> String {
        format!("10.231.0.{}", 10 + n)
    }

    /// Node `n`'s network namespace (`/run/netns/<name>`), where its engine and containers are.
    pub fn netns(&self, n: usize) -> String {
        format!("paas-sw-{n}")
    }

    /// Node `n`'s hostname, as `docker node ls` shows it.
    pub fn hostname(&self, n: usize) -> String {
        format!("paas-sw-{n}")
    }

    /// The cluster's registry (`host:port`): images pushed by one node are pulled by the
    /// others.
    pub fn registry(&self) -> String {
        "10.231.0.1:5000".to_string()
    }

    /// Builds `tag` on node `n` from a Dockerfile given as text (no context), with the
    /// engine's classic builder.
    pub fn build(&self, n: usize, tag: &str, dockerfile: &str) {
        use std::io::Write;
        let mut child = Command::new("docker")
            .arg("-H")
            .arg(self.docker_host(n))
            .args(["build", "-q", "-t", tag, "-"])
            .env("DOCKER_BUILDKIT", "0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("docker build runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(dockerfile.as_bytes())
            .expect("Dockerfile written");
        let output = child.wait_with_output().expect("docker build ends");
        assert!(
            output.status.success(),
            "docker build {tag} on node {n}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Node `n` dies: its engine and its containers are killed (`scripts/swarm-cluster kill`).
    pub fn kill(&self, n: usize) {
        let output = self.script(&["kill", &n.to_string()]);
        assert!(
            output.status.success(),
            "scripts/swarm-cluster kill {n}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Runs the docker CLI against node `n`'s engine.
    pub fn docker(&self, n: usize, args: &[&str]) -> Output {
        Command::new("docker")
            .arg("-H")
            .arg(self.docker_host(n))
            .args(args)
            .output()
            .expect("docker runs")
    }

    /// Runs the docker CLI against node `n`, panics unless it succeeds, returns its stdout.
    pub fn docker_ok(&self, n: usize, args: &[&str]) -> String {
        let output = self.docker(n, args);
        assert!(
            output.status.success(),
            "docker {args:?} on node {n}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The run stack image loaded into every node.
    pub fn stack_image(&self) -> String {
        let out = self.docker_ok(
            1,
            &[
                "images",
                "paas/stack-run",
                "--format",
                "{{.Repository}}:{{.Tag}}",
            ],
        );
        out.lines()
            .next()
            .expect("the run stack image is loaded into node 1")
            .to_string()
    }
}

impl Drop for SwarmCluster {
    fn drop(&mut self) {
        let output = self.script(&["down"]);
        if !output.status.success() {
            eprintln!(
                "scripts/swarm-cluster down failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}
