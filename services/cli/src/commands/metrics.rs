//! `paas metrics`: the app's last hour in five-minute rows: requests by status class,
//! latency percentiles, response bytes, and its processes' CPU and memory.

use super::{client, resolve_app};
use crate::cli::ConfigArgs;
use crate::{output, table};
use anyhow::{anyhow, Result};
use paas_domain::telemetry::{MetricsPoint, MetricsSeries};

const WINDOW_SECS: u64 = 3600;
const STEP_SECS: u64 = 300;

pub fn show(args: ConfigArgs) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let series: MetricsSeries = client()?
        .get_streaming(
            &["api", "apps", &app, "metrics"],
            &[
                ("window", WINDOW_SECS.to_string()),
                ("step", STEP_SECS.to_string()),
            ],
        )?
        .json()
        .map_err(|e| anyhow!("Unexpected answer from the server: {e}"))?;
    if args.json {
        return output::json(&series);
    }
    output::line(table::header(&format!(
        "{app} Metrics (last hour, {}-minute steps, UTC)",
        series.step_secs / 60
    )))?;
    output::block(&render(&series.points))
}

/// `HH:MM` of a unix time, UTC.
fn clock(unix: i64) -> String {
    let secs = unix.rem_euclid(86_400);
    format!("{:02}:{:02}", secs / 3600, secs % 3600 / 60)
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

fn ms(value: Option<u64>) -> String {
    value
        .map(|v| format!("{v}ms"))
        .unwrap_or_else(|| "-".into())
}

/// The table: one row per point, oldest first.
fn render(points: &[MetricsPoint]) -> String {
    let mut rows = vec![[
        "TIME", "REQUESTS", "2XX", "3XX", "4XX", "5XX", "P50", "P95", "P99", "BYTES", "CPU",
        "MEMORY",
    ]
    .map(String::from)
    .to_vec()];
    for p in points {
        let r = &p.requests;
        let (cpu, memory) = if p.processes.is_empty() {
            ("-".to_string(), "-".to_string())
        } else {
            let cpu: f64 = p.processes.iter().map(|p| p.cpu_percent).sum();
            let memory: u64 = p.processes.iter().map(|p| p.memory_bytes).sum();
            (format!("{cpu:.1}%"), bytes(memory))
        };
        rows.push(vec![
            clock(p.time),
            r.total().to_string(),
            r.s2xx.to_string(),
            r.s3xx.to_string(),
            r.s4xx.to_string(),
            r.s5xx.to_string(),
            ms(p.p50_ms),
            ms(p.p95_ms),
            ms(p.p99_ms),
            bytes(p.bytes),
            cpu,
            memory,
        ]);
    }
    table::columns(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use paas_domain::telemetry::{ProcessPoint, StatusCounts};

    #[test]
    fn renders_one_row_per_step() {
        let points = vec![
            MetricsPoint {
                time: 1_795_000_200,
                ..MetricsPoint::default()
            },
            MetricsPoint {
                time: 1_795_000_500,
                requests: StatusCounts {
                    s2xx: 40,
                    s5xx: 2,
                    ..StatusCounts::default()
                },
                p50_ms: Some(3),
                p95_ms: Some(12),
                p99_ms: Some(40),
                bytes: 5 * 1024 * 1024,
                processes: vec![
                    ProcessPoint {
                        dyno: "web.1".into(),
                        cpu_percent: 1.5,
                        memory_bytes: 30 << 20,
                    },
                    ProcessPoint {
                        dyno: "web.2".into(),
                        cpu_percent: 2.0,
                        memory_bytes: 34 << 20,
                    },
                ],
            },
        ];
        let text = render(&points);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("TIME"));
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            ["11:10", "0", "0", "0", "0", "0", "-", "-", "-", "0", "B", "-", "-"]
        );
        let cells: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(
            cells,
            [
                "11:15", "42", "40", "0", "0", "2", "3ms", "12ms", "40ms", "5.0", "MB", "3.5%",
                "64.0", "MB"
            ]
        );
    }
}
