//! Not a test: measures appends per second to an app log's segment files (the same router
//! line as `services/store/tests/log_append_bench.rs` inserts), for issue 9's choice of log
//! store; ARCHITECTURE.md quotes both.
//! Run: `cargo test -p paas-logs --test append_bench -- --ignored --nocapture`.

use paas_logs::{LogEntry, LogKeeper, Source};
use std::time::Instant;

const LINES: usize = 200_000;

#[test]
#[ignore]
fn segment_appends_per_second() {
    let dir = tempfile::tempdir().unwrap();
    let logs = LogKeeper::open(dir.path(), 8 * 1024 * 1024).unwrap();
    let started = Instant::now();
    for n in 0..LINES {
        logs.append(
            "shop",
            LogEntry {
                at_micros: n as i64,
                source: Source::App,
                process: Some("web.1".into()),
                message: format!("at=info method=GET path=\"/items/{n}\" host=shop.example.com request_id=5f0c8a52-4a3e-4a8e-9a52-{n:012} fwd=\"10.0.0.1\" dyno=web.1 connect=0ms service=3ms status=200 bytes=512"),
            },
        )
        .unwrap();
    }
    let rate = LINES as f64 / started.elapsed().as_secs_f64();
    let size = logs.size("shop").unwrap();
    println!(
        "segment files: {rate:.0} lines/s, one write per line (8 MiB bound, {size} bytes kept)"
    );
    let started = Instant::now();
    let last = logs.last("shop", 100, &Default::default()).unwrap();
    println!("last 100 lines read in {:?}", started.elapsed());
    assert_eq!(last.len(), 100);
}

/// The whole path of the router's records: the serving thread's cost per record (its line
/// written into its buffer) and the log keeper's (batched append per app).
#[tokio::test(flavor = "current_thread")]
#[ignore]
async fn router_records_per_second() {
    let dir = tempfile::tempdir().unwrap();
    let logs = LogKeeper::open(dir.path(), 8 * 1024 * 1024).unwrap();
    const RECORDS: usize = 200_000;
    let (sink, source) = paas_router::record_channel(RECORDS);
    let paths: Vec<String> = (0..RECORDS).map(|n| format!("/items/{n}")).collect();
    let ids: Vec<String> = (0..RECORDS)
        .map(|n| format!("5f0c8a52-4a3e-4a8e-9a52-{n:012}"))
        .collect();
    let at = std::time::SystemTime::now();
    let started = Instant::now();
    for n in 0..RECORDS {
        sink.offer(&paas_router::RequestRecord {
            app: "shop",
            at,
            method: "GET",
            path: &paths[n],
            host: "shop.example.com",
            request_id: &ids[n],
            client: "10.0.0.1".parse().unwrap(),
            dyno: Some("web.1"),
            connect_ms: 0,
            service_ms: 3,
            status: 200,
            bytes: Some(512),
            error: None,
        });
    }
    let offered = started.elapsed();
    drop(sink);
    let started = Instant::now();
    paas_logs::keep_router_records(logs, source, Vec::new()).await;
    let kept = started.elapsed();
    println!(
        "router records: {:.2} us each on the serving thread, {:.2} us each on the keeper (batched appends)",
        offered.as_secs_f64() * 1e6 / RECORDS as f64,
        kept.as_secs_f64() * 1e6 / RECORDS as f64
    );
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Memory of the log store for 100 apps whose logs are full: what stays in memory is one open
/// segment and a little bookkeeping per app, and the live feed's ring (8,192 lines), whatever
/// the size on disk.
#[test]
#[ignore]
fn memory_for_a_hundred_full_app_logs() {
    let dir = tempfile::tempdir().unwrap();
    let logs = LogKeeper::open(dir.path(), 256 * 1024).unwrap();
    let mut feed = logs.subscribe();
    let before = rss_kib();
    for round in 0..3 {
        for app in 0..100 {
            let app = format!("app-{app}");
            let entries = (0..1_000)
                .map(|n| LogEntry {
                    at_micros: n,
                    source: Source::App,
                    process: Some("web.1".into()),
                    message: format!("round {round} line {n} {}", "x".repeat(150)),
                })
                .collect();
            logs.append_batch(&app, entries).unwrap();
        }
        let on_disk: u64 = (0..100)
            .map(|a| logs.size(&format!("app-{a}")).unwrap())
            .sum();
        println!(
            "after {} lines: {} KiB on disk, RSS {} KiB above the start (a subscriber lagging)",
            (round + 1) * 100_000,
            on_disk / 1024,
            rss_kib().saturating_sub(before)
        );
    }
    // The subscriber never read: it lagged (the ring, not the lines appended, bounds memory).
    assert!(matches!(
        feed.try_recv(),
        Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_))
    ));
}
