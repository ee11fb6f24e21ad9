//! SVG line charts drawn on the server from an app's metrics series: requests per minute by
//! status class, latency p50/p99, memory per process. Pure functions; every label that comes
//! from outside (process names) is escaped, numbers are formatted by Rust.

use paas_domain::telemetry::MetricsSeries;
use std::collections::BTreeMap;
use std::fmt::Write;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 24.0;
const TOP: f64 = 10.0;
const COLOURS: &[&str] = &[
    "#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#4b5563",
];

/// One named line: a value (or none) per point.
struct Line {
    name: String,
    values: Vec<Option<f64>>,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn short(value: f64, unit: &str) -> String {
    let (v, suffix) = if value >= 1e9 {
        (value / 1e9, "G")
    } else if value >= 1e6 {
        (value / 1e6, "M")
    } else if value >= 1e3 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    if v.fract() == 0.0 || v >= 100.0 {
        format!("{v:.0}{suffix}{unit}")
    } else {
        format!("{v:.1}{suffix}{unit}")
    }
}

/// An SVG chart of `lines` over `times` (unix seconds), with a legend and the y axis' top.
fn chart(title: &str, unit: &str, times: &[i64], lines: &[Line]) -> String {
    let max = lines
        .iter()
        .flat_map(|l| l.values.iter().flatten())
        .fold(0.0_f64, |a, b| a.max(*b));
    let top = if max <= 0.0 { 1.0 } else { max * 1.1 };
    let n = times.len().max(2) as f64 - 1.0;
    let plot_w = WIDTH - LEFT - 8.0;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |i: usize| LEFT + plot_w * (i as f64) / n;
    let y = |v: f64| TOP + plot_h * (1.0 - v / top);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">"#,
        escape(title)
    );
    let _ = write!(svg, "<title>{}</title>", escape(title));
    // Axes and grid.
    for step in 0..=4 {
        let value = top * f64::from(step) / 4.0;
        let yy = y(value);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#e5e7eb"/><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end" fill="#6b7280">{}</text>"##,
            WIDTH - 8.0,
            LEFT - 4.0,
            yy + 3.0,
            escape(&short(value, unit))
        );
    }
    if let (Some(first), Some(last)) = (times.first(), times.last()) {
        for (t, anchor, xx) in [(first, "start", LEFT), (last, "end", WIDTH - 8.0)] {
            let secs = t.rem_euclid(86_400);
            let _ = write!(
                svg,
                r##"<text x="{xx:.1}" y="{:.1}" font-size="10" text-anchor="{anchor}" fill="#6b7280">{:02}:{:02} UTC</text>"##,
                HEIGHT - 6.0,
                secs / 3600,
                (secs % 3600) / 60
            );
        }
    }
    for (i, line) in lines.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        // Gaps (no value) split the line into segments.
        let mut segment: Vec<String> = Vec::new();
        let flush = |segment: &mut Vec<String>, svg: &mut String| {
            if segment.len() == 1 {
                let _ = write!(
                    svg,
                    r#"<circle cx="{}" r="2" fill="{colour}"/>"#,
                    segment[0].replace(',', r#"" cy=""#)
                );
            } else if segment.len() > 1 {
                let _ = write!(
                    svg,
                    r#"<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{}"/>"#,
                    segment.join(" ")
                );
            }
            segment.clear();
        };
        for (j, value) in line.values.iter().enumerate() {
            match value {
                Some(v) => segment.push(format!("{:.1},{:.1}", x(j), y(*v))),
                None => flush(&mut segment, &mut svg),
            }
        }
        flush(&mut segment, &mut svg);
    }
    svg.push_str("</svg>");
    let mut legend = String::from(r#"<ul class="legend">"#);
    for (i, line) in lines.iter().enumerate() {
        let _ = write!(
            legend,
            r#"<li><span class="swatch" style="background:{}"></span>{}</li>"#,
            COLOURS[i % COLOURS.len()],
            escape(&line.name)
        );
    }
    legend.push_str("</ul>");
    format!("{svg}{legend}")
}

fn times(series: &MetricsSeries) -> Vec<i64> {
    series.points.iter().map(|p| p.time).collect()
}

/// Requests per minute by status class.
pub fn requests(series: &MetricsSeries) -> String {
    let per_minute = 60.0 / series.step_secs.max(60) as f64;
    let class = |name: &str, get: fn(&paas_domain::telemetry::StatusCounts) -> u64| Line {
        name: name.to_string(),
        values: series
            .points
            .iter()
            .map(|p| Some(get(&p.requests) as f64 * per_minute))
            .collect(),
    };
    let lines = [
        class("2xx", |c| c.s2xx),
        class("3xx", |c| c.s3xx),
        class("4xx", |c| c.s4xx),
        class("5xx", |c| c.s5xx),
    ];
    chart(
        "Requests per minute by status class",
        "",
        &times(series),
        &lines,
    )
}

/// Latency p50 and p99 in milliseconds.
pub fn latency(series: &MetricsSeries) -> String {
    let lines = [
        Line {
            name: "p50".to_string(),
            values: series
                .points
                .iter()
                .map(|p| p.p50_ms.map(|v| v as f64))
                .collect(),
        },
        Line {
            name: "p99".to_string(),
            values: series
                .points
                .iter()
                .map(|p| p.p99_ms.map(|v| v as f64))
                .collect(),
        },
    ];
    chart("Latency (ms), p50 and p99", "ms", &times(series), &lines)
}

/// Memory per process, in bytes.
pub fn memory(series: &MetricsSeries) -> String {
    let mut by_process: BTreeMap<&str, Vec<Option<f64>>> = BTreeMap::new();
    for (i, point) in series.points.iter().enumerate() {
        for process in &point.processes {
            by_process
                .entry(process.dyno.as_str())
                .or_insert_with(|| vec![None; series.points.len()])[i] =
                Some(process.memory_bytes as f64);
        }
    }
    let lines: Vec<Line> = by_process
        .into_iter()
        .map(|(name, values)| Line {
            name: name.to_string(),
            values,
        })
        .collect();
    chart("Memory per process", "B", &times(series), &lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use paas_domain::telemetry::{MetricsPoint, ProcessPoint, StatusCounts};

    #[test]
    fn charts_draw_lines_and_escape_process_names() {
        let series = MetricsSeries {
            app: "a".to_string(),
            step_secs: 60,
            points: (0..3)
                .map(|i| MetricsPoint {
                    time: 1_700_000_000 + i * 60,
                    requests: StatusCounts {
                        s2xx: 10 * i as u64,
                        s5xx: 1,
                        ..Default::default()
                    },
                    p50_ms: Some(5),
                    p99_ms: (i > 0).then_some(50),
                    processes: vec![ProcessPoint {
                        dyno: "<web>.1".to_string(),
                        cpu_percent: 1.0,
                        memory_bytes: 50_000_000,
                    }],
                    ..Default::default()
                })
                .collect(),
        };
        let svg = requests(&series);
        assert!(svg.starts_with("<svg"), "{svg}");
        assert_eq!(svg.matches("<polyline").count(), 4, "{svg}");
        assert!(latency(&series).contains("<polyline"));
        let memory = memory(&series);
        assert!(memory.contains("&lt;web&gt;.1"), "{memory}");
        assert!(!memory.contains("<web>"), "{memory}");
        // No data at all still draws axes.
        assert!(requests(&MetricsSeries::default()).contains("<svg"));
    }
}
