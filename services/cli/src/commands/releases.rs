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

fn rows(releases: &[ReleaseInfo]) -> Vec<Vec<String>> {
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
                r.created_at.clone(),
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
        let rows = rows(&[r("v2", "failed", false), r("v1", "succeeded", true)]);
        assert_eq!(rows[0][1], "Deploy abc (failed)");
        assert_eq!(rows[1][0], "v1 *");
        assert_eq!(previous_version("v5"), "v4");
    }
}
