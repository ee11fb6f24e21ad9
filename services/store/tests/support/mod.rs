//! Fresh databases for the store tests: a temporary SQLite file, or a throw-away PostgreSQL
//! database created through the admin URL in `PAAS_TEST_POSTGRES_URL` and dropped afterwards
//! (also when the test panics). Without that variable the PostgreSQL tests are skipped, unless
//! `CI` is set, where they fail.

#![allow(dead_code)] // each test binary uses a different part of this

use paas_domain::{AppName, Email};
use paas_store::{App, SqlStore, Store, User};
use sqlx::Connection;
use std::sync::Arc;

pub const POSTGRES_ENV: &str = "PAAS_TEST_POSTGRES_URL";

pub struct TestDb {
    pub store: Arc<SqlStore>,
    /// The URL the store was opened with (for tests that reconnect or poke at raw rows).
    pub url: String,
    pub backend: &'static str,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, database: String },
}

impl TestDb {
    pub fn dyn_store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// A raw connection pool on the same database, for tests that need to bypass the store.
    pub async fn raw_pool(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::AnyPool::connect(&self.url)
            .await
            .expect("raw connection to the test database")
    }

    pub fn is_sqlite(&self) -> bool {
        self.backend == "sqlite"
    }
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("nested dir").join("paas.db");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("create dir");
    let store = SqlStore::connect_sqlite_file(&path)
        .await
        .expect("open SQLite store");
    TestDb {
        store: Arc::new(store),
        url: format!("sqlite://{}", path.display()),
        backend: "sqlite",
        cleanup: Cleanup::Sqlite(dir),
    }
}

/// A store on a brand-new PostgreSQL database, or `None` (after a notice) when PostgreSQL is not
/// configured outside CI.
pub async fn postgres() -> Option<TestDb> {
    let admin_url = match std::env::var(POSTGRES_ENV) {
        Ok(url) if !url.trim().is_empty() => url,
        _ if std::env::var_os("CI").is_some() => panic!(
            "{POSTGRES_ENV} is not set but CI is: the PostgreSQL store tests must run in CI. \
             Set it to an admin URL such as postgres://postgres:postgres@127.0.0.1:5432/postgres"
        ),
        _ => {
            eprintln!("SKIPPED: {POSTGRES_ENV} is not set; not running this PostgreSQL test");
            return None;
        }
    };
    let database = format!("paas_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("connect to {POSTGRES_ENV}: {e}"));
    sqlx::query(&format!("CREATE DATABASE {database}"))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let _ = admin.close().await;

    let url = with_database(&admin_url, &database);
    let cleanup = Cleanup::Postgres {
        admin_url,
        database,
    };
    let store = SqlStore::connect(&url)
        .await
        .expect("open PostgreSQL store");
    Some(TestDb {
        store: Arc::new(store),
        url,
        backend: "postgres",
        cleanup,
    })
}

/// `postgres://u:p@host:port/admin?x=y` with its database replaced.
fn with_database(admin_url: &str, database: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (admin_url, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{database}{query}", &base[..path_start])
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Cleanup::Postgres {
            admin_url,
            database,
        } = &self.cleanup
        else {
            return; // the TempDir removes the SQLite file
        };
        // Drop may run inside the test's runtime (where we cannot block on async) or during a
        // panic; a short-lived thread with its own runtime works in both. Best effort.
        let drop_sql = format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)");
        let admin_url = admin_url.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                sqlx::query(&drop_sql).execute(&mut admin).await?;
                admin.close().await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop test database {database}");
        }
    }
}

// --- small fixtures shared by the tests

pub fn email(raw: &str) -> Email {
    Email::parse(raw).expect("valid e-mail")
}

pub fn app_name(raw: &str) -> AppName {
    AppName::parse(raw).expect("valid app name")
}

pub async fn user(store: &dyn Store, raw_email: &str) -> User {
    store
        .create_user(&email(raw_email), "argon2-hash-of-secret", false)
        .await
        .expect("create user")
}

pub async fn app(store: &dyn Store, name: &str, owner: &User) -> App {
    store
        .create_app(&app_name(name), owner.id)
        .await
        .expect("create app")
}
