//! Support for the end-to-end tests: start a real `paasd` (own data directory, port and
//! instance id) on the local Docker engine, drive the real `paas` CLI and the real `git`
//! client against it, and fetch apps through its router with `curl`. Everything a test starts
//! is removed when its `Paasd` is dropped.
//!
//! The binaries come from the workspace's target directory: run `cargo build --bins` first
//! (`scripts/test` does).

pub mod load;
pub mod swarm;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const ADMIN_EMAIL: &str = "admin@e2e.test";
pub const ADMIN_PASSWORD: &str = "admin-password-e2e";

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A binary built by `cargo build --bins`, next to this test's own target directory.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in target/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --bins` before the end-to-end tests",
        path.display()
    );
    path
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Options for starting paasd.
#[derive(Default, Clone)]
pub struct PaasdOptions {
    /// Leave PAAS_ADMIN_PASSWORD unset so paasd generates one.
    pub generated_admin_password: bool,
    pub database_url: Option<String>,
    pub health_timeout_secs: Option<u64>,
    /// Extra environment variables for paasd (e.g. shorter front door timeouts).
    pub env: Vec<(String, String)>,
    /// Runs paasd with this open-file limit (soft and hard), as a small machine would.
    pub open_files_limit: Option<u64>,
    /// The engine paasd uses (`DOCKER_HOST`, e.g. `unix:///tmp/paas-swarm/node-1/docker.sock`),
    /// also the one the helpers here ask about containers and clean up; none: the local one.
    pub docker_host: Option<String>,
    /// Runs paasd in this network namespace (`/run/netns/<name>`, entered with `nsenter
    /// --net`), where the engine's containers are reachable: a node of the test Swarm.
    pub netns: Option<String>,
    /// The address paasd listens on and is reached at (default `127.0.0.1`).
    pub listen_addr: Option<String>,
}

/// A running paasd, stopped and cleaned up on drop.
pub struct Paasd {
    /// The address paasd listens on (`127.0.0.1` unless `PaasdOptions::listen_addr`).
    pub host: String,
    pub port: u16,
    pub data: tempfile::TempDir,
    pub instance: String,
    options: PaasdOptions,
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Paasd {
    pub fn start() -> Self {
        Self::start_with(PaasdOptions::default())
    }

    pub fn start_with(options: PaasdOptions) -> Self {
        let data = tempfile::tempdir().expect("temp data dir");
        let port = free_port();
        let host = options
            .listen_addr
            .clone()
            .unwrap_or_else(|| "127.0.0.1".to_string());
        let (child, log) = spawn_paasd(&options, data.path(), &host, port);
        let mut paasd = Self {
            host,
            port,
            data,
            instance: String::new(),
            options,
            child,
            log,
        };
        paasd.wait_ready();
        paasd
    }

    /// Kills paasd with SIGKILL and starts it again on the same data directory and port.
    pub fn restart(&mut self) {
        self.kill();
        self.start_again();
    }

    /// Starts paasd again on the same data directory and port, once it has ended (`kill`,
    /// `terminate`).
    pub fn start_again(&mut self) {
        let previous = self.instance.clone();
        let (child, log) = spawn_paasd(&self.options, self.data.path(), &self.host, self.port);
        self.child = child;
        self.log = log;
        self.wait_ready();
        assert_eq!(
            self.instance, previous,
            "the instance id survives a restart"
        );
    }

    fn wait_ready(&mut self) {
        // The first start on a machine may build the stack images (several minutes).
        let deadline = Instant::now() + Duration::from_secs(900);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("paasd exited with {status}:\n{}", self.log());
            }
            let (status, _) = curl(&["-s", &format!("{}/healthz", self.url())]);
            if status == 200 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "paasd not ready in time:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        // The ready line may reach the log reader a moment after /healthz answers.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log();
            self.instance = log
                .split("paasd ready on ")
                .nth(1)
                .and_then(|rest| rest.split("instance ").nth(1))
                .and_then(|rest| rest.split(')').next())
                .unwrap_or_default()
                .to_string();
            if !self.instance.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no instance id in paasd's log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }

    /// The process id of the running paasd.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything paasd printed so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stops paasd as an operator does (SIGTERM) and waits until it has ended, 20 s at most.
    pub fn terminate(&mut self) {
        if !terminate(&mut self.child) {
            panic!("paasd did not end after SIGTERM:\n{}", self.log());
        }
    }

    /// Stops paasd (SIGKILL) without cleaning up its containers.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Fetches `path` from `app` through the router: (status, body).
    pub fn get_app(&self, app: &str, path: &str) -> (u16, String) {
        curl(&[
            "-s",
            "-H",
            &format!("Host: {app}.localhost"),
            &format!("{}{path}", self.url()),
        ])
    }

    /// The docker CLI against paasd's engine.
    pub fn docker_command(&self) -> Command {
        docker_command(self.options.docker_host.as_deref())
    }

    fn docker_lines(&self, args: &[&str]) -> Vec<String> {
        docker_lines(self.options.docker_host.as_deref(), args)
    }

    /// Names of this instance's containers (any state).
    pub fn containers(&self) -> Vec<String> {
        self.docker_lines(&[
            "ps",
            "-a",
            "--filter",
            &format!("label=paas.instance={}", self.instance),
            "--format",
            "{{.Names}}",
        ])
    }

    /// Build cache volumes of this instance.
    pub fn volumes(&self) -> Vec<String> {
        self.docker_lines(&[
            "volume",
            "ls",
            "-q",
            "--filter",
            &format!("name=paas-{}-cache-", self.instance),
        ])
    }

    /// Release images of this instance.
    pub fn images(&self) -> Vec<String> {
        self.docker_lines(&[
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            &format!("paas-{}/*", self.instance),
        ])
    }
}

/// Sends `child` SIGTERM, as an operator stops a service; `true` once it has ended, `false`
/// if it is still running 20 s later.
pub fn terminate(child: &mut Child) -> bool {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success(), "could not send SIGTERM to {}", child.id());
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Starts a paasd process whose output is collected into the returned log.
fn spawn_paasd(
    options: &PaasdOptions,
    data: &Path,
    host: &str,
    port: u16,
) -> (Child, Arc<Mutex<String>>) {
    let mut command = match &options.netns {
        Some(netns) => {
            let mut command = Command::new("nsenter");
            command
                .arg(format!("--net=/run/netns/{netns}"))
                .arg("--")
                .arg(binary("paasd"));
            command
        }
        None => Command::new(binary("paasd")),
    };
    if let Some(docker_host) = &options.docker_host {
        command.env("DOCKER_HOST", docker_host);
    }
    command
        .env("PAAS_DATA", data)
        .env("PAAS_HTTP_ADDR", format!("{host}:{port}"))
        .env("PAAS_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("PAAS_STOP_GRACE", "2")
        .env(
            "PAAS_HEALTH_TIMEOUT",
            options.health_timeout_secs.unwrap_or(60).to_string(),
        )
        .env("PAAS_LOG", "info")
        .env_remove("DATABASE_URL")
        .env_remove("PAAS_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if !options.generated_admin_password {
        command.env("PAAS_ADMIN_PASSWORD", ADMIN_PASSWORD);
    } else {
        command.env_remove("PAAS_ADMIN_PASSWORD");
    }
    if let Some(url) = &options.database_url {
        command.env("DATABASE_URL", url);
    }
    for (key, value) in &options.env {
        command.env(key, value);
    }
    if let Some(limit) = options.open_files_limit {
        use std::os::unix::process::CommandExt;
        // SAFETY: the closure runs in the forked child before exec and only makes the
        // setrlimit system call, which is async-signal-safe; it allocates nothing.
        unsafe {
            command.pre_exec(move || rlimit::setrlimit(rlimit::Resource::NOFILE, limit, limit));
        }
    }
    let mut child = command.spawn().expect("paasd starts");
    let log = Arc::new(Mutex::new(String::new()));
    for stream in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
                log.push_str(&line);
                log.push('\n');
            }
        });
    }
    (child, log)
}

impl Drop for Paasd {
    fn drop(&mut self) {
        self.kill();
        if self.instance.is_empty() {
            return;
        }
        let ids = self.docker_lines(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=paas.instance={}", self.instance),
        ]);
        if !ids.is_empty() {
            let _ = self.docker_command().args(["rm", "-f"]).args(&ids).output();
        }
        // The app networks of this instance (`paas-<instance>-<app>`).
        let networks = self.docker_lines(&[
            "network",
            "ls",
            "-q",
            "--filter",
            &format!("name=paas-{}-", self.instance),
        ]);
        if !networks.is_empty() {
            let _ = self
                .docker_command()
                .args(["network", "rm"])
                .args(&networks)
                .output();
        }
        let images = self.images();
        if !images.is_empty() {
            let _ = self
                .docker_command()
                .args(["rmi", "-f"])
                .args(&images)
                .output();
        }
        let volumes = self.volumes();
        if !volumes.is_empty() {
            let _ = self
                .docker_command()
                .args(["volume", "rm", "-f"])
                .args(&volumes)
                .output();
        }
        if std::thread::panicking() {
            eprintln!("---- paasd log ----\n{}", self.log());
        }
    }
}

/// The docker CLI against `docker_host` (`-H`), or the engine of the environment.
fn docker_command(docker_host: Option<&str>) -> Command {
    let mut command = Command::new("docker");
    if let Some(host) = docker_host {
        command.arg("-H").arg(host);
    }
    command
}

fn docker_lines(docker_host: Option<&str>, args: &[&str]) -> Vec<String> {
    docker_command(docker_host)
        .args(args)
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Runs curl, appending the status code; returns (status, body).
pub fn curl(args: &[&str]) -> (u16, String) {
    let output = Command::new("curl")
        .args(["--max-time", "30", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    match text.rsplit_once('\n') {
        Some((body, code)) => (code.trim().parse().unwrap_or(0), body.to_string()),
        None => (text.trim().parse().unwrap_or(0), String::new()),
    }
}

/// The result of a command: exit status and its two streams.
#[derive(Debug)]
pub struct Run {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Self {
            success: output.status.success(),
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).to_string(),
        }
    }

    /// Panics with both streams unless the command succeeded.
    pub fn ok(self) -> Self {
        assert!(
            self.success,
            "command failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Panics unless the command failed with exactly one line on stderr.
    pub fn fails_with_one_line(self) -> Self {
        assert!(
            !self.success,
            "command succeeded unexpectedly:\n{}",
            self.stdout
        );
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one error line, got:\n{}",
            self.stderr
        );
        self
    }
}

/// A user of the CLI: their own HOME (for ~/.netrc and the CLI's config).
pub struct User {
    pub home: tempfile::TempDir,
}

impl User {
    pub fn new() -> Self {
        Self {
            home: tempfile::tempdir().expect("temp home"),
        }
    }

    /// `git` in `cwd` with this user's environment, to run as the caller likes (e.g. with its
    /// output streamed).
    pub fn git_command(&self, cwd: &Path) -> Command {
        self.command(Path::new("git"), cwd)
    }

    fn command(&self, program: &Path, cwd: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(cwd)
            .env("HOME", self.home.path())
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("PAAS_URL")
            .env_remove("PAAS_API_KEY")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "E2E")
            .env("GIT_AUTHOR_EMAIL", "e2e@example.com")
            .env("GIT_COMMITTER_NAME", "E2E")
            .env("GIT_COMMITTER_EMAIL", "e2e@example.com");
        command
    }

    /// `paas` in `cwd` with this user's environment, to run as the caller likes (e.g. a
    /// `paas logs --tail` read while it runs).
    pub fn paas_command(&self, cwd: &Path) -> Command {
        self.command(&binary("paas"), cwd)
    }

    /// Runs `paas ARGS` in `cwd`.
    pub fn paas(&self, cwd: &Path, args: &[&str]) -> Run {
        self.paas_with_stdin(cwd, args, "")
    }

    pub fn paas_with_stdin(&self, cwd: &Path, args: &[&str], stdin: &str) -> Run {
        self.paas_full(cwd, args, stdin, &[])
    }

    /// Runs `paas ARGS` with extra environment variables (e.g. `PAAS_URL`, `PAAS_API_KEY`).
    pub fn paas_with_env(&self, cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.paas_full(cwd, args, "", env)
    }

    fn paas_full(&self, cwd: &Path, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Run {
        let mut command = self.command(&binary("paas"), cwd);
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("paas runs");
        if let Some(mut input) = child.stdin.take() {
            let _ = input.write_all(stdin.as_bytes());
        }
        Run::from(child.wait_with_output().expect("paas finishes"))
    }

    /// Runs `git ARGS` in `cwd`.
    pub fn git(&self, cwd: &Path, args: &[&str]) -> Run {
        Run::from(
            self.command(Path::new("git"), cwd)
                .args(args)
                .output()
                .expect("git runs"),
        )
    }

    /// `paas login` with a password on stdin.
    pub fn login(&self, paasd: &Paasd, email: &str, password: &str) -> Run {
        self.paas_with_stdin(
            self.home.path(),
            &[
                "login",
                "--url",
                &paasd.url(),
                "--email",
                email,
                "--password-stdin",
            ],
            &format!("{password}\n"),
        )
    }

    /// Copies the sample app `tests/apps/<sample>` into a new git repository (one commit on
    /// `main`) and returns its path.
    pub fn sample_repo(&self, sample: &str) -> PathBuf {
        let dest = self.home.path().join(format!("src-{sample}"));
        copy_dir(&workspace().join("tests/apps").join(sample), &dest);
        self.git(&dest, &["init", "-q", "-b", "main"]).ok();
        self.commit_all(&dest, "initial");
        dest
    }

    /// A new user signed in as the admin.
    pub fn admin(paasd: &Paasd) -> Self {
        let user = Self::new();
        user.login(paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
        user
    }

    /// Copies `sample` into a repo, creates an app named after `prefix`, and deploys it with
    /// `git push`: (repo, app).
    pub fn deploy_sample(&self, sample: &str, prefix: &str) -> (PathBuf, String) {
        let repo = self.sample_repo(sample);
        let app = app_name(prefix);
        self.paas(&repo, &["apps:create", &app]).ok();
        self.git(&repo, &["push", "paas", "main"]).ok();
        (repo, app)
    }

    pub fn commit_all(&self, repo: &Path, message: &str) {
        self.git(repo, &["add", "-A"]).ok();
        self.git(repo, &["commit", "-q", "-m", message]).ok();
    }
}

impl Default for User {
    fn default() -> Self {
        Self::new()
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read sample app") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// A unique, valid app name for this test run.
pub fn app_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}-{:x}{:x}",
        std::process::id() % 4096,
        nanos % 65_536
    )
}

/// `POST` a JSON body to the platform API, with a bearer token when given: (status, body).
pub fn post_json(paasd: &Paasd, path: &str, token: Option<&str>, json: &str) -> (u16, String) {
    let url = format!("{}{path}", paasd.url());
    let auth = token.map(|t| format!("Authorization: Bearer {t}"));
    let mut args = vec![
        "-s",
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-d",
        json,
    ];
    if let Some(auth) = &auth {
        args.extend(["-H", auth.as_str()]);
    }
    args.push(&url);
    curl(&args)
}
