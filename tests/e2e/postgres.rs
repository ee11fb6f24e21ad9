//! paasd on PostgreSQL: the same journey (login, create, push, fetch, destroy) with
//! `DATABASE_URL=postgres://...`. The server comes from `PAAS_TEST_POSTGRES_URL` (an admin URL);
//! each run uses a fresh database. Under CI the variable must be set.

use paas_e2e::{app_name, Paasd, PaasdOptions, User, ADMIN_EMAIL, ADMIN_PASSWORD};
use std::process::Command;

fn fresh_database() -> Option<String> {
    let Ok(admin_url) = std::env::var("PAAS_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("CI").is_err(),
            "PAAS_TEST_POSTGRES_URL must be set under CI"
        );
        eprintln!("skipping: PAAS_TEST_POSTGRES_URL is not set");
        return None;
    };
    let name = format!("paas_e2e_{}", std::process::id());
    let created = Command::new("psql")
        .args([
            &admin_url,
            "-q",
            "-c",
            &format!("DROP DATABASE IF EXISTS {name}"),
            "-c",
            &format!("CREATE DATABASE {name}"),
        ])
        .output()
        .expect("psql runs");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let (base, _) = admin_url.rsplit_once('/').expect("URL has a database path");
    Some(format!("{base}/{name}"))
}

#[test]
fn deploys_with_postgresql_as_the_store() {
    let Some(database_url) = fresh_database() else {
        return;
    };
    let mut paasd = Paasd::start_with(PaasdOptions {
        database_url: Some(database_url.clone()),
        ..PaasdOptions::default()
    });
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let repo = user.sample_repo("python-stdlib");
    let app = app_name("pg");
    user.paas(&repo, &["apps:create", &app]).ok();
    let push = user.git(&repo, &["push", "paas", "main"]).ok();
    assert!(push.stderr.contains("done, v1"), "{}", push.stderr);
    assert_eq!(paasd.get_app(&app, "/").0, 200);

    // The state is in PostgreSQL, not in the data directory.
    assert!(!paasd.data.path().join("paas.db").exists());
    let rows = Command::new("psql")
        .args([
            &database_url,
            "-tA",
            "-c",
            &format!("SELECT name FROM apps WHERE name = '{app}'"),
        ])
        .output()
        .expect("psql runs");
    assert_eq!(String::from_utf8_lossy(&rows.stdout).trim(), app);

    // Tokens are stored as hashes, passwords as argon2 hashes.
    let netrc = std::fs::read_to_string(user.home.path().join(".netrc")).unwrap();
    let token = netrc.split_whitespace().last().unwrap().to_string();
    let sql = |query: &str| {
        let out = Command::new("psql")
            .args([&database_url, "-tA", "-c", query])
            .output()
            .expect("psql runs");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(
        sql(&format!(
            "SELECT count(*) FROM api_tokens WHERE token_hash = '{token}'"
        )),
        "0"
    );
    assert_eq!(sql("SELECT count(*) FROM api_tokens"), "1");
    assert!(sql("SELECT password_hash FROM users").starts_with("$argon2id$"));

    user.paas(&repo, &["apps:destroy", &app, "--confirm", &app])
        .ok();
    assert_eq!(paasd.get_app(&app, "/").0, 404);
    paasd.kill();
}
