//! Not a test of the store: measures what keeping app log lines in the SQL store would cost,
//! for issue 9's choice of log store (ARCHITECTURE.md quotes the numbers next to the segment
//! files' own, `services/logs/tests/append_bench.rs`). One INSERT per line (each line durable
//! on its own, as a live log needs) and 100 lines per transaction (a batching writer).
//! Run: `cargo test -p paas-store --test log_append_bench -- --ignored --nocapture`
//! (`PAAS_BENCH_PG=postgres://...` adds PostgreSQL).

use sqlx::AnyPool;
use std::time::Instant;

const LINES: usize = 5_000;

fn line(n: usize) -> String {
    format!("at=info method=GET path=\"/items/{n}\" host=shop.example.com request_id=5f0c8a52-4a3e-4a8e-9a52-{n:012} fwd=\"10.0.0.1\" dyno=web.1 connect=0ms service=3ms status=200 bytes=512")
}

async fn measure(pool: &AnyPool, what: &str) {
    sqlx::query("DROP TABLE IF EXISTS bench_log_lines")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(
        "CREATE TABLE bench_log_lines (app TEXT NOT NULL, at BIGINT NOT NULL, source TEXT NOT NULL, process TEXT, message TEXT NOT NULL)",
    )
    .execute(pool)
    .await
    .unwrap();
    let started = Instant::now();
    for n in 0..LINES {
        sqlx::query("INSERT INTO bench_log_lines (app, at, source, process, message) VALUES ($1, $2, $3, $4, $5)")
            .bind("shop")
            .bind(n as i64)
            .bind("app")
            .bind("web.1")
            .bind(line(n))
            .execute(pool)
            .await
            .unwrap();
    }
    let one = LINES as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for batch in 0..LINES / 100 {
        let mut tx = pool.begin().await.unwrap();
        for n in batch * 100..(batch + 1) * 100 {
            sqlx::query("INSERT INTO bench_log_lines (app, at, source, process, message) VALUES ($1, $2, $3, $4, $5)")
                .bind("shop")
                .bind(n as i64)
                .bind("app")
                .bind("web.1")
                .bind(line(n))
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
    let batched = LINES as f64 / started.elapsed().as_secs_f64();
    println!(
        "{what}: {one:.0} lines/s one INSERT per line, {batched:.0} lines/s 100 per transaction"
    );
}

#[tokio::test]
#[ignore]
async fn sql_log_appends_per_second() {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    let pool = AnyPool::connect(&url).await.unwrap();
    sqlx::query("PRAGMA journal_mode = WAL")
        .execute(&pool)
        .await
        .unwrap();
    measure(&pool, "SQLite (WAL, as paasd opens it)").await;
    if let Ok(url) = std::env::var("PAAS_BENCH_PG") {
        let pool = AnyPool::connect(&url).await.unwrap();
        measure(&pool, "PostgreSQL").await;
    }
}
