//! `releases`, `releases:info` and `rollback`.

use super::{client, resolve_app};
use crate::cli::{ReleaseArg, ReleasesArgs, RollbackArgs};
use crate::{output, progress, table};
use anyhow::{anyhow, Result};
use paas_domain::api::{ReleaseInfo, RollbackRequest};
use paas_domain::ReleaseVersion;

pub fn list(args: ReleasesArgs) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let mut releases: Vec<ReleaseInfo> = client()?.get(&["api", "apps", &app, "releases"])?;
    if let Some(n) = args.num {
        releases.truncate(n);
    }
    if args.json {
        return output::json(&releases);
    }
    output::line(table::header(&format!("{app} Releases")))?;
    if releases.is_empty() {
        return Ok(());
    }
    output::block(&table::columns(&rows(&releases)))
}

/// How long ago `created_at` (RFC 3339) was, as Heroku prints it: `~ 5m ago`.
fn age(created_at: &str, now: jiff::Timestamp) -> Option<String> {
    let then: jiff::Timestamp = created_at.parse().ok()?;
    let secs = now.as_second().saturating_sub(then.as_second()).max(0);
    Some(match secs {
        0..=59 => format!("~ {secs}s ago"),
        60..=3599 => format!("~ {}m ago", secs / 60),
        3600..=86_399 => format!("~ {}h ago", secs / 3600),
        _ => format!("~ {}d ago", secs / 86_400),
    })
}

fn rows(releases: &[ReleaseInfo]) -> Vec<Vec<String>> {
    rows_at(releases, jiff::Timestamp::now())
}

fn rows_at(releases: &[ReleaseInfo], now: jiff::Timestamp) -> Vec<Vec<String>> {
    releases
        .iter()
        .map(|r| {
            let mut description = r.description.clone();
            if r.status != "succeeded" {
                description = format!("{description} ({})", r.status);
            }
            vec![
                format!("{}{}", r.version, if r.current { " *" } else { "" }),
                description,
                r.user.clone().unwrap_or_default(),
                match age(&r.created_at, now) {
                    Some(age) => format!("{} ({age})", r.created_at),
                    None => r.created_at.clone(),
                },
            ]
        })
        .collect()
}

pub fn info(args: ReleaseArg) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let version: ReleaseVersion = args.version.parse().map_err(|e| anyhow!("{e}"))?;
    let release: ReleaseInfo =
        client()?.get(&["api", "apps", &app, "releases", &version.to_string()])?;
    if args.json {
        return output::json(&release);
    }
    output::line(table::header(&format!("Release {}", release.version)))?;
    output::block(&table::key_values(&[
        ("Description", release.description.clone()),
        ("By", release.user.clone().unwrap_or_default()),
        ("When", release.created_at.clone()),
        ("Status", release.status.clone()),
        (
            "Current",
            if release.current { "yes" } else { "no" }.to_string(),
        ),
    ]))
}

pub fn rollback(args: RollbackArgs) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let target = match &args.version {
        Some(raw) => Some(
            raw.parse::<ReleaseVersion>()
                .map_err(|e| anyhow!("{e}"))?
                .to_string(),
        ),
        None => None,
    };
    let client = client()?;
    let label = match &target {
        Some(v) => format!("Rolling back {app} to {v}"),
        None => format!("Rolling back {app}"),
    };
    let progress = progress::start(label);
    let release: ReleaseInfo = client.post(
        &["api", "apps", &app, "releases"],
        &RollbackRequest { release: target },
    )?;
    progress.done_with(&format!("done, {}", release.version));
    eprintln!(
        "       {}. To undo, run: paas rollback {}",
        release.description,
        previous_version(&release.version)
    );
    Ok(())
}

/// The version before `version` (`v5` -> `v4`), the release that was current before.
fn previous_version(version: &str) -> String {
    match version.parse::<ReleaseVersion>() {
        Ok(v) if v.0 > 1 => ReleaseVersion(v.0 - 1).to_string(),
        _ => version.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_mark_current_and_unfinished() {
        let r = |v: &str, status: &str, current: bool| ReleaseInfo {
            version: v.to_string(),
            description: "Deploy abc".to_string(),
            user: Some("me@x.io".to_string()),
            created_at: "2026-11-25T10:00:00Z".to_string(),
            status: status.to_string(),
            current,
        };
        let now: jiff::Timestamp = "2026-11-25T12:30:00Z".parse().unwrap();
        let rows = rows_at(&[r("v2", "failed", false), r("v1", "succeeded", true)], now);
        assert_eq!(rows[0][1], "Deploy abc (failed)");
        assert_eq!(rows[0][3], "2026-11-25T10:00:00Z (~ 2h ago)");
        assert_eq!(rows[1][0], "v1 *");
        assert_eq!(previous_version("v5"), "v4");
    }

    #[test]
    fn ages_read_as_heroku_prints_them() {
        let now: jiff::Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
        let ago = |t: &str| age(t, now);
        assert_eq!(ago("2026-11-25T11:59:30Z").as_deref(), Some("~ 30s ago"));
        assert_eq!(ago("2026-11-25T11:55:00Z").as_deref(), Some("~ 5m ago"));
        assert_eq!(ago("2026-11-22T12:00:00Z").as_deref(), Some("~ 3d ago"));
        assert_eq!(ago("2026-11-25T12:00:05Z").as_deref(), Some("~ 0s ago"));
        assert_eq!(ago("yesterday"), None);
    }
}
