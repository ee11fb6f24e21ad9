//! Build planning: which built-in buildpack applies to a source directory and why, and the
//! app's Procfile. Pure over the directory's contents (it only reads files), so it is tested
//! across the sample apps in `tests/apps/`. The rules mirror each buildpack's `bin/detect`.

use paas_domain::{HealthCheck, HealthCheckError, Procfile, ProcfileError};
use std::path::Path;

/// The built-in buildpacks, in detection order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Buildpack {
    Python,
    Procfile,
}

impl Buildpack {
    /// The name its `bin/detect` prints.
    pub fn name(self) -> &'static str {
        match self {
            Self::Python => "Python",
            Self::Procfile => "Procfile",
        }
    }

    /// Its folder under `buildpacks/`.
    pub fn dir(self) -> &'static str {
        match self {
            Self::Python => "python",
            Self::Procfile => "procfile",
        }
    }
}

/// Files that make a directory a Python app, strongest first.
const PYTHON_MANIFESTS: &[&str] = &[
    "requirements.txt",
    "setup.py",
    "pyproject.toml",
    "Pipfile",
    ".python-version",
    "runtime.txt",
    "uv.lock",
    "poetry.lock",
];
/// Weaker hints: an entry-point script at the root.
const PYTHON_SCRIPTS: &[&str] = &["app.py", "main.py", "manage.py"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildPlan {
    pub buildpack: Buildpack,
    /// Why it was chosen, e.g. `found requirements.txt`.
    pub reason: String,
    /// The app's Procfile, when it has one.
    pub procfile: Option<Procfile>,
    /// The web health check its app.json declares, when it declares one.
    pub healthcheck: Option<HealthCheck>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("no buildpack matches this app: looked for a Python app (requirements.txt, setup.py, pyproject.toml, Pipfile, .python-version, runtime.txt, uv.lock, poetry.lock, app.py, main.py, manage.py) or a Procfile")]
    NoMatch,
    #[error(transparent)]
    Procfile(#[from] ProcfileError),
    #[error(transparent)]
    AppJson(#[from] HealthCheckError),
    #[error("cannot read {file}: {reason}")]
    Unreadable { file: String, reason: String },
}

/// Decides how to build the app in `dir`.
pub fn plan(dir: &Path) -> Result<BuildPlan, PlanError> {
    let procfile = read_procfile(dir)?;
    let healthcheck = read_healthcheck(dir)?;
    let found = |names: &[&'static str]| names.iter().copied().find(|n| is_file(dir, n));
    let (buildpack, reason) = if let Some(file) = found(PYTHON_MANIFESTS) {
        (Buildpack::Python, format!("found {file}"))
    } else if let Some(file) = found(PYTHON_SCRIPTS) {
        (Buildpack::Python, format!("found {file}"))
    } else if procfile.is_some() {
        (Buildpack::Procfile, "found a Procfile".to_string())
    } else {
        return Err(PlanError::NoMatch);
    };
    Ok(BuildPlan {
        buildpack,
        reason,
        procfile,
        healthcheck,
    })
}

fn read_healthcheck(dir: &Path) -> Result<Option<HealthCheck>, PlanError> {
    if !is_file(dir, "app.json") {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(dir.join("app.json")).map_err(|e| PlanError::Unreadable {
            file: "app.json".into(),
            reason: e.to_string(),
        })?;
    Ok(HealthCheck::from_app_json(&text)?)
}

fn is_file(dir: &Path, name: &str) -> bool {
    std::fs::symlink_metadata(dir.join(name)).is_ok_and(|m| m.is_file())
}

fn read_procfile(dir: &Path) -> Result<Option<Procfile>, PlanError> {
    if !is_file(dir, "Procfile") {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(dir.join("Procfile")).map_err(|e| PlanError::Unreadable {
            file: "Procfile".into(),
            reason: e.to_string(),
        })?;
    Ok(Some(Procfile::parse(&text)?))
}
