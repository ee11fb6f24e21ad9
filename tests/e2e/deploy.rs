//! Deploying with `git push`: a Python app with a PyPI dependency end to end, redeploys, a
//! stdlib-only app, a Procfile-only app, failed pushes that leave the running release serving,
//! and destroying an app.

use paas_e2e::{app_name, Paasd, User, ADMIN_EMAIL, ADMIN_PASSWORD};

#[test]
fn python_app_deploys_redeploys_and_is_destroyed() {
    let paasd = Paasd::start();
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let repo = user.sample_repo("python-flask");
    let app = app_name("flask");

    let created = user.paas(&repo, &["apps:create", &app]).ok();
    assert!(
        created.stdout.contains(&format!("{app}.git")),
        "{created:?}"
    );
    let remote = user.git(&repo, &["remote", "get-url", "paas"]).ok();
    assert_eq!(remote.stdout.trim(), format!("{}/{app}.git", paasd.url()));

    // First deploy: build output reaches the client live as remote: lines.
    let push = user.git(&repo, &["push", "paas", "main"]).ok();
    for expected in [
        "remote: -----> Python app detected",
        "remote: -----> Installing requirements with pip",
        "remote:        Collecting flask==3.0.3",
        "remote: -----> Discovering process types",
        "remote:        Procfile declares types -> web",
        "remote: -----> Slug compiled,",
        "remote: -----> Launching... done, v1",
        &format!(
            "remote:        http://{app}.localhost:{}/ deployed",
            paasd.port
        ),
    ] {
        assert!(
            push.stderr.contains(expected),
            "missing {expected:?} in:\n{}",
            push.stderr
        );
    }
    let (status, body) = paasd.get_app(&app, "/");
    assert_eq!(status, 200);
    assert_eq!(body, "Hello from paas (flask 3.0.3)\n");

    // The web process runs as its own labelled container with PORT set.
    let containers = paasd.containers();
    assert_eq!(containers, vec![format!("{app}.web.1.v1")]);

    // A second push replaces the first release.
    let source = repo.join("app.py");
    let text = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&source, text.replace("Hello from paas", "Hello again")).unwrap();
    user.commit_all(&repo, "change greeting");
    let push = user.git(&repo, &["push", "paas", "main"]).ok();
    assert!(
        push.stderr.contains("Launching... done, v2"),
        "{}",
        push.stderr
    );
    let (status, body) = paasd.get_app(&app, "/");
    assert_eq!(
        (status, body.as_str()),
        (200, "Hello again (flask 3.0.3)\n")
    );
    let info = user.paas(&repo, &["apps:info"]).ok();
    assert!(info.stdout.contains("v2"), "{}", info.stdout);
    // The old release's process is retired.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while paasd.containers() != vec![format!("{app}.web.1.v2")] {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            paasd.containers()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    // The build cache is kept between builds in a volume of the app.
    assert_eq!(
        paasd.volumes(),
        vec![format!("paas-{}-cache-{app}", paasd.instance)]
    );

    // Destroy needs the confirmation, then removes everything: the host answers 404.
    user.paas(&repo, &["apps:destroy", &app])
        .fails_with_one_line();
    user.paas(&repo, &["apps:destroy", &app, "--confirm", "wrong-name"])
        .fails_with_one_line();
    assert_eq!(paasd.get_app(&app, "/").0, 200);
    user.paas(&repo, &["apps:destroy", &app, "--confirm", &app])
        .ok();
    let (status, _) = paasd.get_app(&app, "/");
    assert_eq!(status, 404);
    assert!(paasd.containers().is_empty(), "{:?}", paasd.containers());
    assert!(paasd.images().is_empty(), "{:?}", paasd.images());
    assert!(paasd.volumes().is_empty(), "{:?}", paasd.volumes());
    assert!(!paasd.data.path().join(format!("repos/{app}.git")).exists());
    let apps = user.paas(&repo, &["apps", "--json"]).ok();
    assert!(!apps.stdout.contains(&app));
}

#[test]
fn failed_pushes_are_rejected_and_the_running_release_keeps_serving() {
    let paasd = Paasd::start();
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let repo = user.sample_repo("python-stdlib");
    let app = app_name("stdlib");
    user.paas(&repo, &["apps:create", &app]).ok();

    // A stdlib-only Python app with no Procfile gets the buildpack's default web command.
    let push = user.git(&repo, &["push", "paas", "main"]).ok();
    assert!(
        push.stderr.contains("No dependency files"),
        "{}",
        push.stderr
    );
    assert!(
        push.stderr.contains("Default types for buildpack -> web"),
        "{}",
        push.stderr
    );
    assert_eq!(
        paasd.get_app(&app, "/"),
        (200, "stdlib app on web.1\n".to_string())
    );

    // A dependency that does not exist: compile fails, the push is rejected.
    std::fs::write(
        repo.join("requirements.txt"),
        "this-package-does-not-exist-paas-test==0.0.1\n",
    )
    .unwrap();
    user.commit_all(&repo, "bad dependency");
    let push = user.git(&repo, &["push", "paas", "main"]);
    assert!(!push.success);
    assert!(
        push.stderr.contains("pre-receive hook declined"),
        "{}",
        push.stderr
    );
    assert!(
        push.stderr
            .contains("remote:  !     Push rejected: failed to compile Python app"),
        "{}",
        push.stderr
    );
    assert!(
        push.stderr.contains("No matching distribution"),
        "{}",
        push.stderr
    );
    assert_eq!(
        paasd.get_app(&app, "/"),
        (200, "stdlib app on web.1\n".to_string())
    );

    // A Procfile with merge conflict markers: rejected before building, naming the line.
    std::fs::remove_file(repo.join("requirements.txt")).unwrap();
    std::fs::write(
        repo.join("Procfile"),
        "<<<<<<< HEAD\nweb: python app.py\n=======\n",
    )
    .unwrap();
    user.commit_all(&repo, "conflicted Procfile");
    let push = user.git(&repo, &["push", "paas", "main"]);
    assert!(!push.success);
    assert!(
        push.stderr
            .contains("Procfile line 1: merge conflict marker"),
        "{}",
        push.stderr
    );

    // Nothing recognisable: the message lists what was looked for.
    for file in ["Procfile", "app.py"] {
        std::fs::remove_file(repo.join(file)).unwrap();
    }
    std::fs::write(repo.join("README.md"), "nothing to run\n").unwrap();
    user.commit_all(&repo, "nothing to build");
    let push = user.git(&repo, &["push", "paas", "main"]);
    assert!(!push.success);
    assert!(
        push.stderr.contains("no buildpack matches this app"),
        "{}",
        push.stderr
    );

    // Still v1, still serving; the failed pushes did not move the branch.
    assert_eq!(
        paasd.get_app(&app, "/"),
        (200, "stdlib app on web.1\n".to_string())
    );
    let info = user.paas(&repo, &["apps:info", "--json"]).ok();
    let info: serde_json::Value = serde_json::from_str(&info.stdout).unwrap();
    assert_eq!(info["release"], "v1");
    let remote_head = user
        .git(&repo, &["ls-remote", "paas", "refs/heads/main"])
        .ok();
    let first = user
        .git(&repo, &["rev-list", "--max-parents=0", "HEAD"])
        .ok();
    assert!(
        remote_head.stdout.starts_with(first.stdout.trim()),
        "{}",
        remote_head.stdout
    );
}

#[test]
fn procfile_only_app_runs_its_command() {
    let paasd = Paasd::start();
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let repo = user.sample_repo("procfile-only");
    // No name given: the server picks a readable one and the remote points at it.
    let created = user.paas(&repo, &["apps:create"]).ok();
    let remote = user.git(&repo, &["remote", "get-url", "paas"]).ok();
    let app = remote
        .stdout
        .trim()
        .rsplit('/')
        .next()
        .and_then(|s| s.strip_suffix(".git"))
        .unwrap()
        .to_string();
    assert!(created.stdout.contains(&app), "{created:?}");

    let push = user.git(&repo, &["push", "paas", "main"]).ok();
    assert!(
        push.stderr.contains("-----> Procfile app detected"),
        "{}",
        push.stderr
    );
    let (status, body) = paasd.get_app(&app, "/index.txt");
    assert_eq!(
        (status, body.as_str()),
        (200, "served by a Procfile command\n")
    );

    // Pushing another branch does not deploy it.
    user.git(&repo, &["checkout", "-q", "-b", "feature"]).ok();
    std::fs::write(repo.join("public/index.txt"), "feature branch\n").unwrap();
    user.commit_all(&repo, "feature");
    let push = user.git(&repo, &["push", "paas", "feature"]).ok();
    assert!(
        push.stderr.contains("only main or master is deployed"),
        "{}",
        push.stderr
    );
    assert_eq!(
        paasd.get_app(&app, "/index.txt").1,
        "served by a Procfile command\n"
    );
}

#[test]
fn a_killed_paasd_adopts_the_running_processes_on_restart() {
    let mut paasd = Paasd::start();
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let repo = user.sample_repo("python-stdlib");
    let app = app_name("adopt");
    user.paas(&repo, &["apps:create", &app]).ok();
    user.git(&repo, &["push", "paas", "main"]).ok();
    let before = container_ids(&paasd);
    assert_eq!(before.len(), 1, "{before:?}");

    paasd.restart();
    // Served at once by the same process: adopted, not duplicated or replaced.
    assert_eq!(
        paasd.get_app(&app, "/"),
        (200, "stdlib app on web.1\n".to_string())
    );
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(container_ids(&paasd), before);

    // A process that dies while paasd is down is replaced after the restart.
    paasd.kill();
    let killed = std::process::Command::new("docker")
        .args(["kill", &before[0]])
        .output()
        .unwrap();
    assert!(killed.status.success());
    paasd.restart();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let ids = container_ids(&paasd);
        if ids.len() == 1 && ids != before && paasd.get_app(&app, "/").0 == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{ids:?}");
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    assert_eq!(paasd.containers(), vec![format!("{app}.web.1.v1")]);
}

/// Ids of the instance's containers, in any state.
fn container_ids(paasd: &Paasd) -> Vec<String> {
    let out = std::process::Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--no-trunc",
            "--filter",
            &format!("label=paas.instance={}", paasd.instance),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}
