//! The web console's pages and forms below the browser: the platform in-process on port 0
//! (a real HTTP server on 127.0.0.1), a real SQLite store in a temporary directory and the
//! in-memory fake of the container runtime (`paas_runtime::memory::MemoryRuntime`), so no
//! Docker is needed. Deploys need the real platform
//! (`tests/e2e/console.rs`); everything up to the first push is here: signing in (and its
//! CSRF and wrong-password answers), the CSRF check on every console form, creating an app,
//! config vars before the first deploy (invalid keys inline, values escaped), a failed form's
//! message, other users' apps, destroying with the name typed.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use paas_api::{ApiConfig, ApiState, SigninConfig};
use paas_logs::LogKeeper;
use paas_router::RouteTableHandle;
use paas_runtime::memory::MemoryRuntime;
use paas_runtime::{ContainerRuntime, StackImages};
use paas_scheduler::{Scheduler, SchedulerConfig};
use paas_store::{SqlStore, Store};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const ADMIN: &str = "admin@console.test";
const PASSWORD: &str = "console-password-1";

/// The platform served in-process on a real socket (127.0.0.1, port 0), zero2prod's
/// `spawn_app`: a fresh SQLite database in `dir` with an admin account, and the in-memory
/// container runtime (`MemoryRuntime`), so no Docker is needed.
#[derive(Clone, Copy)]
struct Platform {
    addr: std::net::SocketAddr,
}

async fn platform(dir: &Path) -> (Platform, Arc<dyn Store>) {
    let (router, store) = platform_router(dir).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("port 0");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    (Platform { addr }, store)
}

/// The platform's router on a fresh database in `dir`, with an admin account.
async fn platform_router(dir: &Path) -> (Router, Arc<dyn Store>) {
    let store: Arc<dyn Store> = Arc::new(
        SqlStore::connect_sqlite_file(&dir.join("paas.db"))
            .await
            .expect("sqlite store"),
    );
    paas_api::ensure_admin(store.as_ref(), ADMIN, Some(PASSWORD.to_string()))
        .await
        .expect("admin");
    let runtime: Arc<dyn ContainerRuntime> = Arc::new(MemoryRuntime::new());
    let routes = RouteTableHandle::new();
    let scheduler = Scheduler::new(
        store.clone(),
        runtime.clone(),
        routes.clone(),
        SchedulerConfig::default(),
    );
    let builder = Arc::new(paas_builder::Builder::new(
        runtime.clone(),
        paas_builder::BuilderConfig {
            stacks: StackImages {
                base: "base".to_string(),
                run: "run".to_string(),
                build: "build".to_string(),
            },
            ca_bundle: None,
            labels: BTreeMap::new(),
            build_memory_bytes: 1 << 30,
            build_nano_cpus: 1_000_000_000,
            build_timeout: Duration::from_secs(60),
            buildpack_cache: dir.join("buildpacks"),
        },
    ));
    let logs = LogKeeper::open(dir.join("logs"), 1 << 20).expect("logs");
    let state = ApiState::new(
        store.clone(),
        runtime,
        builder,
        scheduler,
        routes,
        ApiConfig {
            domain: "localhost".to_string(),
            http_port: 8080,
            public_url: None,
            repos_dir: dir.join("repos"),
            builds_dir: dir.join("builds"),
            hook_url: "http://127.0.0.1:1/internal/hooks/pre-receive".to_string(),
            hook_bin: dir.join("paasd"),
            image_prefix: "paas-test".to_string(),
            max_push_bytes: 1 << 20,
            deploy_timeout: Duration::from_secs(5),
            // A month, as a CLI token might be: a console session lasts less.
            token_ttl: Duration::from_secs(30 * 24 * 3600),
            signin: SigninConfig::default(),
            router_token: None,
        },
        logs,
    );
    (paas_api::router(state), store)
}

struct Answer {
    status: StatusCode,
    body: String,
    cookies: Vec<String>,
    location: Option<String>,
}

/// A browser-like client over HTTP: keeps cookies, sends forms.
struct Visitor {
    platform: Platform,
    client: Client<HttpConnector, Body>,
    cookies: BTreeMap<String, String>,
}

impl Visitor {
    fn new(platform: &Platform) -> Self {
        Self {
            platform: *platform,
            client: Client::builder(TokioExecutor::new()).build_http(),
            cookies: BTreeMap::new(),
        }
    }

    async fn send(&mut self, mut request: Request<Body>) -> Answer {
        let target = request
            .uri()
            .path_and_query()
            .map_or("/".to_string(), |pq| pq.as_str().to_string());
        *request.uri_mut() = format!("http://{}{target}", self.platform.addr)
            .parse()
            .expect("a URL");
        let response = self
            .client
            .request(request)
            .await
            .expect("the platform answers")
            .map(Body::new);
        let status = response.status();
        let cookies: Vec<String> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect();
        for cookie in &cookies {
            let pair = cookie.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_string(), value.to_string());
                }
            }
        }
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
            .await
            .expect("body");
        Answer {
            status,
            body: String::from_utf8_lossy(&bytes).to_string(),
            cookies,
            location,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn get(&mut self, path: &str) -> Answer {
        let request = Request::get(path)
            .header(header::COOKIE, self.cookie_header())
            .body(Body::empty())
            .expect("request");
        self.send(request).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let body = serde_urlencoded::to_string(form).expect("form");
        let request = Request::post(path)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        self.send(request).await
    }

    /// The CSRF token in the forms of `path`.
    async fn csrf(&mut self, path: &str) -> String {
        let page = self.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        page.body
            .split("name=\"_csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a CSRF token")
            .to_string()
    }

    async fn sign_in(&mut self, email: &str, password: &str) {
        let csrf = self.csrf("/login").await;
        let answer = self
            .post(
                "/login",
                &[("_csrf", &csrf), ("email", email), ("password", password)],
            )
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    }
}

#[tokio::test]
async fn a_console_session_lasts_a_working_day_not_the_clis_year() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (platform, store) = platform(dir.path()).await;
    let mut visitor = Visitor::new(&platform);
    visitor.sign_in(ADMIN, PASSWORD).await;
    let admin = store
        .user_by_email(&paas_domain::Email::parse(ADMIN).expect("email"))
        .await
        .expect("store")
        .expect("the admin");
    let tokens = store.list_tokens(admin.id).await.expect("tokens");
    let session = tokens
        .iter()
        .find(|t| t.description == "web console session")
        .expect("the console's token");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let hour_ms = 60 * 60 * 1000;
    assert!(
        (now_ms + 11 * hour_ms..=now_ms + 12 * hour_ms).contains(&session.expires_at),
        "expires {} ms from now",
        session.expires_at - now_ms
    );
}

#[tokio::test]
async fn signing_in_needs_the_forms_token_and_a_wrong_password_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (router, _) = platform(dir.path()).await;
    let mut visitor = Visitor::new(&router);

    let root = visitor.get("/").await;
    assert_eq!(root.status, StatusCode::SEE_OTHER);
    let apps = visitor.get("/apps").await;
    assert_eq!(apps.location.as_deref(), Some("/login"));

    let page = visitor.get("/login").await;
    assert!(
        page.body.contains("<label for=\"password\">"),
        "{}",
        page.body
    );
    assert!(
        page.cookies
            .iter()
            .any(|c| c.starts_with("paas_login_csrf=") && c.contains("HttpOnly")),
        "{:?}",
        page.cookies
    );
    let refused = visitor
        .post("/login", &[("email", ADMIN), ("password", PASSWORD)])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let csrf = visitor.csrf("/login").await;
    let wrong = visitor
        .post(
            "/login",
            &[("_csrf", &csrf), ("email", ADMIN), ("password", "nope")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong.body.contains("Wrong e-mail or password."),
        "{}",
        wrong.body
    );
    assert!(!visitor.cookies.contains_key("paas_session"));

    let right = visitor
        .post(
            "/login",
            &[("_csrf", &csrf), ("email", ADMIN), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(right.status, StatusCode::SEE_OTHER);
    assert_eq!(right.location.as_deref(), Some("/apps"));
    let session = right
        .cookies
        .iter()
        .find(|c| c.starts_with("paas_session="))
        .expect("a session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    assert_eq!(visitor.get("/apps").await.status, StatusCode::OK);

    // Failed sign-ins go through the API's limiter: past the limit, a message says to wait.
    let mut guesser = Visitor::new(&router);
    let csrf = guesser.csrf("/login").await;
    let mut last = String::new();
    for _ in 0..7 {
        let answer = guesser
            .post(
                "/login",
                &[
                    ("_csrf", &csrf),
                    ("email", "who@console.test"),
                    ("password", "guess"),
                ],
            )
            .await;
        last = answer.body;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    assert!(last.contains("Too many failed sign-ins"), "{last}");

    // Signing out revokes the session's token.
    let stolen = visitor.cookies.clone();
    let csrf = visitor.csrf("/apps").await;
    let out = visitor.post("/logout", &[("_csrf", &csrf)]).await;
    assert_eq!(out.location.as_deref(), Some("/login"));
    let mut replay = Visitor::new(&router);
    replay.cookies = stolen;
    assert_eq!(
        replay.get("/apps").await.location.as_deref(),
        Some("/login")
    );
}

#[tokio::test]
async fn every_console_form_is_refused_without_a_valid_csrf_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (router, _) = platform(dir.path()).await;
    let mut visitor = Visitor::new(&router);
    visitor.sign_in(ADMIN, PASSWORD).await;
    let csrf = visitor.csrf("/apps").await;
    assert_eq!(
        visitor
            .post("/apps", &[("_csrf", &csrf), ("name", "target")])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let forms = [
        "/logout",
        "/apps",
        "/apps/target/destroy",
        "/apps/target/scale",
        "/apps/target/restart",
        "/apps/target/config",
        "/apps/target/config/remove",
        "/apps/target/domains",
        "/apps/target/domains/remove",
        "/apps/target/buildpacks",
        "/apps/target/maintenance",
        "/apps/target/rollback",
    ];
    for path in forms {
        for token in [None, Some(""), Some("0".repeat(64).as_str())] {
            let mut form = vec![("confirm", "target"), ("key", "A"), ("name", "other")];
            if let Some(token) = token {
                form.push(("_csrf", token));
            }
            let answer = visitor.post(path, &form).await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path} {token:?}");
        }
    }
    // Nothing happened: the app is there, alone, without config, and the session lives.
    let apps = visitor.get("/apps").await;
    assert!(apps.body.contains("/apps/target\""), "{}", apps.body);
    assert!(!apps.body.contains("/apps/other\""));
    assert!(visitor
        .get("/apps/target/settings")
        .await
        .body
        .contains("No config vars."));
}

#[tokio::test]
async fn apps_config_vars_and_destroy_through_forms_and_other_users_see_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (router, store) = platform(dir.path()).await;
    let mut owner = Visitor::new(&router);
    owner.sign_in(ADMIN, PASSWORD).await;
    let csrf = owner.csrf("/apps").await;

    // A new app shows how to deploy it.
    let created = owner
        .post("/apps", &[("_csrf", &csrf), ("name", "shop")])
        .await;
    assert_eq!(created.location.as_deref(), Some("/apps/shop"));
    let overview = owner.get("/apps/shop").await;
    assert!(overview.body.contains("Created shop."), "{}", overview.body);
    assert!(overview.body.contains("git push paas main"));
    assert!(overview.body.contains("state-idle"));
    // The flash is shown once.
    assert!(!owner.get("/apps/shop").await.body.contains("Created shop."));
    let taken = owner
        .post("/apps", &[("_csrf", &csrf), ("name", "shop")])
        .await;
    assert_eq!(taken.location.as_deref(), Some("/apps"));
    assert!(owner.get("/apps").await.body.contains("already taken"));

    // Config vars: an invalid key inline (what was typed kept), a value escaped.
    let invalid = owner
        .post(
            "/apps/shop/config",
            &[("_csrf", &csrf), ("key", "9-LIVES"), ("value", "x")],
        )
        .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        invalid.body.contains("id=\"config-error\""),
        "{}",
        invalid.body
    );
    assert!(invalid.body.contains("value=\"9-LIVES\""));
    let set = owner
        .post(
            "/apps/shop/config",
            &[
                ("_csrf", &csrf),
                ("key", "GREETING"),
                ("value", "<script>alert(1)</script>"),
            ],
        )
        .await;
    assert_eq!(set.location.as_deref(), Some("/apps/shop/settings"));
    let settings = owner.get("/apps/shop/settings").await;
    assert!(settings.body.contains("Set GREETING: v1 is current."));
    assert!(settings.body.contains("&lt;script&gt;alert(1)&lt;"));
    assert!(!settings.body.contains("<script>alert"));
    // The same release the CLI would have made.
    let releases = owner.get("/apps/shop/releases").await;
    assert!(
        releases.body.contains("Set GREETING config vars"),
        "{}",
        releases.body
    );
    assert!(releases.body.contains(ADMIN));

    // A form the API refuses says why.
    owner
        .post(
            "/apps/shop/scale",
            &[("_csrf", &csrf), ("process_type", "web"), ("quantity", "2")],
        )
        .await;
    let refused = owner.get("/apps/shop").await;
    assert!(refused.body.contains("flash error"), "{}", refused.body);
    assert!(refused.body.contains("deploy first"), "{}", refused.body);

    // Every tab renders.
    for tab in ["", "/settings", "/releases", "/builds", "/logs", "/metrics"] {
        let page = owner.get(&format!("/apps/shop{tab}")).await;
        assert_eq!(page.status, StatusCode::OK, "{tab}");
    }
    for hours in ["1", "6", "24", "999", "x"] {
        let page = owner
            .get(&format!("/apps/shop/metrics?hours={hours}"))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{hours}");
        assert_eq!(
            page.body.matches("<svg class=\"chart\"").count(),
            3,
            "{hours}"
        );
    }
    let logs = owner.get("/apps/shop/logs?source=paas").await;
    assert!(
        logs.body.contains("Release v1 created by user"),
        "{}",
        logs.body
    );

    // Another user: nothing listed, every page and form 404 like a missing app.
    let other_email = "other@console.test";
    let hash = {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        argon2::Argon2::default()
            .hash_password(b"other-password-1", &salt)
            .expect("hash")
            .to_string()
    };
    store
        .create_user(
            &paas_domain::Email::parse(other_email).expect("email"),
            &hash,
            false,
        )
        .await
        .expect("second user");
    let mut other = Visitor::new(&router);
    other.sign_in(other_email, "other-password-1").await;
    assert!(!other.get("/apps").await.body.contains("shop"));
    for tab in ["", "/settings", "/releases", "/builds", "/logs", "/metrics"] {
        let page = other.get(&format!("/apps/shop{tab}")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{tab}");
        assert_eq!(
            other.get(&format!("/apps/nothing-here{tab}")).await.body,
            page.body,
            "{tab}: like a missing app"
        );
    }
    let other_csrf = other.csrf("/apps").await;
    for (action, form) in [
        ("config", vec![("key", "HIJACKED"), ("value", "1")]),
        ("config/remove", vec![("key", "GREETING")]),
        ("scale", vec![("process_type", "web"), ("quantity", "1")]),
        ("restart", vec![]),
        ("maintenance", vec![("maintenance", "on")]),
        ("domains", vec![("hostname", "www.hijack.test")]),
        (
            "buildpacks",
            vec![("buildpacks", "https://example.com/bp.git")],
        ),
        ("rollback", vec![("release", "v1")]),
        ("destroy", vec![("confirm", "shop")]),
    ] {
        let mut fields = vec![("_csrf", other_csrf.as_str())];
        fields.extend(form);
        let answer = other.post(&format!("/apps/shop/{action}"), &fields).await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{action}: {}",
            answer.body
        );
    }
    let settings = owner.get("/apps/shop/settings").await.body;
    assert!(!settings.contains("HIJACKED") && settings.contains("GREETING"));
    assert!(!settings.contains("hijack.test"));
    assert!(settings.contains("Maintenance mode is <strong>off</strong>"));

    // Destroy needs the name typed.
    let wrong = owner
        .post(
            "/apps/shop/destroy",
            &[("_csrf", &csrf), ("confirm", "shopp")],
        )
        .await;
    assert_eq!(wrong.location.as_deref(), Some("/apps/shop/settings"));
    assert_eq!(owner.get("/apps/shop").await.status, StatusCode::OK);
    let gone = owner
        .post(
            "/apps/shop/destroy",
            &[("_csrf", &csrf), ("confirm", "shop")],
        )
        .await;
    assert_eq!(gone.location.as_deref(), Some("/apps"));
    assert_eq!(owner.get("/apps/shop").await.status, StatusCode::NOT_FOUND);
}
