//! Self-healing, from the outside: a dead process is replaced on Docker's event (not at the
//! next reconcile pass), a process killed for memory is shown so in `ps`, a new release whose
//! process crashes as it starts fails fast with the process's last lines in the push, and an
//! app.json health check decides when a release is healthy; the release phase runs once per
//! pushed release and a failing one blocks it.

use paas_e2e::{Paasd, PaasdOptions, User};
use std::process::Command;
use std::time::{Duration, Instant};

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("docker");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A paasd whose scheduler makes no pass of its own for ten minutes: whatever happens
/// sooner was started by an event or an API change.
fn paasd_without_periodic_passes(health_timeout_secs: u64) -> Paasd {
    Paasd::start_with(PaasdOptions {
        health_timeout_secs: Some(health_timeout_secs),
        env: vec![("PAAS_RECONCILE_INTERVAL".into(), "600".into())],
        ..Default::default()
    })
}

fn deployed(paasd: &Paasd, prefix: &str) -> (User, std::path::PathBuf, String) {
    let user = User::admin(paasd);
    let (repo, app) = user.deploy_sample("python-stdlib", prefix);
    (user, repo, app)
}

#[test]
fn a_killed_process_is_replaced_on_dockers_event_not_at_the_next_pass() {
    let paasd = paasd_without_periodic_passes(60);
    let (_user, _repo, app) = deployed(&paasd, "events");
    let name = format!("{app}.web.1.v1");
    let first = docker(&["inspect", "-f", "{{.Id}}", &name]);
    assert!(!first.is_empty());
    // Let the rollout's own passes end, so only the event can start the next one.
    std::thread::sleep(Duration::from_secs(3));

    assert!(Command::new("docker")
        .args(["kill", &name])
        .status()
        .unwrap()
        .success());
    // With no event the next pass would come in ten minutes.
    wait_for("a new web.1 answering", Duration::from_secs(60), || {
        let id = docker(&["inspect", "-f", "{{.Id}}", &name]);
        !id.is_empty() && id != first && paasd.get_app(&app, "/").0 == 200
    });
    assert!(paasd.log().contains("a process died"), "{}", paasd.log());
}

#[test]
fn a_process_killed_for_memory_is_shown_so_in_ps() {
    let paasd = Paasd::start();
    let (user, repo, app) = deployed(&paasd, "oom");
    // A worker that fills 1 GiB, twice its memory limit (the machine has no swap to hide it).
    std::fs::write(
        repo.join("Procfile"),
        "web: python3 app.py\nworker: python3 -c \"x = b'x' * (1024 ** 3)\"\n",
    )
    .unwrap();
    user.commit_all(&repo, "a worker that eats memory");
    user.git(&repo, &["push", "paas", "main"]).ok();
    user.paas(&repo, &["scale", "worker=1"]).ok();
    wait_for(
        "ps to show the worker killed for memory",
        Duration::from_secs(90),
        || {
            user.paas(&repo, &["ps"])
                .stdout
                .contains("worker.1: crashed (out of memory)")
        },
    );
    assert_eq!(paasd.get_app(&app, "/").0, 200);
}

#[test]
fn a_release_crashing_as_it_starts_fails_fast_and_the_push_shows_its_last_lines() {
    // The health timeout is ten minutes: only the crash count can end this push early.
    let paasd = paasd_without_periodic_passes(600);
    let (user, repo, app) = deployed(&paasd, "failfast");
    std::fs::write(
        repo.join("app.py"),
        "import sys\nprint('connecting to the database', flush=True)\nsys.exit('boom: DATABASE_URL is not set')\n",
    )
    .unwrap();
    user.commit_all(&repo, "crash at start");

    let started = Instant::now();
    let push = user.git(&repo, &["push", "paas", "main"]);
    let took = started.elapsed();
    assert!(!push.success, "{push:?}");
    assert!(took < Duration::from_secs(120), "the push waited {took:?}");
    assert!(
        push.stderr.contains("web.1 crashed 3 times"),
        "{}",
        push.stderr
    );
    assert!(
        push.stderr.contains("boom: DATABASE_URL is not set"),
        "{}",
        push.stderr
    );
    assert!(push.stderr.contains("The previous release keeps serving"));
    let (status, body) = paasd.get_app(&app, "/");
    assert_eq!((status, body.trim()), (200, "stdlib app on web.1"));
    let releases = user.paas(&repo, &["releases", "--json"]).ok().stdout;
    let releases: serde_json::Value = serde_json::from_str(&releases).unwrap();
    assert_eq!(releases[0]["version"], "v2");
    assert_eq!(releases[0]["status"], "failed");
    // The app's log says so as a platform event too.
    let log = user
        .paas(&repo, &["logs", "-s", "paas", "-n", "200"])
        .ok()
        .stdout;
    assert!(
        log.lines()
            .any(|l| l.contains("paas[api]: Release v2 failed to start: web.1 crashed 3 times")),
        "{log}"
    );
}

fn app_json(check: &str) -> String {
    format!(r#"{{"name": "stdlib", "healthchecks": {{"web": [{check}]}}}}"#)
}

#[test]
fn an_app_json_health_check_decides_when_a_release_is_healthy() {
    let paasd = paasd_without_periodic_passes(600);
    let (user, repo, app) = deployed(&paasd, "check");

    // The app answers 200 everywhere, so only the check's content can fail this release.
    std::fs::write(
        repo.join("app.json"),
        app_json(r#"{"type": "startup", "path": "/ready", "content": "never there", "attempts": 2, "timeout": 1, "wait": 1}"#),
    )
    .unwrap();
    user.commit_all(&repo, "a check that cannot pass");
    let push = user.git(&repo, &["push", "paas", "main"]);
    assert!(!push.success, "{push:?}");
    assert!(
        push.stderr.contains("did not pass its health check"),
        "{}",
        push.stderr
    );
    assert_eq!(paasd.get_app(&app, "/").0, 200);

    // A check the app passes deploys.
    std::fs::write(
        repo.join("app.json"),
        app_json(r#"{"path": "/ready", "content": "stdlib app", "status": 200}"#),
    )
    .unwrap();
    user.commit_all(&repo, "a check it passes");
    let push = user.git(&repo, &["push", "paas", "main"]).ok();
    assert!(push.stderr.contains("done, v3"), "{}", push.stderr);
    let id = docker(&[
        "inspect",
        "-f",
        "{{index .Config.Labels \"paas.healthcheck\"}}",
        &format!("{app}.web.1.v3"),
    ]);
    assert!(id.contains("/ready"), "{id}");

    // A malformed check rejects the push with one clear line and changes nothing.
    std::fs::write(repo.join("app.json"), app_json(r#"{"path": "ready"}"#)).unwrap();
    user.commit_all(&repo, "a bad check");
    let push = user.git(&repo, &["push", "paas", "main"]);
    assert!(!push.success);
    assert!(
        push.stderr
            .contains("app.json healthchecks.web: path \"ready\" must start with /"),
        "{}",
        push.stderr
    );
    assert_eq!(paasd.get_app(&app, "/").0, 200);
}

#[test]
fn the_release_phase_runs_once_per_release_and_a_failing_one_blocks_it() {
    let paasd = Paasd::start();
    let (user, repo, app) = deployed(&paasd, "relphase");
    user.paas(&repo, &["config:set", "GREETING=hello from config"])
        .ok();
    std::fs::write(
        repo.join("Procfile"),
        "web: python3 app.py\nrelease: echo \"migrating with $GREETING as $(id -un)\"; test \"$GREETING\" != break\n",
    )
    .unwrap();
    user.commit_all(&repo, "a release phase");
    let push = user.git(&repo, &["push", "paas", "main"]).ok();
    assert_eq!(
        push.stderr
            .matches("migrating with hello from config as app")
            .count(),
        1,
        "{}",
        push.stderr
    );
    assert!(push.stderr.contains("done, v3"), "{}", push.stderr);
    // It ran in a container of its own, removed once the release is decided, and `release`
    // is no process type that runs or scales.
    wait_for(
        "the release phase's container removed",
        Duration::from_secs(30),
        || paasd.containers().iter().all(|c| !c.contains(".release.")),
    );
    user.paas(&repo, &["scale", "release=1"])
        .fails_with_one_line();

    // A config change is a new release: its release phase runs too, and a failing one leaves
    // the config and the processes as they were.
    let change = user.paas(&repo, &["config:set", "GREETING=break"]);
    assert!(!change.success, "{change:?}");
    assert!(
        change
            .stderr
            .contains("the release command failed (exit code 1)"),
        "{}",
        change.stderr
    );
    assert!(
        change.stderr.contains("migrating with break as app"),
        "{}",
        change.stderr
    );
    assert_eq!(
        user.paas(&repo, &["config:get", "GREETING"])
            .ok()
            .stdout
            .trim(),
        "hello from config"
    );

    std::fs::write(
        repo.join("Procfile"),
        "web: python3 app.py\nrelease: sh -c 'echo migration failed: no database >&2; exit 4'\n",
    )
    .unwrap();
    user.commit_all(&repo, "a failing release phase");
    let push = user.git(&repo, &["push", "paas", "main"]);
    assert!(!push.success, "{push:?}");
    assert_eq!(
        push.stderr.matches("migration failed: no database").count(),
        1,
        "{}",
        push.stderr
    );
    assert!(push.stderr.contains("exit code 4"), "{}", push.stderr);
    let (status, body) = paasd.get_app(&app, "/");
    assert_eq!((status, body.trim()), (200, "stdlib app on web.1"));
    let releases = user.paas(&repo, &["releases", "--json"]).ok().stdout;
    let releases: serde_json::Value = serde_json::from_str(&releases).unwrap();
    assert_eq!(releases[0]["version"], "v5", "{releases}");
    assert_eq!(releases[0]["status"], "failed", "{releases}");
    assert_eq!(releases[2]["version"], "v3", "{releases}");
    assert_eq!(releases[2]["current"], true, "{releases}");
}

#[test]
fn a_process_ignoring_sigterm_in_one_apps_rollout_does_not_delay_another_apps_recovery() {
    // Retired processes get a minute between SIGTERM and SIGKILL.
    let paasd = Paasd::start_with(PaasdOptions {
        env: vec![("PAAS_STOP_GRACE".into(), "60".into())],
        ..Default::default()
    });
    let (user, stubborn_repo, stubborn) = deployed(&paasd, "stubborn");
    let app_py = std::fs::read_to_string(stubborn_repo.join("app.py")).unwrap();
    std::fs::write(
        stubborn_repo.join("app.py"),
        format!("import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n{app_py}"),
    )
    .unwrap();
    user.commit_all(&stubborn_repo, "ignore SIGTERM");
    user.git(&stubborn_repo, &["push", "paas", "main"]).ok();

    // Another user (each has a home, so a checkout, of their own).
    let (_other_user, _other_repo, other) = deployed(&paasd, "other");

    // The stubborn app's rollout retires a process that will take the whole minute to stop.
    user.paas(&stubborn_repo, &["config:set", "ROLL=1"]).ok();
    let retiring = format!("{stubborn}.web.1.v2");
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Running}}", &retiring]),
        "true"
    );

    let name = format!("{other}.web.1.v1");
    let first = docker(&["inspect", "-f", "{{.Id}}", &name]);
    assert!(Command::new("docker")
        .args(["kill", &name])
        .status()
        .unwrap()
        .success());
    wait_for(
        "the other app's process replaced while the stubborn one is still stopping",
        Duration::from_secs(30),
        || {
            let id = docker(&["inspect", "-f", "{{.Id}}", &name]);
            !id.is_empty() && id != first && paasd.get_app(&other, "/").0 == 200
        },
    );
    // The stubborn process was still in its grace period all along.
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Running}}", &retiring]),
        "true"
    );
    assert_eq!(paasd.get_app(&stubborn, "/").0, 200);
}
