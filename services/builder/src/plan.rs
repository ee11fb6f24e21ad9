//! Build planning: what a source directory says about its build before any buildpack runs:
//! its Procfile, its app.json health check, and the buildpacks its `.buildpacks` file chooses.
//! Pure over the directory's contents (it only reads files). Which built-in buildpack applies
//! is not decided here: each buildpack's own `bin/detect` decides, run in a build container
//! (see `driver.sh`).

use paas_domain::{HealthCheck, HealthCheckError, Procfile, ProcfileError};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildPlan {
    /// The app's Procfile, when it has one.
    pub procfile: Option<Procfile>,
    /// The web health check its app.json declares, when it declares one.
    pub healthcheck: Option<HealthCheck>,
    /// The buildpacks (git URL with optional `#ref`, or absolute path) its `.buildpacks`
    /// file lists, in order, when it has one.
    pub buildpacks_file: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Procfile(#[from] ProcfileError),
    #[error(transparent)]
    AppJson(#[from] HealthCheckError),
    #[error(".buildpacks is empty: list one buildpack (git URL with optional #ref, or absolute path) per line, or remove the file")]
    EmptyBuildpacksFile,
    #[error("cannot read {file}: {reason}")]
    Unreadable { file: String, reason: String },
}

/// Reads what the app in `dir` says about its build.
pub fn plan(dir: &Path) -> Result<BuildPlan, PlanError> {
    Ok(BuildPlan {
        procfile: read(dir, "Procfile")?
            .map(|text| Procfile::parse(&text))
            .transpose()?,
        healthcheck: match read(dir, "app.json")? {
            Some(text) => HealthCheck::from_app_json(&text)?,
            None => None,
        },
        buildpacks_file: buildpacks_file(dir)?,
    })
}

/// The app's `.buildpacks` file alone (what detection needs), when it has one.
pub fn buildpacks_file(dir: &Path) -> Result<Option<Vec<String>>, PlanError> {
    read(dir, ".buildpacks")?
        .map(|text| parse_buildpacks_file(&text))
        .transpose()
}

/// The lines of a `.buildpacks` file: one buildpack per line; blank lines and `#` comments
/// are skipped.
pub fn parse_buildpacks_file(text: &str) -> Result<Vec<String>, PlanError> {
    let list: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    if list.is_empty() {
        return Err(PlanError::EmptyBuildpacksFile);
    }
    Ok(list)
}

fn read(dir: &Path, name: &str) -> Result<Option<String>, PlanError> {
    let is_file = std::fs::symlink_metadata(dir.join(name)).is_ok_and(|m| m.is_file());
    if !is_file {
        return Ok(None);
    }
    std::fs::read_to_string(dir.join(name))
        .map(Some)
        .map_err(|e| PlanError::Unreadable {
            file: name.into(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buildpacks_file_lines() {
        assert_eq!(
            parse_buildpacks_file("# first\nhttps://x/a.git#v1\n\n/srv/bp\n").unwrap(),
            vec!["https://x/a.git#v1".to_string(), "/srv/bp".to_string()]
        );
        assert_eq!(
            parse_buildpacks_file("\n# nothing\n"),
            Err(PlanError::EmptyBuildpacksFile)
        );
    }
}
