//! Prometheus text exposition (format 0.0.4) of the metrics: per app, request counters by
//! status class, response bytes, a latency summary (p50/p95/p99 over the last five minutes,
//! with the totals' sum and count), and each live process's CPU and memory.

use crate::metrics::{now_secs, Metrics};
use std::fmt::Write;

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// A label value with `\`, `"` and newlines escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The text for `apps` (the apps the caller may see), at unix second `now`.
pub fn render(metrics: &Metrics, apps: &[String], now: i64) -> String {
    let mut out = String::new();
    let visible: Vec<&str> = metrics
        .apps()
        .into_iter()
        .filter(|app| apps.iter().any(|a| a == app))
        .collect();

    out.push_str(
        "# HELP paas_router_requests_total Requests through the router, by status class.\n",
    );
    out.push_str("# TYPE paas_router_requests_total counter\n");
    for app in &visible {
        let totals = metrics.totals(app);
        for (class, count) in CLASSES.iter().zip(totals.requests) {
            let _ = writeln!(
                out,
                "paas_router_requests_total{{app=\"{}\",status_class=\"{class}\"}} {count}",
                label(app)
            );
        }
    }
    out.push_str("# HELP paas_router_response_bytes_total Response bytes (Content-Length) through the router.\n");
    out.push_str("# TYPE paas_router_response_bytes_total counter\n");
    for app in &visible {
        let _ = writeln!(
            out,
            "paas_router_response_bytes_total{{app=\"{}\"}} {}",
            label(app),
            metrics.totals(app).bytes
        );
    }
    out.push_str("# HELP paas_router_request_duration_milliseconds Connect plus service time; quantiles over the last 5 minutes.\n");
    out.push_str("# TYPE paas_router_request_duration_milliseconds summary\n");
    for app in &visible {
        let recent = metrics.latency_since(app, now - 4 * 60);
        let name = label(app);
        for q in [0.5, 0.95, 0.99] {
            if let Some(value) = recent.quantile(q) {
                let _ = writeln!(
                    out,
                    "paas_router_request_duration_milliseconds{{app=\"{name}\",quantile=\"{q}\"}} {value}"
                );
            }
        }
        let totals = metrics.totals(app);
        let _ = writeln!(
            out,
            "paas_router_request_duration_milliseconds_sum{{app=\"{name}\"}} {}",
            totals.latency_ms_sum
        );
        let _ = writeln!(
            out,
            "paas_router_request_duration_milliseconds_count{{app=\"{name}\"}} {}",
            totals.count()
        );
    }
    out.push_str("# HELP paas_process_cpu_percent CPU use of a process at its last sample, in percent of one core.\n");
    out.push_str("# TYPE paas_process_cpu_percent gauge\n");
    for app in &visible {
        for (dyno, now) in metrics.processes(app) {
            let _ = writeln!(
                out,
                "paas_process_cpu_percent{{app=\"{}\",dyno=\"{}\"}} {}",
                label(app),
                label(&dyno),
                now.cpu_percent
            );
        }
    }
    out.push_str(
        "# HELP paas_process_memory_bytes Memory in use by a process at its last sample.\n",
    );
    out.push_str("# TYPE paas_process_memory_bytes gauge\n");
    for app in &visible {
        for (dyno, now) in metrics.processes(app) {
            let _ = writeln!(
                out,
                "paas_process_memory_bytes{{app=\"{}\",dyno=\"{}\"}} {}",
                label(app),
                label(&dyno),
                now.memory_bytes
            );
        }
    }
    out
}

/// `render` at the current time.
pub fn render_now(metrics: &Metrics, apps: &[String]) -> String {
    render(metrics, apps, now_secs())
}

/// The content type Prometheus expects for this text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::ProcessNow;
    use std::collections::BTreeMap;

    /// A strict reader of the text format: every line a comment (`# HELP name text`,
    /// `# TYPE name counter|gauge|summary`) or `name{label="value",...} number`, every sample's
    /// family declared by a TYPE line before it. Returns sample -> value.
    fn parse(text: &str) -> BTreeMap<String, f64> {
        let mut types = BTreeMap::new();
        let mut samples = BTreeMap::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# ") {
                let mut parts = rest.splitn(3, ' ');
                let kind = parts.next().unwrap();
                let name = parts.next().unwrap();
                let value = parts.next().unwrap();
                assert!(["HELP", "TYPE"].contains(&kind), "{line}");
                if kind == "TYPE" {
                    assert!(["counter", "gauge", "summary"].contains(&value), "{line}");
                    types.insert(name.to_string(), value.to_string());
                }
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect(line);
            let value: f64 = value.parse().expect(line);
            let name = series.split('{').next().unwrap();
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
                "{line}"
            );
            let family = name
                .strip_suffix("_sum")
                .or_else(|| name.strip_suffix("_count"))
                .filter(|f| types.get(*f).is_some_and(|t| t == "summary"))
                .unwrap_or(name);
            assert!(types.contains_key(family), "no TYPE before {line}");
            if let Some(labels) = series.strip_prefix(name) {
                if !labels.is_empty() {
                    let inner = labels
                        .strip_prefix('{')
                        .and_then(|l| l.strip_suffix('}'))
                        .expect(line);
                    for pair in inner.split("\",") {
                        let (key, value) = pair.split_once("=\"").expect(line);
                        assert!(key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
                        assert!(
                            !value.trim_end_matches('"').contains('"') || value.contains("\\\"")
                        );
                    }
                }
            }
            assert!(
                samples.insert(series.to_string(), value).is_none(),
                "duplicate {line}"
            );
        }
        samples
    }

    #[test]
    fn text_parses_and_counts_match() {
        let now = 1_795_000_020;
        let mut m = Metrics::default();
        for i in 0..10 {
            m.record_request("shop", now - 30, if i < 7 { 200 } else { 500 }, 20, 10);
        }
        m.record_request("hidden", now, 200, 1, 1);
        m.sample_process(
            "shop",
            "web.1",
            now,
            ProcessNow {
                cpu_percent: 12.5,
                memory_bytes: 4096,
                memory_limit_bytes: None,
                at: now,
            },
        );
        let text = render(&m, &["shop".to_string()], now);
        let samples = parse(&text);
        assert_eq!(
            samples["paas_router_requests_total{app=\"shop\",status_class=\"2xx\"}"],
            7.0
        );
        assert_eq!(
            samples["paas_router_requests_total{app=\"shop\",status_class=\"5xx\"}"],
            3.0
        );
        assert_eq!(
            samples["paas_router_response_bytes_total{app=\"shop\"}"],
            100.0
        );
        assert_eq!(
            samples["paas_router_request_duration_milliseconds{app=\"shop\",quantile=\"0.5\"}"],
            20.0
        );
        assert_eq!(
            samples["paas_router_request_duration_milliseconds_count{app=\"shop\"}"],
            10.0
        );
        assert_eq!(
            samples["paas_process_cpu_percent{app=\"shop\",dyno=\"web.1\"}"],
            12.5
        );
        assert_eq!(
            samples["paas_process_memory_bytes{app=\"shop\",dyno=\"web.1\"}"],
            4096.0
        );
        // Apps the caller may not see are not there.
        assert!(!text.contains("hidden"), "{text}");
        // Nothing at all is still valid text.
        parse(&render(&Metrics::default(), &[], now));
    }
}
