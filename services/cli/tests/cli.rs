//! Runs the built `paas` binary against a tiny fake API (a std `TcpListener` thread answering
//! canned JSON) with `HOME` in a temp dir: login/netrc, git remotes, and the one-line error
//! contract. The real server is exercised end to end elsewhere.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

const TOKEN: &str = "tok123";
const NO_APP: &str = " !    No app specified. Run this command from an app folder or specify which app to use with --app APP.\n";

#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    authorization: Option<String>,
    body: String,
}

struct FakeApi {
    url: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl FakeApi {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (base, log) = (url.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                serve(stream, &base, &log);
            }
        });
        Self { url, requests }
    }

    fn saw(&self, method: &str, path: &str) -> bool {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .any(|r| r.method == method && r.path == path)
    }
}

fn serve(stream: TcpStream, base: &str, log: &Mutex<Vec<Request>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let (mut length, mut authorization) = (0usize, None);
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "authorization" => authorization = Some(value.trim().to_string()),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let request = Request {
        method,
        path,
        authorization,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    log.lock().unwrap().push(request.clone());
    let (status, body) = respond(&request, base);
    let reason = match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Error",
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn error(status: u16, id: &str, message: &str) -> (u16, String) {
    let body = serde_json::json!({ "id": id, "message": message });
    (status, body.to_string())
}

fn app_json(base: &str, name: &str, owner: &str) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "owner": owner,
        "web_url": format!("http://{name}.localhost:8080/"),
        "git_url": format!("{base}/{name}.git"),
        "created_at": "2024-05-01T10:00:00Z",
        "release": null,
        "formation": { "web": 1 },
    })
}

/// The canned API: one user `me@example.com` / `secret` whose token is `tok123`.
fn respond(request: &Request, base: &str) -> (u16, String) {
    if request.method == "POST" && request.path == "/api/login" {
        let login: serde_json::Value = serde_json::from_str(&request.body).unwrap_or_default();
        return if login["email"] == "me@example.com" && login["password"] == "secret" {
            let body = serde_json::json!({ "email": "me@example.com", "token": TOKEN });
            (200, body.to_string())
        } else {
            error(401, "unauthorized", "Invalid credentials provided.")
        };
    }
    if request.authorization.as_deref() == Some("Bearer expired") {
        return error(
            401,
            "token_expired",
            "Your API token expired on 2026-01-01T00:00:00Z. Run paas login to sign in again.",
        );
    }
    if request.authorization.as_deref() != Some(&format!("Bearer {TOKEN}")) {
        return error(401, "unauthorized", "Invalid credentials provided.");
    }
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/api/account") => (200, r#"{"email":"me@example.com","admin":true}"#.into()),
        ("GET", "/api/apps") => {
            let apps = serde_json::json!([
                app_json(base, "zebra", "me@example.com"),
                app_json(base, "hello", "me@example.com"),
                app_json(base, "shared", "other@example.com"),
            ]);
            (200, apps.to_string())
        }
        ("POST", "/api/apps") => {
            let create: serde_json::Value = serde_json::from_str(&request.body).unwrap_or_default();
            let name = create["name"].as_str().unwrap_or("brave-otter-42");
            (201, app_json(base, name, "me@example.com").to_string())
        }
        ("GET", "/api/apps/hello") => (200, app_json(base, "hello", "me@example.com").to_string()),
        ("DELETE", "/api/apps/hello") => (204, String::new()),
        ("DELETE", "/api/oauth/authorizations/~") => (204, String::new()),
        _ => error(404, "not_found", "Couldn't find that app."),
    }
}

/// A scratch HOME and work directory, outside any git repository.
struct Sandbox {
    home: tempfile::TempDir,
    work: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        Self {
            home: tempfile::tempdir().unwrap(),
            work: tempfile::tempdir().unwrap(),
        }
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(self.work.path())
            .env("HOME", self.home.path())
            .env("GIT_CEILING_DIRECTORIES", std::env::temp_dir())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("PAAS_URL")
            .env_remove("PAAS_API_KEY")
            .stdin(Stdio::null());
        command
    }

    fn paas(&self, args: &[&str]) -> Command {
        self.command(env!("CARGO_BIN_EXE_paas"), args)
    }

    /// `paas` with the API's URL and token in the environment.
    fn paas_as(&self, api: &FakeApi, args: &[&str]) -> Command {
        let mut command = self.paas(args);
        command.env("PAAS_URL", &api.url).env("PAAS_API_KEY", TOKEN);
        command
    }

    fn git(&self, args: &[&str]) -> Output {
        self.command("git", args).output().unwrap()
    }

    fn netrc(&self) -> String {
        std::fs::read_to_string(self.home.path().join(".netrc")).unwrap_or_default()
    }
}

fn run(mut command: Command) -> (i32, String, String) {
    let output = command.output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn run_with_stdin(mut command: Command, input: &str) -> (i32, String, String) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// Exactly one stderr line in the ` !    ` format.
fn assert_one_error_line(stderr: &str) {
    assert!(stderr.starts_with(" !    "), "{stderr:?}");
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(stderr.ends_with('\n'), "{stderr:?}");
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn login_stores_token_in_netrc_and_logout_removes_it() {
    let api = FakeApi::start();
    let sandbox = Sandbox::new();
    let netrc_path = sandbox.home.path().join(".netrc");
    let existing = "# personal\nmachine github.com\n  login octocat\n  password gh-secret\n\ndefault login anonymous password guest\n";
    std::fs::write(&netrc_path, existing).unwrap();

    let login = sandbox.paas(&[
        "login",
        "--url",
        &api.url,
        "--email",
        "Me@Example.com",
        "--password-stdin",
    ]);
    let (code, stdout, stderr) = run_with_stdin(login, "secret\n");
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "Logged in as me@example.com\n");
    assert_eq!(stderr, "Logging in... done\n");

    let expected = existing.replace(
        "default",
        &format!("machine 127.0.0.1 login me@example.com password {TOKEN}\ndefault"),
    );
    assert_eq!(sandbox.netrc(), expected);
    #[cfg(unix)]
    assert_eq!(mode(&netrc_path), 0o600);
    let config = sandbox.home.path().join(".config/paas/config.json");
    let config = std::fs::read_to_string(config).unwrap();
    assert!(
        config.contains(&format!("\"url\": \"{}\"", api.url)),
        "{config}"
    );

    // The stored URL and netrc token are used without any environment.
    let (code, stdout, stderr) = run(sandbox.paas(&["auth:whoami"]));
    assert_eq!((code, stdout.as_str()), (0, "me@example.com\n"), "{stderr}");
    let sent = api.requests.lock().unwrap().last().cloned().unwrap();
    assert_eq!(sent.authorization.as_deref(), Some("Bearer tok123"));

    let (code, _, stderr) = run(sandbox.paas(&["logout"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(sandbox.netrc(), existing);
    // The token was revoked on the server with itself.
    let sent = api.requests.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("DELETE", "/api/oauth/authorizations/~")
    );
    assert_eq!(sent.authorization.as_deref(), Some("Bearer tok123"));
    let login: serde_json::Value = serde_json::from_str(
        &api.requests
            .lock()
            .unwrap()
            .iter()
            .find(|r| r.path == "/api/login")
            .unwrap()
            .body,
    )
    .unwrap();
    assert!(
        login["description"]
            .as_str()
            .unwrap()
            .starts_with("paas login from "),
        "{login}"
    );

    let (code, _, stderr) = run(sandbox.paas(&["whoami"]));
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        format!(
            " !    Not logged in to {}. Run paas login to log in.\n",
            api.url
        )
    );
}

#[test]
fn login_creates_private_netrc_and_rejects_bad_password() {
    let api = FakeApi::start();
    let sandbox = Sandbox::new();
    let args = [
        "login",
        "--url",
        &api.url,
        "--email",
        "me@example.com",
        "--password-stdin",
    ];
    let (code, stdout, stderr) = run_with_stdin(sandbox.paas(&args), "wrong\n");
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert_eq!(stderr, " !    Invalid credentials provided.\n");
    assert!(!sandbox.home.path().join(".netrc").exists());

    let (code, _, stderr) = run_with_stdin(sandbox.paas(&args), "secret\n");
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        sandbox.netrc(),
        format!("machine 127.0.0.1 login me@example.com password {TOKEN}\n")
    );
    #[cfg(unix)]
    assert_eq!(mode(&sandbox.home.path().join(".netrc")), 0o600);
}

#[test]
fn apps_create_adds_git_remote_and_destroy_removes_it() {
    let api = FakeApi::start();
    let sandbox = Sandbox::new();
    assert!(sandbox.git(&["init", "-q"]).status.success());
    let git_url = format!("{}/hello.git", api.url);

    let (code, stdout, stderr) = run(sandbox.paas_as(&api, &["apps:create", "hello"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        format!("http://hello.localhost:8080/ | {git_url}\n")
    );
    assert_eq!(stderr, "Creating hello... done\nGit remote paas added\n");
    let remote = sandbox.git(&["remote", "get-url", "paas"]);
    assert_eq!(String::from_utf8_lossy(&remote.stdout).trim(), git_url);
    assert!(api.saw("POST", "/api/apps"));

    // The app is now found through the remote.
    let (code, stdout, stderr) = run(sandbox.paas_as(&api, &["apps:info"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        format!(
            "=== hello\nGit URL: {git_url}\nOwner:   me@example.com\nRelease: none\n\
             Web URL: http://hello.localhost:8080/\nDynos:   web: 1\nCreated: 2024-05-01T10:00:00Z\n"
        )
    );

    let (code, _, stderr) = run(sandbox.paas_as(&api, &["apps:destroy"]));
    assert_eq!(code, 1);
    assert_one_error_line(&stderr);
    assert!(stderr.contains("--confirm hello"), "{stderr}");
    assert!(!api.saw("DELETE", "/api/apps/hello"));

    let (code, _, stderr) = run(sandbox.paas_as(&api, &["apps:destroy", "--confirm", "hello"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stderr,
        "Destroying hello... done\nGit remote paas removed\n"
    );
    assert!(api.saw("DELETE", "/api/apps/hello"));
    assert!(!sandbox.git(&["remote", "get-url", "paas"]).status.success());
}

#[test]
fn apps_lists_own_and_collaborated_apps() {
    let api = FakeApi::start();
    let sandbox = Sandbox::new();
    let (code, stdout, stderr) = run(sandbox.paas_as(&api, &["apps"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "=== My Apps\nhello\nzebra\n\n=== Collaborated Apps\nshared  other@example.com\n"
    );
    let (code, stdout, _) = run(sandbox.paas_as(&api, &["apps", "--json"]));
    assert_eq!(code, 0);
    let parsed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(parsed.as_array().map(Vec::len), Some(3));
}

#[test]
fn api_errors_are_one_line_with_exit_code_1() {
    let api = FakeApi::start();
    let sandbox = Sandbox::new();
    let (code, stdout, stderr) = run(sandbox.paas_as(&api, &["apps:info", "-a", "missing"]));
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert_eq!(stderr, " !    Couldn't find that app.\n");

    let mut bad_token = sandbox.paas_as(&api, &["apps"]);
    bad_token.env("PAAS_API_KEY", "nope");
    let (code, _, stderr) = run(bad_token);
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        " !    Invalid credentials provided. Run paas login to log in again.\n"
    );
}

#[test]
fn unreachable_server_is_one_line() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let sandbox = Sandbox::new();
    let mut command = sandbox.paas(&["apps"]);
    command.env("PAAS_URL", &url).env("PAAS_API_KEY", TOKEN);
    let (code, _, stderr) = run(command);
    assert_eq!(code, 1);
    assert_one_error_line(&stderr);
    assert!(
        stderr.starts_with(&format!(" !    Cannot reach paas at {url}: ")),
        "{stderr}"
    );
}

#[test]
fn usage_errors_are_one_line_with_exit_code_2() {
    let sandbox = Sandbox::new();
    for args in [&["frobnicate"][..], &["users:add"], &["apps", "--bogus"]] {
        let (code, stdout, stderr) = run(sandbox.paas(args));
        assert_eq!((code, stdout.as_str()), (2, ""), "{args:?}: {stderr}");
        assert_one_error_line(&stderr);
    }
    let (code, stdout, _) = run(sandbox.paas(&["--help"]));
    assert_eq!(code, 0);
    assert!(stdout.contains("apps:create"), "{stdout}");
}

#[test]
fn missing_app_is_reported() {
    let api = FakeApi::start();
    let sandbox = Sandbox::new();
    for args in [&["apps:info"][..], &["access"], &["access:add", "a@b.io"]] {
        let (code, _, stderr) = run(sandbox.paas_as(&api, args));
        assert_eq!(code, 1, "{args:?}");
        assert_eq!(stderr, NO_APP, "{args:?}");
    }
    // A git repository without a `paas` remote says the same.
    assert!(sandbox.git(&["init", "-q"]).status.success());
    let (code, _, stderr) = run(sandbox.paas_as(&api, &["apps:info"]));
    assert_eq!((code, stderr.as_str()), (1, NO_APP));
}

#[test]
fn an_expired_token_is_one_line_saying_so() {
    let api = FakeApi::start();
    let sandbox = Sandbox::new();
    let mut command = sandbox.paas(&["apps"]);
    command
        .env("PAAS_URL", &api.url)
        .env("PAAS_API_KEY", "expired");
    let (code, stdout, stderr) = run(command);
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert_eq!(
        stderr,
        " !    Your API token expired on 2026-01-01T00:00:00Z. Run paas login to sign in again.\n"
    );
}

#[test]
fn logout_removes_the_token_even_when_the_server_is_gone() {
    let sandbox = Sandbox::new();
    let netrc_path = sandbox.home.path().join(".netrc");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        &netrc_path,
        "machine 127.0.0.1 login me@example.com password tok123\n",
    )
    .unwrap();
    let mut command = sandbox.paas(&["logout"]);
    command.env("PAAS_URL", format!("http://127.0.0.1:{port}"));
    let (code, _, stderr) = run(command);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with(" !    Removed the token from ~/.netrc, but could not revoke it"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(sandbox.netrc(), "");
}
