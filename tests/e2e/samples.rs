//! Every sample app in `tests/apps/` deployed with `git push` through a real paasd, checked
//! against its `paas-expect.json` (see services/builder/tests/detect.rs for the format): the
//! detected buildpack and the process types in the push output, and the HTTP answer through
//! the router; or the push rejected with the expected message. One generated test per folder
//! (build.rs); under `cargo test` they share one paasd (started by the first, stopped when the
//! last one running ends) and run in parallel on the test threads; under nextest (one process
//! per test, as `scripts/test` runs them) each starts its own.

use paas_e2e::{app_name, workspace, Paasd, PaasdOptions, User, ADMIN_EMAIL, ADMIN_PASSWORD};
use std::path::Path;
use std::sync::{Arc, Mutex, Weak};

static SHARED: Mutex<Weak<Paasd>> = Mutex::new(Weak::new());

fn shared_paasd() -> Arc<Paasd> {
    let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(paasd) = shared.upgrade() {
        return paasd;
    }
    let paasd = Arc::new(Paasd::start());
    *shared = Arc::downgrade(&paasd);
    paasd
}

/// `{path:NAME}` -> tests/buildpacks/NAME; `{git:NAME}` -> the file:// URL of a git
/// repository (branch main) made from that folder in the user's home.
fn fill_in(text: &str, user: &User) -> String {
    let mut out = text.to_string();
    while let Some(start) = out.find("{path:").or_else(|| out.find("{git:")) {
        let end = start + out[start..].find('}').expect("closing brace");
        let (kind, name) = out[start + 1..end].split_once(':').unwrap();
        let folder = workspace().join("tests/buildpacks").join(name);
        let replacement = if kind == "path" {
            folder.display().to_string()
        } else {
            let repo = user.home.path().join(format!("buildpack-{name}"));
            if !repo.exists() {
                copy_dir(&folder, &repo);
                user.git(&repo, &["init", "-q", "-b", "main"]).ok();
                user.commit_all(&repo, "buildpack");
            }
            format!("file://{}", repo.display())
        };
        out.replace_range(start..=end, &replacement);
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
            let mode = entry.metadata().unwrap().permissions().mode();
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }
}

fn deploy_sample(sample: &str) {
    let path = workspace()
        .join("tests/apps")
        .join(sample)
        .join("paas-expect.json");
    let expect: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("paas-expect.json")).unwrap();
    let text = |key: &str| expect.get(key).and_then(|v| v.as_str());
    if let Some(reason) = text("e2e_skip") {
        eprintln!("{sample}: not deployed here: {reason}");
        return;
    }
    let paasd = shared_paasd();
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let repo = user.sample_repo(sample);
    if let Some(files) = expect.get("files").and_then(|f| f.as_object()) {
        for (name, content) in files {
            std::fs::write(repo.join(name), fill_in(content.as_str().unwrap(), &user)).unwrap();
        }
        user.commit_all(&repo, "files from paas-expect.json");
    }
    let app = app_name("sample");
    user.paas(&repo, &["apps:create", &app]).ok();
    if let Some(config) = expect.get("config").and_then(|c| c.as_object()) {
        let mut args = vec!["config:set".to_string()];
        for (key, value) in config {
            args.push(format!("{key}={}", fill_in(value.as_str().unwrap(), &user)));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        user.paas(&repo, &args).ok();
    }

    let push = user.git(&repo, &["push", "paas", "main"]);
    let output = &push.stderr;
    for line in expect["output"].as_array().into_iter().flatten() {
        let line = line.as_str().expect("output lines are strings");
        assert!(
            output.lines().any(|l| l.contains(line)),
            "{sample}: expected a line with {line:?} in:\n{output}"
        );
    }
    if let Some(error) = text("error") {
        assert!(
            !push.success,
            "{sample}: the push should fail ({error}):\n{output}"
        );
        let message = text("message").unwrap_or_default();
        let rejected: Vec<&str> = output
            .lines()
            .filter(|l| l.starts_with("remote:  !     Push rejected: "))
            .collect();
        assert!(
            rejected.len() == 1 && rejected[0].contains(message),
            "{sample}: expected one rejection line with {message:?} in:\n{output}"
        );
        let (status, _) = paasd.get_app(&app, "/");
        assert_ne!(
            status, 200,
            "{sample}: nothing runs after a rejected first push"
        );
        return;
    }
    assert!(push.success, "{sample}: push failed:\n{output}");
    let buildpack = text("buildpack").expect("buildpack");
    assert!(
        output.contains(&format!("remote: -----> {buildpack} app detected")),
        "{sample}: expected {buildpack} in:\n{output}"
    );
    let declared: Vec<&str> = output
        .lines()
        .filter(|l| l.contains("declares types ->") || l.contains("Default types for buildpack ->"))
        .flat_map(|l| l.split("->").nth(1).unwrap_or_default().split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty() && *t != "(none)")
        .collect();
    for expected in expect["process_types"].as_array().expect("process_types") {
        let expected = expected.as_str().unwrap();
        assert!(
            declared.contains(&expected),
            "{sample}: no {expected} type in:\n{output}"
        );
    }
    if let (Some(path), Some(body)) = (text("path"), text("body")) {
        let (status, answer) = paasd.get_app(&app, path);
        assert!(
            status == 200 && answer.contains(body),
            "{sample}: GET {path} answered {status} {answer:?}, expected {body:?}"
        );
    }
    user.paas(&repo, &["apps:destroy", &app, "--confirm", &app])
        .ok();
}

include!(concat!(env!("OUT_DIR"), "/sample_deploys.rs"));

#[test]
fn paasd_detect_prints_the_winning_name_then_why_or_one_line_listing_what_was_looked_for() {
    let paasd = paas_e2e::binary("paasd");
    let run = |sample: &str| {
        std::process::Command::new(&paasd)
            .args([
                "detect",
                &workspace()
                    .join("tests/apps")
                    .join(sample)
                    .display()
                    .to_string(),
            ])
            .env_remove("PAAS_CONFIG")
            .output()
            .unwrap()
    };
    let flask = run("python-flask");
    assert!(flask.status.success(), "{flask:?}");
    assert_eq!(
        String::from_utf8_lossy(&flask.stdout),
        "Python\nfound requirements.txt\n"
    );
    let dockerfile = run("dockerfile-plain");
    assert_eq!(
        String::from_utf8_lossy(&dockerfile.stdout),
        "Dockerfile\nfound a Dockerfile\n"
    );
    let procfile = run("procfile-only");
    assert_eq!(
        String::from_utf8_lossy(&procfile.stdout),
        "Procfile\nfound a Procfile\n"
    );
    // A .buildpacks file chooses, as in a push: the chosen buildpack's own bin/detect names it.
    let chosen = tempfile::tempdir().unwrap();
    let hello = workspace().join("tests/buildpacks/hello");
    std::fs::write(
        chosen.path().join(".buildpacks"),
        format!("# chosen\n{}\n", hello.display()),
    )
    .unwrap();
    let with_file = run(&chosen.path().display().to_string());
    assert!(with_file.status.success(), "{with_file:?}");
    assert_eq!(
        String::from_utf8_lossy(&with_file.stdout),
        format!("Hello\nchosen: {} (.buildpacks)\n", hello.display())
    );
    let empty = run("empty-buildpacks");
    assert_eq!(empty.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&empty.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with(".buildpacks is empty"), "{stderr}");
    let none = run("no-match");
    assert_eq!(none.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&none.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("no buildpack matches this app; looked for: ")
            && stderr.contains("a Python app (requirements.txt")
            && stderr.contains("a Procfile"),
        "{stderr}"
    );
}

#[test]
fn buildpacks_commands_choose_the_next_pushs_buildpacks_and_detect_the_current_code() {
    let paasd = shared_paasd();
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let repo = user.sample_repo("python-stdlib");
    let app = app_name("bp");
    user.paas(&repo, &["apps:create", &app]).ok();
    user.paas(&repo, &["buildpacks:detect"])
        .fails_with_one_line();
    user.git(&repo, &["push", "paas", "main"]).ok();
    let detect = user.paas(&repo, &["buildpacks:detect"]).ok();
    assert_eq!(detect.stdout, "Python\nfound app.py\n");
    let none = user.paas(&repo, &["buildpacks"]).ok();
    assert!(none.stdout.contains("no buildpacks set"), "{}", none.stdout);

    let hello = workspace()
        .join("tests/buildpacks/hello")
        .display()
        .to_string();
    let set = user.paas(&repo, &["buildpacks:set", &hello]).ok();
    assert!(
        set.stdout.contains(&format!("1. {hello}")),
        "{}",
        set.stdout
    );
    // buildpacks:detect says what the next push uses: the chosen buildpack's own bin/detect.
    let detect = user.paas(&repo, &["buildpacks:detect"]).ok();
    assert_eq!(
        detect.stdout,
        format!("Hello\nchosen: {hello} (paas buildpacks:set)\n")
    );
    let added = user.paas(&repo, &["buildpacks:add", &hello]).ok();
    assert!(
        added.stdout.contains(&format!("2. {hello}")),
        "{}",
        added.stdout
    );
    user.paas(&repo, &["buildpacks:set", "relative/path"])
        .fails_with_one_line();
    user.git(&repo, &["commit", "-q", "--allow-empty", "-m", "again"])
        .ok();
    let push = user.git(&repo, &["push", "paas", "main"]).ok();
    assert!(
        push.stderr.contains("remote: -----> Hello app detected"),
        "{}",
        push.stderr
    );
    let (status, body) = paasd.get_app(&app, "/build-info.txt");
    assert_eq!(status, 200);
    assert!(
        body.contains("exported by a previous buildpack: yes"),
        "{body}"
    );

    user.paas(&repo, &["buildpacks:clear"]).ok();
    let list = user.paas(&repo, &["buildpacks", "--json"]).ok();
    assert_eq!(list.stdout.trim(), "[]");
    let unreachable = user
        .paas(&repo, &["buildpacks:set", "file:///nonexistent/bp.git#v1"])
        .ok();
    assert!(unreachable.stdout.contains("nonexistent"));
    user.git(
        &repo,
        &["commit", "-q", "--allow-empty", "-m", "unreachable"],
    )
    .ok();
    let push = user.git(&repo, &["push", "paas", "main"]);
    assert!(!push.success);
    let rejected: Vec<&str> = push
        .stderr
        .lines()
        .filter(|l| l.contains(" !     "))
        .collect();
    assert_eq!(rejected.len(), 1, "{}", push.stderr);
    assert!(
        rejected[0].contains("Push rejected: cannot fetch buildpack file:///nonexistent/bp.git#v1"),
        "{}",
        push.stderr
    );
    // The running release is untouched.
    let (status, _) = paasd.get_app(&app, "/build-info.txt");
    assert_eq!(status, 200);
    user.paas(&repo, &["apps:destroy", &app, "--confirm", &app])
        .ok();
}

#[test]
fn a_git_buildpack_on_a_branch_is_fetched_again_at_every_build() {
    let paasd = shared_paasd();
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let repo = user.sample_repo("python-stdlib");
    let app = app_name("bpbranch");
    user.paas(&repo, &["apps:create", &app]).ok();
    let url = fill_in("{git:hello}#main", &user);
    let buildpack_repo = user.home.path().join("buildpack-hello");
    user.paas(&repo, &["buildpacks:set", &url]).ok();
    user.git(&repo, &["push", "paas", "main"]).ok();
    let (status, body) = paasd.get_app(&app, "/build-info.txt");
    assert!(
        status == 200 && body.contains("built by the hello buildpack\n"),
        "{status} {body}"
    );

    // A new commit on the buildpack's branch reaches the next build.
    let compile = buildpack_repo.join("bin/compile");
    let script = std::fs::read_to_string(&compile).unwrap();
    std::fs::write(
        &compile,
        script.replace(
            "built by the hello buildpack",
            "built by the hello buildpack, second commit",
        ),
    )
    .unwrap();
    user.commit_all(&buildpack_repo, "second commit");
    user.git(&repo, &["commit", "-q", "--allow-empty", "-m", "again"])
        .ok();
    let push = user.git(&repo, &["push", "paas", "main"]).ok();
    assert!(
        push.stderr
            .contains(&format!("remote: -----> Using buildpack {url}")),
        "{}",
        push.stderr
    );
    let (status, body) = paasd.get_app(&app, "/build-info.txt");
    assert!(
        status == 200 && body.contains("built by the hello buildpack, second commit"),
        "{status} {body}"
    );
    user.paas(&repo, &["apps:destroy", &app, "--confirm", &app])
        .ok();
}

#[test]
fn a_warm_pyproject_build_reuses_the_cached_virtualenv_and_serves_the_new_code() {
    let paasd = shared_paasd();
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let repo = user.sample_repo("python-pyproject");
    let app = app_name("pyproject");
    user.paas(&repo, &["apps:create", &app]).ok();
    let cold = user.git(&repo, &["push", "paas", "main"]).ok();
    assert!(
        cold.stderr.contains("remote: -----> Installing the app (editable: pip install -e .) and its dependencies with pip")
            && cold.stderr.contains("Collecting six==1.16.0"),
        "{}",
        cold.stderr
    );

    // Only the app's code changes: the virtualenv comes back from the build cache as it was,
    // pip runs not at all, and the new code answers.
    let module = repo.join("greeting.py");
    let code = std::fs::read_to_string(&module).unwrap();
    std::fs::write(
        &module,
        code.replace("installed by pip", "redeployed, installed by pip"),
    )
    .unwrap();
    user.commit_all(&repo, "new code, same dependencies");
    let warm = user.git(&repo, &["push", "paas", "main"]).ok();
    assert!(
        warm.stderr.contains(
            "remote: -----> Restoring the virtualenv from the build cache (pyproject.toml unchanged)"
        ),
        "{}",
        warm.stderr
    );
    for absent in [
        "Installing the app",
        "Processing /app",
        "Collecting",
        "Building editable",
    ] {
        assert!(
            !warm.stderr.contains(absent),
            "{absent:?} in:\n{}",
            warm.stderr
        );
    }
    let (status, body) = paasd.get_app(&app, "/");
    assert!(
        status == 200
            && body.contains(
                "python-pyproject: greeting 1.2.0 redeployed, installed by pip with six 1.16.0"
            ),
        "{status} {body}"
    );

    // pyproject.toml changes: installed again.
    let manifest = repo.join("pyproject.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("version = \"1.2.0\"", "version = \"1.3.0\""),
    )
    .unwrap();
    user.commit_all(&repo, "version 1.3.0");
    let changed = user.git(&repo, &["push", "paas", "main"]).ok();
    assert!(
        changed
            .stderr
            .contains("remote: -----> Creating virtualenv in .venv"),
        "{}",
        changed.stderr
    );
    let (status, body) = paasd.get_app(&app, "/");
    assert!(
        status == 200 && body.contains("greeting 1.3.0 redeployed"),
        "{status} {body}"
    );
    user.paas(&repo, &["apps:destroy", &app, "--confirm", &app])
        .ok();
}

#[test]
fn a_build_out_of_memory_is_stopped_and_the_push_says_so() {
    let paasd = Paasd::start_with(PaasdOptions {
        env: vec![("PAAS_BUILD_MEMORY".to_string(), "256".to_string())],
        ..PaasdOptions::default()
    });
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let repo = user.sample_repo("python-oom-build");
    let app = app_name("oom");
    user.paas(&repo, &["apps:create", &app]).ok();
    let push = user.git(&repo, &["push", "paas", "main"]);
    assert!(!push.success, "{}", push.stderr);
    let rejected: Vec<&str> = push
        .stderr
        .lines()
        .filter(|l| l.contains(" !     "))
        .collect();
    assert_eq!(rejected.len(), 1, "{}", push.stderr);
    assert!(
        rejected[0].contains("Push rejected: the build ran out of memory (256 MiB)"),
        "{}",
        push.stderr
    );
    let (status, _) = paasd.get_app(&app, "/");
    assert_ne!(status, 200);
    user.paas(&repo, &["apps:destroy", &app, "--confirm", &app])
        .ok();
}

#[test]
fn every_sample_folder_has_a_generated_deploy_test() {
    let mut folders: Vec<String> = std::fs::read_dir(workspace().join("tests/apps"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    folders.sort();
    assert_eq!(
        folders, GENERATED_SAMPLES,
        "build.rs generates one test per folder"
    );
}

#[test]
fn a_failing_dockerfile_rejects_the_push_with_one_line_and_the_running_release_keeps_serving() {
    let paasd = shared_paasd();
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let repo = user.sample_repo("dockerfile-plain");
    let app = app_name("dockerbad");
    user.paas(&repo, &["apps:create", &app]).ok();
    user.git(&repo, &["push", "paas", "main"]).ok();
    let (status, body) = paasd.get_app(&app, "/");
    assert!(
        status == 200 && body.contains("built with dockerfile"),
        "{status} {body}"
    );

    std::fs::write(
        repo.join("Dockerfile"),
        "FROM paas/run\nRUN echo about-to-fail && exit 3\n",
    )
    .unwrap();
    user.commit_all(&repo, "a broken Dockerfile");
    let push = user.git(&repo, &["push", "paas", "main"]);
    assert!(!push.success, "{}", push.stderr);
    let rejected: Vec<&str> = push
        .stderr
        .lines()
        .filter(|l| l.contains(" !     "))
        .collect();
    assert_eq!(rejected.len(), 1, "{}", push.stderr);
    assert!(
        rejected[0].contains("Push rejected: the Dockerfile failed to build: ")
            && rejected[0].contains("returned a non-zero code: 3"),
        "{}",
        push.stderr
    );
    // The build's own output reached the push.
    assert!(push.stderr.contains("about-to-fail"), "{}", push.stderr);
    let (status, body) = paasd.get_app(&app, "/");
    assert!(
        status == 200 && body.contains("built with dockerfile"),
        "{status} {body}"
    );
    user.paas(&repo, &["apps:destroy", &app, "--confirm", &app])
        .ok();
}

#[test]
fn builder_set_forces_buildpacks_or_the_dockerfile_on_a_repo_that_has_both() {
    let paasd = shared_paasd();
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    // A Dockerfile and a Procfile: detection picks the Dockerfile (before Procfile-only).
    let repo = user.sample_repo("dockerfile-plain");
    let app = app_name("builder");
    user.paas(&repo, &["apps:create", &app]).ok();
    let unset = user.paas(&repo, &["builder"]).ok();
    assert!(unset.stdout.contains("no builder set"), "{}", unset.stdout);
    user.paas(&repo, &["builder:set", "nix"])
        .fails_with_one_line();

    let set = user.paas(&repo, &["builder:set", "buildpacks"]).ok();
    assert!(set.stdout.contains("buildpacks"), "{}", set.stdout);
    let shown = user.paas(&repo, &["builder", "--json"]).ok();
    let json: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(
        json["builder"],
        serde_json::json!("buildpacks"),
        "{}",
        shown.stdout
    );
    let push = user.git(&repo, &["push", "paas", "main"]).ok();
    assert!(
        push.stderr.contains("remote: -----> Procfile app detected"),
        "{}",
        push.stderr
    );
    // buildpacks:detect follows the builder set, as the push does.
    let detect = user.paas(&repo, &["buildpacks:detect"]).ok();
    assert_eq!(
        detect.stdout,
        "Procfile\nfound a Procfile (builder set to buildpacks: no Dockerfile)\n"
    );
    let (status, body) = paasd.get_app(&app, "/");
    assert!(
        status == 200 && body.contains("from-procfile built with buildpacks"),
        "{status} {body}"
    );

    user.paas(&repo, &["builder:set", "dockerfile"]).ok();
    let detect = user.paas(&repo, &["buildpacks:detect"]).ok();
    assert_eq!(
        detect.stdout,
        "Dockerfile\nbuilder set to dockerfile (paas builder:set)\n"
    );
    user.git(&repo, &["commit", "-q", "--allow-empty", "-m", "again"])
        .ok();
    let push = user.git(&repo, &["push", "paas", "main"]).ok();
    assert!(
        push.stderr
            .contains("remote: -----> Dockerfile app detected"),
        "{}",
        push.stderr
    );
    let (status, body) = paasd.get_app(&app, "/");
    assert!(
        status == 200 && body.contains("from-procfile built with dockerfile"),
        "{status} {body}"
    );
    user.paas(&repo, &["builder:clear"]).ok();
    let detect = user.paas(&repo, &["buildpacks:detect"]).ok();
    assert_eq!(detect.stdout, "Dockerfile\nfound a Dockerfile\n");
    let cleared = user.paas(&repo, &["builder", "--json"]).ok();
    let json: serde_json::Value = serde_json::from_str(&cleared.stdout).unwrap();
    assert_eq!(
        json["builder"],
        serde_json::json!(null),
        "{}",
        cleared.stdout
    );
    user.paas(&repo, &["apps:destroy", &app, "--confirm", &app])
        .ok();
}
