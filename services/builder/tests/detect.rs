//! Build planning across the sample apps in `tests/apps/`: one test per app, a check that every
//! sample app has a test, and a check that each built-in `bin/detect` script agrees with the
//! planner.

use paas_builder::{plan, PlanError, BUILTIN_ORDER};
use std::path::PathBuf;
use std::process::Command;

fn apps_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/apps")
}

/// What the planner should say for each sample app: the buildpack name, or the error kind.
const EXPECTED: &[(&str, &str)] = &[
    ("python-flask", "Python"),
    ("python-stdlib", "Python"),
    ("procfile-only", "Procfile"),
    ("no-match", "error:no-match"),
    ("broken-procfile", "error:procfile"),
    ("python-failing", "Python"),
    ("python-hanging-build", "Python"),
    ("python-echo", "Python"),
    ("python-env", "Python"),
    ("python-crashing-worker", "Python"),
    ("python-threaded", "Python"),
];

fn planned(app: &str) -> String {
    match plan(&apps_dir().join(app)) {
        Ok(p) => p.buildpack.name().to_string(),
        Err(PlanError::NoMatch) => "error:no-match".to_string(),
        Err(PlanError::Procfile(_)) => "error:procfile".to_string(),
        Err(e) => format!("error:{e}"),
    }
}

fn expected(app: &str) -> &'static str {
    EXPECTED
        .iter()
        .find(|(name, _)| *name == app)
        .map(|(_, e)| *e)
        .unwrap_or_else(|| panic!("no expectation for sample app {app}"))
}

macro_rules! detect_case {
    ($test:ident, $app:literal) => {
        #[test]
        fn $test() {
            assert_eq!(planned($app), expected($app), "sample app {}", $app);
        }
    };
}

detect_case!(detects_python_flask, "python-flask");
detect_case!(detects_python_stdlib, "python-stdlib");
detect_case!(detects_procfile_only, "procfile-only");
detect_case!(detects_no_match, "no-match");
detect_case!(detects_broken_procfile, "broken-procfile");
detect_case!(detects_python_failing, "python-failing");
detect_case!(detects_python_hanging_build, "python-hanging-build");
detect_case!(detects_python_echo, "python-echo");
detect_case!(detects_python_env, "python-env");
detect_case!(detects_python_crashing_worker, "python-crashing-worker");
detect_case!(detects_python_threaded, "python-threaded");

#[test]
fn every_sample_app_has_an_expectation() {
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(apps_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if !EXPECTED.iter().any(|(app, _)| *app == name) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "sample apps without a detection test: {missing:?}"
    );
}

#[test]
fn broken_procfile_names_the_line() {
    let err = plan(&apps_dir().join("broken-procfile")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Procfile line 1: merge conflict marker found; resolve the conflict and push again"
    );
}

#[test]
fn no_match_lists_what_was_looked_for() {
    let err = plan(&apps_dir().join("no-match")).unwrap_err().to_string();
    assert!(
        err.contains("requirements.txt") && err.contains("Procfile"),
        "{err}"
    );
}

/// The first built-in buildpack whose `bin/detect` exits 0, as the classic API would pick it.
fn detect_with_scripts(app: &str) -> Option<String> {
    let buildpacks = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../buildpacks");
    for bp in BUILTIN_ORDER {
        let output = Command::new(buildpacks.join(bp.dir()).join("bin/detect"))
            .arg(apps_dir().join(app))
            .output()
            .unwrap();
        if output.status.success() {
            return Some(String::from_utf8_lossy(&output.stdout).trim().to_string());
        }
    }
    None
}

#[test]
fn bin_detect_scripts_agree_with_the_planner() {
    for (app, _) in EXPECTED {
        let by_planner = plan(&apps_dir().join(app))
            .ok()
            .map(|p| p.buildpack.name().to_string());
        let by_scripts = detect_with_scripts(app);
        match (&by_planner, &by_scripts) {
            // A broken Procfile is refused by the planner before any script runs.
            (None, Some(_)) if planned(app) == "error:procfile" => {}
            _ => assert_eq!(by_planner, by_scripts, "sample app {app}"),
        }
    }
}
