//! `GET`/`PATCH /api/apps/{app}/scheduler` and the Swarm node routes (`/api/nodes...`) on a
//! platform without a Swarm: the API's router in-process (`tower::ServiceExt::oneshot`), a
//! real SQLite store in a temporary directory and the in-memory container runtime, so no
//! Docker is needed. Covered: the platform's default and an app's own choice, clearing it,
//! a bad value and `swarm` refused in one line each, access as for any app setting
//! (collaborators yes, other users "not found"); the node routes refuse non-admins and
//! answer admins that there is no Swarm. The node routes on a real Swarm are in
//! `tests/e2e/swarm.rs`.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use paas_api::{ApiConfig, ApiState, SigninConfig};
use paas_logs::LogKeeper;
use paas_router::RouteTableHandle;
use paas_runtime::memory::MemoryRuntime;
use paas_runtime::{ContainerRuntime, StackImages};
use paas_scheduler::{Scheduler, SchedulerConfig};
use paas_store::{SqlStore, Store};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

const ADMIN: &str = "admin@scheduler.test";
const PASSWORD: &str = "scheduler-password-1";
const NO_SWARM: &str =
    "This platform has no Swarm: start paasd with PAAS_SCHEDULER=swarm on a Swarm manager.";

/// The API's router on a fresh database in `dir` with an admin account; no Swarm.
async fn platform(dir: &Path) -> Router {
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
        store,
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
            token_ttl: Duration::from_secs(3600),
            signin: SigninConfig::default(),
            router_token: None,
        },
        logs,
    );
    paas_api::router(state)
}

/// One JSON request; the status and the body as JSON (`Null` when empty).
async fn call(
    router: &Router,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = match body {
        Some(body) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    }
    .expect("request");
    let response = router.clone().oneshot(request).await.expect("an answer");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{status}: not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    (status, value)
}

async fn login(router: &Router, email: &str, password: &str) -> String {
    let (status, body) = call(
        router,
        None,
        Method::POST,
        "/api/login",
        Some(json!({"email": email, "password": password})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["token"].as_str().expect("a token").to_string()
}

/// A new user who is not an admin, signed in.
async fn user(router: &Router, admin: &str, email: &str) -> String {
    let (status, body) = call(
        router,
        Some(admin),
        Method::POST,
        "/api/users",
        Some(json!({"email": email, "password": "user-password-12"})),
    )
    .await;
    assert!(status.is_success(), "{status}: {body}");
    login(router, email, "user-password-12").await
}

fn message(body: &Value) -> &str {
    body["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn an_apps_scheduler_is_the_default_until_chosen_and_swarm_needs_a_swarm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let router = platform(dir.path()).await;
    let admin = login(&router, ADMIN, PASSWORD).await;
    let (status, body) = call(
        &router,
        Some(&admin),
        Method::POST,
        "/api/apps",
        Some(json!({"name": "myapp"})),
    )
    .await;
    assert!(status.is_success(), "{status}: {body}");
    let path = "/api/apps/myapp/scheduler";

    let (status, body) = call(&router, Some(&admin), Method::GET, path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"scheduler": "docker", "default": true}));

    // Chosen explicitly (any case), it is the app's own.
    let (status, body) = call(
        &router,
        Some(&admin),
        Method::PATCH,
        path,
        Some(json!({"scheduler": "Docker"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"scheduler": "docker", "default": false}));
    let (_, body) = call(&router, Some(&admin), Method::GET, path, None).await;
    assert_eq!(body, json!({"scheduler": "docker", "default": false}));

    // Swarm on a platform without one: refused in one line, the choice unchanged.
    let (status, body) = call(
        &router,
        Some(&admin),
        Method::PATCH,
        path,
        Some(json!({"scheduler": "swarm"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(message(&body), NO_SWARM);
    let (_, body) = call(&router, Some(&admin), Method::GET, path, None).await;
    assert_eq!(body, json!({"scheduler": "docker", "default": false}));

    // An unknown scheduler, or no JSON: one line each.
    let (status, body) = call(
        &router,
        Some(&admin),
        Method::PATCH,
        path,
        Some(json!({"scheduler": "k8s"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        message(&body),
        "Unknown scheduler \"k8s\": use docker or swarm."
    );
    let (status, body) = call(
        &router,
        Some(&admin),
        Method::PATCH,
        path,
        Some(json!({"scheduler": 3})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(!message(&body).contains('\n'), "{body}");

    // null: the platform's default again.
    let (status, body) = call(
        &router,
        Some(&admin),
        Method::PATCH,
        path,
        Some(json!({"scheduler": null})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"scheduler": "docker", "default": true}));

    // No such app, and no token.
    let (status, _) = call(
        &router,
        Some(&admin),
        Method::GET,
        "/api/apps/nosuchapp/scheduler",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&router, None, Method::GET, path, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn collaborators_choose_the_scheduler_and_other_users_do_not_see_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let router = platform(dir.path()).await;
    let admin = login(&router, ADMIN, PASSWORD).await;
    let owner = user(&router, &admin, "owner@scheduler.test").await;
    let helper = user(&router, &admin, "helper@scheduler.test").await;
    let stranger = user(&router, &admin, "stranger@scheduler.test").await;
    let (status, body) = call(
        &router,
        Some(&owner),
        Method::POST,
        "/api/apps",
        Some(json!({"name": "ownedapp"})),
    )
    .await;
    assert!(status.is_success(), "{status}: {body}");
    let (status, body) = call(
        &router,
        Some(&owner),
        Method::POST,
        "/api/apps/ownedapp/collaborators",
        Some(json!({"email": "helper@scheduler.test"})),
    )
    .await;
    assert!(status.is_success(), "{status}: {body}");
    let path = "/api/apps/ownedapp/scheduler";

    let (status, body) = call(
        &router,
        Some(&helper),
        Method::PATCH,
        path,
        Some(json!({"scheduler": "docker"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = call(&router, Some(&owner), Method::GET, path, None).await;
    assert_eq!(body, json!({"scheduler": "docker", "default": false}));

    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"scheduler": null}))),
    ] {
        let (status, body) = call(&router, Some(&stranger), method, path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(message(&body), "Couldn't find that app.");
    }
    let (_, body) = call(&router, Some(&owner), Method::GET, path, None).await;
    assert_eq!(body, json!({"scheduler": "docker", "default": false}));
}

#[tokio::test]
async fn node_routes_are_for_admins_and_say_there_is_no_swarm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let router = platform(dir.path()).await;
    let admin = login(&router, ADMIN, PASSWORD).await;
    let plain = user(&router, &admin, "plain@scheduler.test").await;
    let routes = [
        (Method::GET, "/api/nodes"),
        (Method::GET, "/api/nodes/join"),
        (Method::GET, "/api/nodes/join?role=manager"),
        (Method::POST, "/api/nodes/node-1/drain"),
        (Method::POST, "/api/nodes/node-1/activate"),
    ];
    for (method, path) in &routes {
        let (status, body) = call(&router, Some(&plain), method.clone(), path, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
        assert_eq!(
            message(&body),
            "Only an admin can manage the Swarm's nodes.",
            "{method} {path}"
        );
        let (status, _) = call(&router, None, method.clone(), path, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
        let (status, body) = call(&router, Some(&admin), method.clone(), path, None).await;
        assert_eq!(status, StatusCode::CONFLICT, "{method} {path}: {body}");
        assert_eq!(message(&body), NO_SWARM, "{method} {path}");
    }
    // A role that is neither: one line, before anything else.
    let (status, body) = call(
        &router,
        Some(&admin),
        Method::GET,
        "/api/nodes/join?role=boss",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        message(&body),
        "Unknown node role \"boss\": use worker or manager."
    );
}
