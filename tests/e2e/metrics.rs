//! Metrics from the outside: N requests through the router are N in `paas metrics --json`,
//! in the API's time series and in `/metrics` (Prometheus text, by status class, refused
//! without a valid token); the app's process shows CPU and memory from Docker's stats.

use paas_e2e::{curl, Paasd, PaasdOptions, User};
use serde_json::Value;
use std::time::{Duration, Instant};

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn token_of(user: &User) -> String {
    let netrc = std::fs::read_to_string(user.home.path().join(".netrc")).unwrap();
    netrc.split_whitespace().last().unwrap().to_string()
}

/// Sums of the series' points: (2xx, 5xx, all).
fn counts(series: &Value) -> (u64, u64, u64) {
    let mut sums = (0, 0, 0);
    for point in series["points"].as_array().unwrap() {
        let r = &point["requests"];
        let n = |k: &str| r[k].as_u64().unwrap_or(0);
        sums.0 += n("2xx");
        sums.1 += n("5xx");
        sums.2 += n("1xx") + n("2xx") + n("3xx") + n("4xx") + n("5xx");
    }
    sums
}

/// `name{labels}` -> value of every sample line; panics on a line that is neither a comment
/// nor `series value`.
fn prometheus_samples(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
            (
                series.to_string(),
                value.parse().unwrap_or_else(|_| panic!("{line}")),
            )
        })
        .collect()
}

#[test]
fn metrics_count_every_request_by_status_class_and_show_process_cpu_and_memory() {
    let paasd = Paasd::start_with(PaasdOptions {
        env: vec![("PAAS_STATS_INTERVAL".into(), "1".into())],
        ..Default::default()
    });
    let user = User::admin(&paasd);
    let (repo, app) = user.deploy_sample("python-stdlib", "metrics");

    const OK: u64 = 25;
    const UNAVAILABLE: u64 = 4;
    for _ in 0..OK {
        assert_eq!(paasd.get_app(&app, "/").0, 200);
    }
    // Maintenance mode: the router answers 503 (H80) itself; those count as 5xx.
    user.paas(&repo, &["maintenance:on"]).ok();
    for _ in 0..UNAVAILABLE {
        assert_eq!(paasd.get_app(&app, "/").0, 503);
    }
    user.paas(&repo, &["maintenance:off"]).ok();

    // `paas metrics --json` (the API's series) counts exactly what was sent.
    let mut series = Value::Null;
    wait_for(
        "the requests in paas metrics",
        Duration::from_secs(15),
        || {
            series = serde_json::from_str(&user.paas(&repo, &["metrics", "--json"]).ok().stdout)
                .unwrap();
            counts(&series).2 >= OK + UNAVAILABLE
        },
    );
    assert_eq!(
        counts(&series),
        (OK, UNAVAILABLE, OK + UNAVAILABLE),
        "{series}"
    );
    let with_latency = series["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["requests"]["2xx"].as_u64() > Some(0))
        .unwrap();
    assert!(with_latency["p50_ms"].is_u64(), "{with_latency}");
    assert!(with_latency["p99_ms"].as_u64() >= with_latency["p50_ms"].as_u64());
    // "stdlib app on web.1\n" is 20 bytes.
    let bytes: u64 = series["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["bytes"].as_u64().unwrap())
        .sum();
    assert!(bytes >= OK * 20, "{bytes}");

    // The API's series at one-minute resolution for a day.
    let token = token_of(&user);
    let (status, body) = curl(&[
        "-s",
        "-H",
        &format!("Authorization: Bearer {token}"),
        &format!(
            "{}/api/apps/{app}/metrics?window=86400&step=60",
            paasd.url()
        ),
    ]);
    assert_eq!(status, 200, "{body}");
    let day: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(day["points"].as_array().unwrap().len(), 1440);
    assert_eq!(counts(&day).2, OK + UNAVAILABLE);

    // Docker's stats: web.1's CPU and memory.
    wait_for(
        "web.1's memory in the metrics",
        Duration::from_secs(20),
        || {
            let series: Value =
                serde_json::from_str(&user.paas(&repo, &["metrics", "--json"]).ok().stdout)
                    .unwrap();
            series["points"].as_array().unwrap().iter().any(|p| {
                p["processes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|proc| proc["dyno"] == "web.1" && proc["memory_bytes"].as_u64() > Some(0))
            })
        },
    );

    // The table: a header and one row per five minutes of the last hour.
    let table = user.paas(&repo, &["metrics"]).ok().stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with(&format!("=== {app} Metrics")),
        "{table}"
    );
    assert!(lines[1].starts_with("TIME"), "{table}");
    assert_eq!(lines.len(), 2 + 12, "{table}");

    // /metrics: Prometheus text behind the API token.
    let url = format!("{}/metrics", paasd.url());
    assert_eq!(curl(&["-s", &url]).0, 401);
    assert_eq!(
        curl(&["-s", "-H", "Authorization: Bearer not-a-token", &url]).0,
        401
    );
    let (status, text) = curl(&["-s", "-H", &format!("Authorization: Bearer {token}"), &url]);
    assert_eq!(status, 200, "{text}");
    let samples = prometheus_samples(&text);
    let value = |series: &str| {
        samples
            .iter()
            .find(|(s, _)| s == series)
            .unwrap_or_else(|| panic!("{series} not in\n{text}"))
            .1
    };
    assert_eq!(
        value(&format!(
            "paas_router_requests_total{{app=\"{app}\",status_class=\"2xx\"}}"
        )),
        OK as f64
    );
    assert_eq!(
        value(&format!(
            "paas_router_requests_total{{app=\"{app}\",status_class=\"5xx\"}}"
        )),
        UNAVAILABLE as f64
    );
    assert!(
        value(&format!(
            "paas_process_memory_bytes{{app=\"{app}\",dyno=\"web.1\"}}"
        )) > 0.0
    );
    // Another user sees none of this app's metrics.
    let other = User::new();
    user.paas_with_stdin(
        &repo,
        &["users:add", "other@e2e.test", "--password-stdin"],
        "other-password-e2e\n",
    )
    .ok();
    other
        .login(&paasd, "other@e2e.test", "other-password-e2e")
        .ok();
    let (status, text) = curl(&[
        "-s",
        "-H",
        &format!("Authorization: Bearer {}", token_of(&other)),
        &url,
    ]);
    assert_eq!(status, 200);
    assert!(!text.contains(&app), "{text}");

    // A restarted paasd reads the saved day back: here a snapshot written while it was down
    // (it saves one every five minutes) with 7 requests two minutes ago.
    let mut paasd = paasd;
    paasd.kill();
    let two_minutes_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 60
        - 2;
    std::fs::write(
        paasd.data.path().join("metrics.snapshot"),
        format!("paas-metrics 1\n{app} {two_minutes_ago} 0 7 0 0 0 70 12:7 -\n"),
    )
    .unwrap();
    paasd.restart();
    let series: Value =
        serde_json::from_str(&user.paas(&repo, &["metrics", "--json"]).ok().stdout).unwrap();
    assert_eq!(counts(&series).0, 7, "{series}");
}
