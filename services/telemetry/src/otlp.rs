//! OpenTelemetry export over HTTP with the JSON encoding (no protobuf): app log lines as
//! `resourceLogs` (POSTed to `<collector>/v1/logs` by the app's OTLP drain, see `drains/`)
//! and the app's metrics as `resourceMetrics` (POSTed to `<collector>/v1/metrics` every
//! export interval by `export_metrics`): cumulative request and byte counters since paasd
//! started, a latency summary, and each process's CPU and memory as gauges. The app is the
//! resource's `service.name`. 64-bit integers are strings, as OTLP/JSON requires.

use crate::drains::{http, Drains, Line};
use crate::metrics::{now_secs, Metrics, MetricsHandle};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

fn string_attr(key: &str, value: &str) -> Value {
    json!({"key": key, "value": {"stringValue": value}})
}

fn resource(app: &str) -> Value {
    json!({"attributes": [
        string_attr("service.name", app),
        string_attr("service.namespace", "paas"),
    ]})
}

fn scope() -> Value {
    json!({"name": "paas", "version": env!("CARGO_PKG_VERSION")})
}

/// The OTLP/JSON logs request for a batch of lines (grouped by app, in order).
pub fn logs(lines: &[Arc<Line>]) -> Value {
    let mut by_app: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for line in lines {
        let nanos = (i128::from(line.at_micros) * 1000).to_string();
        let mut attributes = vec![string_attr("paas.source", &line.source)];
        if let Some(process) = &line.process {
            attributes.push(string_attr("paas.process", process));
        }
        by_app.entry(&line.app).or_default().push(json!({
            "timeUnixNano": nanos,
            "observedTimeUnixNano": nanos,
            "severityNumber": 9,
            "severityText": "INFO",
            "body": {"stringValue": line.message},
            "attributes": attributes,
        }));
    }
    json!({"resourceLogs": by_app.into_iter().map(|(app, records)| json!({
        "resource": resource(app),
        "scopeLogs": [{"scope": scope(), "logRecords": records}],
    })).collect::<Vec<_>>()})
}

fn nanos_of(secs: i64) -> String {
    (i128::from(secs) * 1_000_000_000).to_string()
}

/// The OTLP/JSON metrics request for one app at unix second `now`; counters are cumulative
/// from `start` (unix seconds, when paasd started).
pub fn metrics(metrics: &Metrics, app: &str, start: i64, now: i64) -> Value {
    let start_ns = nanos_of(start);
    let now_ns = nanos_of(now);
    let totals = metrics.totals(app);
    let requests: Vec<Value> = CLASSES
        .iter()
        .zip(totals.requests)
        .map(|(class, count)| {
            json!({
                "attributes": [string_attr("http.status_class", class)],
                "startTimeUnixNano": start_ns,
                "timeUnixNano": now_ns,
                "asInt": count.to_string(),
            })
        })
        .collect();
    let recent = metrics.latency_since(app, now - 4 * 60);
    let quantiles: Vec<Value> = [0.5, 0.95, 0.99]
        .into_iter()
        .filter_map(|q| {
            recent
                .quantile(q)
                .map(|v| json!({"quantile": q, "value": v as f64}))
        })
        .collect();
    let processes = metrics.processes(app);
    let cpu: Vec<Value> = processes
        .iter()
        .map(|(dyno, p)| {
            json!({
                "attributes": [string_attr("paas.process", dyno)],
                "timeUnixNano": nanos_of(p.at),
                "asDouble": p.cpu_percent,
            })
        })
        .collect();
    let memory: Vec<Value> = processes
        .iter()
        .map(|(dyno, p)| {
            json!({
                "attributes": [string_attr("paas.process", dyno)],
                "timeUnixNano": nanos_of(p.at),
                "asInt": p.memory_bytes.to_string(),
            })
        })
        .collect();
    let mut list = vec![
        json!({
            "name": "paas.router.requests",
            "description": "Requests through the router, by status class.",
            "unit": "{request}",
            "sum": {"aggregationTemporality": 2, "isMonotonic": true, "dataPoints": requests},
        }),
        json!({
            "name": "paas.router.response.bytes",
            "description": "Response bytes (Content-Length) through the router.",
            "unit": "By",
            "sum": {"aggregationTemporality": 2, "isMonotonic": true, "dataPoints": [{
                "startTimeUnixNano": start_ns,
                "timeUnixNano": now_ns,
                "asInt": totals.bytes.to_string(),
            }]},
        }),
        json!({
            "name": "paas.router.latency",
            "description": "Connect plus service time; quantiles over the last 5 minutes.",
            "unit": "ms",
            "summary": {"dataPoints": [{
                "startTimeUnixNano": start_ns,
                "timeUnixNano": now_ns,
                "count": totals.count().to_string(),
                "sum": totals.latency_ms_sum as f64,
                "quantileValues": quantiles,
            }]},
        }),
    ];
    if !cpu.is_empty() {
        list.push(json!({
            "name": "paas.process.cpu",
            "description": "CPU use of a process, in percent of one core.",
            "unit": "%",
            "gauge": {"dataPoints": cpu},
        }));
        list.push(json!({
            "name": "paas.process.memory",
            "description": "Memory in use by a process.",
            "unit": "By",
            "gauge": {"dataPoints": memory},
        }));
    }
    json!({"resourceMetrics": [{
        "resource": resource(app),
        "scopeMetrics": [{"scope": scope(), "metrics": list}],
    }]})
}

/// Every `every`, POSTs each app's metrics to each of its OTLP exports. A failure counts
/// the export's points as lost; it never delays anything but this task.
pub async fn export_metrics(metrics: MetricsHandle, drains: Drains, every: Duration) {
    let start = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let client = drains.client();
    let mut ticker = tokio::time::interval(every.max(Duration::from_secs(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let targets = drains.otlp_targets();
        if targets.is_empty() {
            continue;
        }
        let now = now_secs();
        let bodies: Vec<(String, Arc<crate::drains::DrainStats>, Value, u64)> = {
            let metrics = metrics.lock();
            targets
                .into_iter()
                .map(|(app, base, stats)| {
                    let body = self::metrics(&metrics, &app, start, now);
                    let points = 5 + 2 * metrics.processes(&app).len() as u64;
                    (format!("{base}/v1/metrics"), stats, body, points)
                })
                .collect()
        };
        for (url, stats, body, points) in bodies {
            match http::post_json(&client, &url, &body).await {
                Ok(()) => stats.add_delivered(points),
                Err(e) => stats.add_lost(points, Some(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::ProcessNow;

    #[test]
    fn logs_are_grouped_by_app_with_nanosecond_strings() {
        let line = |app: &str, process: Option<&str>| {
            Arc::new(Line {
                app: app.into(),
                at_micros: 1_795_619_626_677_020,
                source: "app".into(),
                process: process.map(str::to_string),
                message: "hello".into(),
            })
        };
        let body = logs(&[
            line("shop", Some("web.1")),
            line("blog", None),
            line("shop", None),
        ]);
        let resources = body["resourceLogs"].as_array().unwrap();
        assert_eq!(resources.len(), 2);
        let shop = &resources[1];
        assert_eq!(
            shop["resource"]["attributes"][0],
            json!({"key": "service.name", "value": {"stringValue": "shop"}})
        );
        let records = shop["scopeLogs"][0]["logRecords"].as_array().unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0]["timeUnixNano"], "1795619626677020000");
        assert_eq!(records[0]["body"]["stringValue"], "hello");
        assert_eq!(
            records[0]["attributes"][1],
            json!({"key": "paas.process", "value": {"stringValue": "web.1"}})
        );
    }

    #[test]
    fn metrics_carry_counters_summary_and_gauges() {
        let now = 1_795_000_020;
        let mut m = Metrics::default();
        for _ in 0..4 {
            m.record_request("shop", now - 10, 200, 12, 7);
        }
        m.record_request("shop", now - 10, 502, 30, 0);
        m.sample_process(
            "shop",
            "web.1",
            now,
            ProcessNow {
                cpu_percent: 3.5,
                memory_bytes: 1 << 20,
                memory_limit_bytes: None,
                at: now,
            },
        );
        let body = metrics(&m, "shop", now - 100, now);
        let list = body["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]
            .as_array()
            .unwrap();
        let named = |name: &str| list.iter().find(|m| m["name"] == name).unwrap().clone();
        let requests = named("paas.router.requests");
        assert_eq!(requests["sum"]["isMonotonic"], true);
        assert_eq!(requests["sum"]["dataPoints"][1]["asInt"], "4");
        assert_eq!(requests["sum"]["dataPoints"][4]["asInt"], "1");
        assert_eq!(
            named("paas.router.response.bytes")["sum"]["dataPoints"][0]["asInt"],
            "28"
        );
        let summary = named("paas.router.latency");
        assert_eq!(summary["summary"]["dataPoints"][0]["count"], "5");
        assert_eq!(
            summary["summary"]["dataPoints"][0]["quantileValues"][0]["value"],
            12.0
        );
        assert_eq!(
            named("paas.process.cpu")["gauge"]["dataPoints"][0]["asDouble"],
            3.5
        );
        assert_eq!(
            named("paas.process.memory")["gauge"]["dataPoints"][0]["asInt"],
            "1048576"
        );
    }
}
