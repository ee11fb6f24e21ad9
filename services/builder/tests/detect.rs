//! Detection and planning across the sample apps in `tests/apps/`: one generated test per
//! folder (build.rs), each checking the folder's `paas-expect.json`: the buildpack whose own
//! `bin/detect` wins (run by the build driver's `detect` mode, as in a build container), the
//! process types (Procfile over the winner's `bin/release` defaults), or the error.
//!
//! Expectation file: `{"buildpack": "Python", "process_types": ["web"], "path": "/", "body":
//! "...", "output": ["remote: -----> ..."]}` (`output`: texts the push must print, each within a line; checked by
//! the e2e test), or `{"error": "no-match" | "procfile" | "compile" | "timeout" | "buildpacks-empty" | "dockerfile"
//! | "not-a-buildpack", "message": "..."}`; `config` (config vars set before the push) and
//! `files` (files written into the app before its commit) may name test buildpacks as
//! `{path:NAME}` (tests/buildpacks/NAME) or `{git:NAME}` (a git repository made from it).

use paas_builder::{
    builtin_available, parse_buildpacks_file, parse_default_process_types, plan, split_ref,
    PlanError, BUILTIN_ORDER,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn apps_dir() -> PathBuf {
    root().join("tests/apps")
}

fn expectation(app: &str) -> serde_json::Value {
    let path = apps_dir().join(app).join("paas-expect.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (every sample app has one)", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn text<'a>(expect: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    expect.get(key).and_then(|v| v.as_str())
}

/// `{path:NAME}` and `{git:NAME}` -> the test buildpack's folder (detection runs its files).
fn test_buildpack_dir(spec: &str) -> PathBuf {
    let (url, _) = split_ref(spec);
    let name = url
        .strip_prefix("{path:")
        .or_else(|| url.strip_prefix("{git:"))
        .and_then(|rest| rest.strip_suffix('}'))
        .unwrap_or_else(|| panic!("sample apps name test buildpacks as {{path:NAME}}: {spec}"));
    root().join("tests/buildpacks").join(name)
}

struct DriverRun {
    code: i32,
    /// folder, name, reason
    detected: Vec<String>,
    error: String,
}

/// The build driver's `detect` mode over `app_dir` with these buildpack folders, as the
/// build container runs it (here as the current, unprivileged user).
fn driver_detect(app_dir: &Path, buildpacks: &[PathBuf]) -> DriverRun {
    let out = tempfile::tempdir().unwrap();
    let status = Command::new("bash")
        .arg(root().join("services/builder/src/driver.sh"))
        .arg("detect")
        .args(buildpacks)
        .env("PAAS_APP_DIR", app_dir)
        .env("PAAS_OUT", out.path())
        .env("PAAS_DRIVER_NO_DROP", "1")
        .status()
        .unwrap();
    let read = |name: &str| std::fs::read_to_string(out.path().join(name)).unwrap_or_default();
    DriverRun {
        code: status.code().unwrap_or(-1),
        detected: read("detected").lines().map(str::to_string).collect(),
        error: read("error").trim_end().to_string(),
    }
}

fn builtin_dirs() -> Vec<PathBuf> {
    builtin_available()
        .into_iter()
        .map(|name| root().join("buildpacks").join(name))
        .collect()
}

/// The default process types a buildpack's `bin/release` declares for the app.
fn default_types(buildpack: &Path, app_dir: &Path) -> BTreeSet<String> {
    let release = buildpack.join("bin/release");
    if !release.exists() {
        return BTreeSet::new();
    }
    let output = Command::new(&release).arg(app_dir).output().unwrap();
    assert!(output.status.success(), "{} failed", release.display());
    parse_default_process_types(&String::from_utf8_lossy(&output.stdout))
        .unwrap()
        .into_keys()
        .collect()
}

fn check_sample(app: &str) {
    let dir = apps_dir().join(app);
    let expect = expectation(app);
    let error = text(&expect, "error");
    let message = text(&expect, "message").unwrap_or_default();
    let plan = match (plan(&dir), error) {
        (Err(e @ PlanError::Procfile(_)), Some("procfile"))
        | (Err(e @ PlanError::EmptyBuildpacksFile), Some("buildpacks-empty")) => {
            assert!(e.to_string().contains(message), "{app}: {e}");
            return;
        }
        (Err(e), _) => panic!("{app}: unexpected plan error {e}"),
        (Ok(plan), _) => plan,
    };
    // The buildpacks the app chooses: BUILDPACK_URL, else a .buildpacks file (its own, or one
    // the test writes), else detection over the built-ins.
    let chosen: Vec<String> =
        if let Some(url) = expect.get("config").and_then(|c| text(c, "BUILDPACK_URL")) {
            vec![url.to_string()]
        } else if let Some(file) = expect.get("files").and_then(|f| text(f, ".buildpacks")) {
            parse_buildpacks_file(file).unwrap()
        } else {
            plan.buildpacks_file.clone().unwrap_or_default()
        };
    let (name, winner) = if chosen.is_empty() {
        let run = driver_detect(&dir, &builtin_dirs());
        if error == Some("no-match") {
            assert_eq!(run.code, 100, "{app}: detection matched {:?}", run.detected);
            assert!(run.error.contains(message), "{app}: {}", run.error);
            return;
        }
        assert_eq!(run.code, 0, "{app}: {}", run.error);
        (run.detected[1].clone(), PathBuf::from(&run.detected[0]))
    } else {
        let dirs: Vec<PathBuf> = chosen.iter().map(|s| test_buildpack_dir(s)).collect();
        if error == Some("not-a-buildpack") {
            assert!(!dirs[0].join("bin/compile").exists(), "{app}");
            return;
        }
        // Each chosen buildpack's bin/detect names it; the last one's name is reported.
        let last = dirs.last().unwrap().clone();
        let run = driver_detect(&dir, std::slice::from_ref(&last));
        assert_eq!(run.code, 0, "{app}: {}", run.error);
        (run.detected[1].clone(), last)
    };
    assert_eq!(Some(name.as_str()), text(&expect, "buildpack"), "{app}");
    if let Some(types) = expect.get("process_types").and_then(|t| t.as_array()) {
        let mut found = default_types(&winner, &dir);
        if let Some(procfile) = &plan.procfile {
            found.extend(procfile.processes.keys().cloned());
        }
        found.remove("release");
        if found.is_empty() {
            // bin/release decides from what bin/compile built (e.g. Go's binaries): the e2e
            // deploy of this sample checks the types after a real build.
            return;
        }
        let expected: BTreeSet<String> = types
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect();
        assert_eq!(found, expected, "{app}: process types");
    }
}

include!(concat!(env!("OUT_DIR"), "/sample_apps.rs"));

#[test]
fn every_sample_folder_has_a_generated_test() {
    let mut folders: Vec<String> = std::fs::read_dir(apps_dir())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    folders.sort();
    assert_eq!(
        folders, GENERATED_SAMPLES,
        "build.rs generates one test per folder of tests/apps; rebuild"
    );
}

#[test]
fn builtin_order_names_folders_and_skips_missing_ones() {
    let available = builtin_available();
    assert!(available.contains(&"python") && available.contains(&"procfile"));
    // Available ones keep the order, and a Procfile alone comes last.
    let positions: Vec<usize> = available
        .iter()
        .map(|a| BUILTIN_ORDER.iter().position(|o| o == a).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(BUILTIN_ORDER.last(), Some(&"procfile"));
    for name in BUILTIN_ORDER {
        let exists = root()
            .join("buildpacks")
            .join(name)
            .join("bin/detect")
            .exists();
        assert_eq!(exists, available.contains(name), "{name}");
    }
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
fn no_match_is_one_line_listing_what_each_buildpack_looked_for() {
    let run = driver_detect(&apps_dir().join("no-match"), &builtin_dirs());
    assert_eq!(run.code, 100);
    assert!(!run.error.contains('\n'), "{}", run.error);
    assert!(
        run.error.contains("requirements.txt") && run.error.contains("a Procfile"),
        "{}",
        run.error
    );
}

#[test]
fn the_first_buildpack_in_order_that_detects_wins_and_says_why() {
    // python-flask has both requirements.txt and a Procfile: Python comes first.
    let run = driver_detect(&apps_dir().join("python-flask"), &builtin_dirs());
    assert_eq!(run.code, 0);
    assert_eq!(run.detected[1..], ["Python", "found requirements.txt"]);
    // Reversed, the Procfile buildpack wins.
    let mut reversed = builtin_dirs();
    reversed.reverse();
    let run = driver_detect(&apps_dir().join("python-flask"), &reversed);
    assert_eq!(run.detected[1], "Procfile");
}

/// Runs the driver's `build-explicit` mode on the host over temporary folders, as the build
/// container does: (exit code, the scratch root holding app/, cache/, env/, out/).
fn driver_build_explicit(
    setup: impl FnOnce(&Path),
    buildpacks: &[(&str, &str)],
) -> (i32, tempfile::TempDir) {
    let root_dir = tempfile::tempdir().unwrap();
    let base = root_dir.path();
    for dir in ["app", "cache", "env", "out"] {
        std::fs::create_dir_all(base.join(dir)).unwrap();
    }
    setup(base);
    let mut command = Command::new("bash");
    command
        .arg(root().join("services/builder/src/driver.sh"))
        .arg("build-explicit");
    for (dir, label) in buildpacks {
        command.arg(base.join(dir)).arg(label);
    }
    let status = command
        .env("PAAS_APP_DIR", base.join("app"))
        .env("PAAS_CACHE_DIR", base.join("cache"))
        .env("PAAS_ENV_DIR", base.join("env"))
        .env("PAAS_OUT", base.join("out"))
        .env("PAAS_DRIVER_NO_DROP", "1")
        .status()
        .unwrap();
    (status.code().unwrap_or(-1), root_dir)
}

fn copy_buildpack(name: &str, to: &Path) {
    let from = root().join("tests/buildpacks").join(name);
    let status = Command::new("cp")
        .arg("-a")
        .arg(&from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

fn script(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn explicit_buildpacks_get_env_dir_and_cache_share_exports_and_the_last_release_wins() {
    let (code, dir) = driver_build_explicit(
        |base| {
            copy_buildpack("hello", &base.join("bp0"));
            copy_buildpack("hello", &base.join("bp1"));
            // The last buildpack's bin/release wins.
            script(
                &base.join("bp1/bin/release"),
                "#!/bin/bash\necho '---'\necho 'default_process_types:'\necho '  web: last wins'\n",
            );
            std::fs::write(base.join("env/BUILD_GREETING"), "hi from ENV_DIR").unwrap();
            std::fs::write(base.join("app/.slugignore"), "secret.txt\n/docs\n*.psd\n").unwrap();
            for file in [
                "secret.txt",
                "keep.txt",
                "docs/a.md",
                "art/x.psd",
                "art/y.png",
            ] {
                let path = base.join("app").join(file);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, "x").unwrap();
            }
        },
        &[
            ("bp0", "https://example.com/hello.git#v1"),
            ("bp1", "/srv/hello"),
        ],
    );
    let base = dir.path();
    let read = |p: &str| std::fs::read_to_string(base.join(p)).unwrap_or_default();
    assert_eq!(code, 0, "{}", read("out/error"));
    let info = read("app/build-info.txt");
    assert!(info.contains("BUILD_GREETING=hi from ENV_DIR"), "{info}");
    assert!(
        info.contains("exported by a previous buildpack: no")
            && info.contains("exported by a previous buildpack: yes"),
        "{info}"
    );
    assert_eq!(read("cache/hello-builds").trim(), "2");
    assert_eq!(
        parse_default_process_types(&read("out/release.yml")).unwrap()["web"],
        "last wins"
    );
    assert_eq!(read("out/detected").lines().nth(1), Some("Hello"));
    for (file, kept) in [
        ("secret.txt", false),
        ("docs", false),
        ("art/x.psd", false),
        ("keep.txt", true),
        ("art/y.png", true),
    ] {
        assert_eq!(base.join("app").join(file).exists(), kept, "{file}");
    }
}

#[test]
fn an_explicit_buildpack_that_fails_says_so_in_one_line() {
    let (code, dir) = driver_build_explicit(
        |base| {
            script(&base.join("bad/bin/detect"), "#!/bin/bash\necho Bad\n");
            script(
                &base.join("bad/bin/compile"),
                "#!/bin/bash\necho 'something broke'\nexit 3\n",
            );
        },
        &[("bad", "/srv/bad")],
    );
    let error = std::fs::read_to_string(dir.path().join("out/error")).unwrap();
    assert_eq!(
        (code, error.as_str()),
        (
            100,
            "failed to compile Bad app (bin/compile exited with 3)\n"
        )
    );
    let (code, dir) = driver_build_explicit(
        |base| {
            script(&base.join("picky/bin/detect"), "#!/bin/bash\nexit 1\n");
            script(&base.join("picky/bin/compile"), "#!/bin/bash\n");
        },
        &[("picky", "https://example.com/picky.git")],
    );
    let error = std::fs::read_to_string(dir.path().join("out/error")).unwrap();
    assert_eq!(code, 100);
    assert_eq!(
        error,
        "App not compatible with buildpack https://example.com/picky.git (its bin/detect found nothing to build)\n"
    );
}
