//! `ps:resize`: shows the memory and CPU limits of an app's process types, or changes some of
//! them (`web=1024`, `worker=512:0.5`); the resized processes are restarted with the new limits.

use super::{client, resolve_app};
use crate::cli::ResizeArgs;
use crate::{output, progress, table};
use anyhow::{anyhow, Result};
use paas_domain::api::ProcessSizeInfo;
use paas_domain::process_size::parse_resize;

pub fn resize(args: ResizeArgs) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let client = client()?;
    let current: Vec<ProcessSizeInfo> = client.get(&["api", "apps", &app, "sizes"])?;
    if args.changes.is_empty() {
        return show(&app, &current, args.json);
    }
    let default_cpu = |process_type: &str| {
        current
            .iter()
            .find(|s| s.process_type == process_type)
            .map(|s| s.cpu_millis)
    };
    let mut updates = Vec::new();
    for change in &args.changes {
        let process_type = change.split_once('=').map(|(t, _)| t).unwrap_or(change);
        let cpu = default_cpu(process_type).unwrap_or(1000);
        let (process_type, size) = parse_resize(change, cpu).map_err(|e| anyhow!("{e}"))?;
        updates.push(ProcessSizeInfo {
            process_type,
            memory_mb: size.memory_mb,
            cpu_millis: size.cpu_millis,
        });
    }
    let described: Vec<String> = updates.iter().map(describe).collect();
    let progress = progress::start(format!(
        "Resizing {} and restarting {app}",
        described.join(", ")
    ));
    let sizes: Vec<ProcessSizeInfo> = client.patch(&["api", "apps", &app, "sizes"], &updates)?;
    progress.done();
    show(&app, &sizes, args.json)
}

fn describe(size: &ProcessSizeInfo) -> String {
    format!(
        "{} to {} MiB, {} CPU",
        size.process_type,
        size.memory_mb,
        cpus(size.cpu_millis)
    )
}

fn cpus(millis: u32) -> String {
    let text = format!("{:.3}", f64::from(millis) / 1000.0);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn show(app: &str, sizes: &[ProcessSizeInfo], json: bool) -> Result<()> {
    if json {
        return output::json(&sizes);
    }
    output::line(table::header(&format!("{app} Process Sizes")))?;
    let rows: Vec<(&str, String)> = sizes
        .iter()
        .map(|s| {
            (
                s.process_type.as_str(),
                format!("{} MiB, {} CPU", s.memory_mb, cpus(s.cpu_millis)),
            )
        })
        .collect();
    output::block(&table::key_values(&rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpus_print_short() {
        assert_eq!(cpus(1000), "1");
        assert_eq!(cpus(500), "0.5");
        assert_eq!(cpus(1250), "1.25");
        assert_eq!(cpus(10), "0.01");
    }
}
