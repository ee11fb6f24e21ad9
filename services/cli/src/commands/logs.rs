//! `logs` (`-n`, `-t`, `-p`, `-s`), `builds` and `builds:output`: the app's log and its build
//! history. Lines are printed as the server sends them, so `logs --tail` and the output of a
//! running build follow live until interrupted (or the build ends).

use super::{client, resolve_app};
use crate::cli::{BuildOutputArgs, ConfigArgs, LogsArgs};
use crate::{output, table};
use anyhow::{bail, Result};
use paas_domain::builds::BuildInfo;
use std::io::{Read, Write};

const SOURCES: [&str; 3] = ["app", "router", "paas"];

pub fn logs(args: LogsArgs) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    if let Some(source) = &args.source {
        if !SOURCES.contains(&source.as_str()) {
            bail!("Unknown source {source:?}: use app, router or paas.");
        }
    }
    let mut query = vec![("num", args.num.to_string())];
    if args.tail {
        query.push(("tail", "true".to_string()));
    }
    if let Some(process) = &args.process {
        query.push(("process", process.clone()));
    }
    if let Some(source) = &args.source {
        query.push(("source", source.clone()));
    }
    let response = client()?.get_streaming(&["api", "apps", &app, "logs"], &query)?;
    copy_to_stdout(response)
}

/// Writes the body to stdout as it arrives (flushed per chunk).
fn copy_to_stdout(mut body: impl Read) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => bail!("The connection to paas broke: {e}"),
        };
        if stdout
            .write_all(&buf[..n])
            .and_then(|()| stdout.flush())
            .is_err()
        {
            // stdout closed (e.g. piped into head): stop quietly.
            return Ok(());
        }
    }
}

fn duration(secs: f64) -> String {
    let secs = secs.round() as u64;
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

fn short(text: &str, n: usize) -> &str {
    text.get(..n).unwrap_or(text)
}

pub fn builds(args: ConfigArgs) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let builds: Vec<BuildInfo> = client()?.get(&["api", "apps", &app, "builds"])?;
    if args.json {
        return output::json(&builds);
    }
    output::line(table::header(&format!("{app} Builds")))?;
    if builds.is_empty() {
        return Ok(());
    }
    output::block(&table::columns(&rows(&builds)))
}

fn rows(builds: &[BuildInfo]) -> Vec<Vec<String>> {
    builds
        .iter()
        .map(|b| {
            vec![
                short(&b.id, 8).to_string(),
                b.status.clone(),
                short(&b.commit, 7).to_string(),
                b.created_at.clone(),
                duration(b.duration_secs),
                b.release_version
                    .map(|v| format!("v{v}"))
                    .unwrap_or_default(),
            ]
        })
        .collect()
}

pub fn build_output(args: BuildOutputArgs) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let id = args.id.unwrap_or_else(|| "latest".to_string());
    let response = client()?.get_streaming(&["api", "apps", &app, "builds", &id, "output"], &[])?;
    copy_to_stdout(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_show_id_status_commit_duration_and_release() {
        let build = BuildInfo {
            id: "0a1b2c3d-0000-0000-0000-000000000000".into(),
            status: "succeeded".into(),
            commit: "c0ffee1234567".into(),
            created_at: "2026-11-26T00:00:00Z".into(),
            duration_secs: 83.4,
            release_version: Some(4),
        };
        assert_eq!(
            rows(&[build]),
            vec![vec![
                "0a1b2c3d".to_string(),
                "succeeded".to_string(),
                "c0ffee1".to_string(),
                "2026-11-26T00:00:00Z".to_string(),
                "1m 23s".to_string(),
                "v4".to_string()
            ]]
        );
        assert_eq!(duration(5.2), "5s");
        assert_eq!(duration(7300.0), "2h 01m");
    }
}
