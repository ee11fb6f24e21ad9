//! The app's log, from the outside: one log per app with build output, router lines, every
//! process's stdout and stderr and the platform's events, in Heroku's format; each process's
//! lines in order, none lost or doubled through a redeploy and a paasd killed and restarted;
//! `paas logs` filters; `paas logs --tail` shows a line the app prints within a second;
//! `paas builds` and `paas builds:output`; config values never in the log.

use paas_e2e::{app_name, Paasd, User};
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn logs(user: &User, repo: &Path, args: &[&str]) -> Vec<String> {
    let mut all = vec!["logs"];
    all.extend_from_slice(args);
    user.paas(repo, &all)
        .ok()
        .stdout
        .lines()
        .map(str::to_string)
        .collect()
}

/// A worker printing `tick <container> <n>` on stdout and `tock <container> <n>` on stderr
/// ten times a second, n counting from 0 in each container.
const TICKER: &str = r#"import os, sys, time
me = os.environ.get("HOSTNAME", "?")
n = 0
while True:
    print(f"tick {me} {n}", flush=True)
    print(f"tock {me} {n}", file=sys.stderr, flush=True)
    n += 1
    time.sleep(0.1)
"#;

/// Fetches `<base>/<name>-0` .. `<name>-<n-1>` from `app` one after another on one
/// connection (a single curl), each answered 200.
fn burst(base: &str, app: &str, name: &str, n: usize) {
    let urls: Vec<String> = (0..n).map(|i| format!("{base}/{name}-{i}")).collect();
    let out = std::process::Command::new("curl")
        .args(["-s", "-w", "\ncode=%{http_code}\n", "-H"])
        .arg(format!("Host: {app}.localhost"))
        .args(&urls)
        .output()
        .expect("curl");
    let answered = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| *l == "code=200")
        .count();
    assert_eq!(answered, n, "requests of the burst answered 200");
}

/// The paths of `burst(.., name, n)` whose router line is not in `lines` exactly once.
fn burst_lines_not_once(lines: &[String], name: &str, n: usize) -> Vec<usize> {
    (0..n)
        .filter(|i| {
            let path = format!("path=\"/{name}-{i}\"");
            lines.iter().filter(|l| l.contains(&path)).count() != 1
        })
        .collect()
}

/// Every `word <container> <n>` line of `lines`, per container, in log order; panics on a
/// line seen twice.
fn counts(lines: &[String], word: &str) -> BTreeMap<String, Vec<u64>> {
    let mut seen = HashSet::new();
    let mut per_container: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for line in lines {
        let Some((_, message)) = line.split_once("]: ") else {
            continue;
        };
        let mut words = message.split(' ');
        if words.next() != Some(word) {
            continue;
        }
        let (Some(container), Some(n)) = (words.next(), words.next()) else {
            continue;
        };
        assert!(
            seen.insert(message.to_string()),
            "line stored twice: {line}"
        );
        per_container
            .entry(container.to_string())
            .or_default()
            .push(n.parse().expect("a count"));
    }
    per_container
}

/// Each container's lines start at 0 and count up by one: from its start, none lost, in order.
fn assert_complete(per_container: &BTreeMap<String, Vec<u64>>, word: &str) {
    for (container, ns) in per_container {
        let expected: Vec<u64> = (0..ns.len() as u64).collect();
        assert_eq!(
            ns, &expected,
            "{word} lines of container {container} missing, doubled or out of order"
        );
    }
}

#[test]
fn one_log_keeps_every_source_in_order_through_a_redeploy_and_a_paasd_restart() {
    let mut paasd = Paasd::start();
    let user = User::admin(&paasd);
    let repo = user.sample_repo("python-stdlib");
    std::fs::write(repo.join("ticker.py"), TICKER).unwrap();
    std::fs::write(
        repo.join("Procfile"),
        "web: python3 app.py\nworker: python3 -u ticker.py\n",
    )
    .unwrap();
    user.commit_all(&repo, "a ticking worker");
    let app = app_name("logs");
    user.paas(&repo, &["apps:create", &app]).ok();
    user.git(&repo, &["push", "paas", "main"]).ok();
    user.paas(&repo, &["scale", "worker=1"]).ok();
    assert_eq!(paasd.get_app(&app, "/first-request").0, 200);
    user.paas(
        &repo,
        &["config:set", "SECRET_TOKEN=s3cr3t-value-never-logged"],
    )
    .ok();
    wait_for("the worker's lines", Duration::from_secs(60), || {
        logs(&user, &repo, &["-p", "worker", "-n", "1000"]).len() > 20
    });

    let all = logs(&user, &repo, &["-n", "10000"]);
    let text = all.join("\n");
    // Every line in Heroku's format: an RFC 3339 UTC time with microseconds, then a source.
    for line in &all {
        let (time, rest) = line.split_once(' ').expect("time and source");
        assert!(
            time.len() == 32 && time.ends_with("+00:00") && time.as_bytes()[26] == b'+',
            "{line}"
        );
        assert!(
            ["app[", "router: ", "paas["]
                .iter()
                .any(|p| rest.starts_with(p)),
            "{line}"
        );
    }
    for expected in [
        "paas[build]: -----> Building",
        "paas[api]: Release v1 created by user admin@",
        "paas[api]: Scaled to worker=1 by user admin@",
        "paas[api]: Release v2 created by user admin@e2e.test: Set SECRET_TOKEN config vars",
        "router: at=info method=GET path=\"/first-request\"",
        "\"GET /first-request HTTP/1.1\" 200",
        "paas[worker.1]: Starting process",
        "app[worker.1]: tick ",
        "app[worker.1]: tock ",
    ] {
        assert!(
            text.contains(expected),
            "no {expected:?} in the log:\n{text}"
        );
    }
    assert!(
        !text.contains("s3cr3t-value-never-logged"),
        "a config value reached the log"
    );
    assert!(!paasd.log().contains("s3cr3t-value-never-logged"));
    assert!(
        !paasd.log().contains("path=\"/first-request\""),
        "request lines are no longer in paasd's own log"
    );
    assert!(
        !paasd.log().contains('\x1b'),
        "no colour codes when paasd's stderr is not a terminal"
    );

    // Filters.
    let router = logs(&user, &repo, &["-s", "router", "-n", "1000"]);
    assert!(!router.is_empty() && router.iter().all(|l| l.contains(" router: ")));
    let paas = logs(&user, &repo, &["-s", "paas", "-n", "1000"]);
    assert!(!paas.is_empty() && paas.iter().all(|l| l.contains(" paas[")));
    let web = logs(&user, &repo, &["-p", "web", "-n", "1000"]);
    assert!(!web.is_empty() && web.iter().all(|l| l.contains("[web.1]: ")));
    let app_worker = logs(&user, &repo, &["-s", "app", "-p", "worker.1", "-n", "1000"]);
    assert!(app_worker.iter().all(|l| l.contains(" app[worker.1]: ")));
    assert_eq!(logs(&user, &repo, &["-n", "3"]).len(), 3);

    // A redeploy, then paasd killed (SIGKILL) while the worker keeps printing, and restarted.
    // Its release phase takes 3 s, and `builds:output` started meanwhile follows the push to
    // its end (the build, then the rollout's lines).
    std::fs::write(repo.join("VERSION"), "2\n").unwrap();
    std::fs::write(
        repo.join("Procfile"),
        "web: python3 app.py\nworker: python3 -u ticker.py\nrelease: sleep 3\n",
    )
    .unwrap();
    user.commit_all(&repo, "redeploy");
    let pusher = {
        let (home, repo) = (user.home.path().to_path_buf(), repo.clone());
        std::thread::spawn(move || {
            let output = std::process::Command::new("git")
                .current_dir(&repo)
                .env("HOME", home)
                .env("GIT_TERMINAL_PROMPT", "0")
                .args(["push", "paas", "main"])
                .output()
                .expect("git push");
            (output, Instant::now())
        })
    };
    wait_for("the second build", Duration::from_secs(60), || {
        user.paas(&repo, &["builds", "--json"])
            .ok()
            .stdout
            .matches("\"id\"")
            .count()
            == 2
    });
    let follow_started = Instant::now();
    let followed = user.paas(&repo, &["builds:output"]).ok().stdout;
    let followed_until = Instant::now();
    let (push, pushed_at) = pusher.join().expect("the push");
    assert!(push.status.success(), "{push:?}");
    assert!(
        follow_started < pushed_at,
        "builds:output started after the push ended"
    );
    assert!(followed.contains("deployed"), "{followed}");
    assert!(
        followed_until + Duration::from_millis(500) >= pushed_at,
        "builds:output ended before the push it followed"
    );
    std::thread::sleep(Duration::from_secs(2));
    paasd.restart();
    std::thread::sleep(Duration::from_secs(2));
    let before_restart_lines = logs(&user, &repo, &["-n", "10000"]).len();
    std::thread::sleep(Duration::from_secs(3));

    let all = logs(&user, &repo, &["-p", "worker", "-n", "10000"]);
    let ticks = counts(&all, "tick");
    let tocks = counts(&all, "tock");
    assert!(
        ticks.len() >= 2,
        "two worker containers (v3 and v4): {ticks:?}"
    );
    assert_complete(&ticks, "tick");
    assert_complete(&tocks, "tock");
    let text = logs(&user, &repo, &["-n", "10000"]).join("\n");
    assert!(
        text.contains("paas[api]: Release v1 created"),
        "the first release's lines survive"
    );
    assert!(text.contains("paas[api]: Release v3 created"));
    assert!(text.contains("paas[worker.1]: Process exited with status"));
    assert!(logs(&user, &repo, &["-n", "10000"]).len() > before_restart_lines);

    // Builds.
    let builds = user.paas(&repo, &["builds"]).ok().stdout;
    assert_eq!(builds.matches("succeeded").count(), 2, "{builds}");
    let latest = user.paas(&repo, &["builds:output"]).ok().stdout;
    assert!(latest.contains("-----> Building"), "{latest}");
    assert!(latest.contains("deployed"), "{latest}");
    let first_id = builds
        .lines()
        .rfind(|l| l.contains("succeeded"))
        .and_then(|l| l.split_whitespace().next())
        .expect("the first build's id")
        .to_string();
    let first = user.paas(&repo, &["builds:output", &first_id]).ok().stdout;
    assert!(first.contains("-----> Building"), "{first}");
    assert_ne!(first, latest);
    user.paas(&repo, &["builds:output", "ffffffff"])
        .fails_with_one_line();
}

#[test]
fn the_router_lines_of_requests_answered_before_paasd_stops_are_kept() {
    let mut paasd = Paasd::start();
    let user = User::admin(&paasd);
    let (repo, app) = user.deploy_sample("python-stdlib", "stop");
    // Fifty requests on one connection, then at once the stop an operator sends: the last
    // lines are still in the router's buffers, waiting for the keeper's next take.
    burst(&paasd.url(), &app, "before-stop", 50);
    paasd.terminate();
    // Its output is read on threads of their own: the last line may come a moment later.
    wait_for("paasd's stopping line", Duration::from_secs(5), || {
        paasd.log().contains("paasd stopping")
    });
    paasd.start_again();
    let lines = logs(&user, &repo, &["-n", "1000", "-s", "router"]);
    let missing = burst_lines_not_once(&lines, "before-stop", 50);
    assert!(missing.is_empty(), "{missing:?}:\n{}", lines.join("\n"));
}

#[test]
fn logs_tail_shows_a_line_the_app_prints_within_a_second() {
    let paasd = Paasd::start();
    let user = User::admin(&paasd);
    let (repo, app) = user.deploy_sample("python-stdlib", "tail");
    let mut child = user
        .paas_command(&repo)
        .args(["logs", "--tail", "-s", "app", "-p", "web", "-n", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("paas logs --tail");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel::<(Instant, String)>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let mut wait_line = |probe: &str, limit: Duration| -> Option<Instant> {
        let deadline = Instant::now() + limit;
        while let Ok((at, line)) =
            rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            seen.push(line.clone());
            if line.contains(probe) {
                return Some(at);
            }
        }
        None
    };
    // The tail is connected once a first probe comes through.
    let mut connected = false;
    for n in 0..40 {
        let probe = format!("/warmup-{n}");
        assert_eq!(paasd.get_app(&app, &probe).0, 200);
        if wait_line(&probe, Duration::from_millis(500)).is_some() {
            connected = true;
            break;
        }
    }
    assert!(connected, "logs --tail never showed a line");
    for n in 0..3 {
        let probe = format!("/probe-{n}");
        let started = Instant::now();
        assert_eq!(paasd.get_app(&app, &probe).0, 200);
        let at = wait_line(&probe, Duration::from_secs(5)).expect("the probe's line");
        let took = at.duration_since(started);
        assert!(
            took < Duration::from_secs(1),
            "the app's line took {took:?} to reach logs --tail"
        );
    }
    let _ = child.kill();
    let _ = child.wait();
    // The filters hold on the live lines too: only the web process's own output.
    assert!(
        seen.iter().all(|l| l.contains(" app[web.1]: ")),
        "{seen:#?}"
    );
}

#[test]
fn a_running_build_is_followed_live_and_its_failure_is_kept() {
    let paasd = Paasd::start_with(paas_e2e::PaasdOptions {
        env: vec![("PAAS_BUILD_TIMEOUT".to_string(), "12".to_string())],
        ..Default::default()
    });
    let user = User::admin(&paasd);
    let repo = user.sample_repo("python-hanging-build");
    let app = app_name("follow");
    user.paas(&repo, &["apps:create", &app]).ok();
    let pusher = {
        let (home, repo) = (user.home.path().to_path_buf(), repo.clone());
        std::thread::spawn(move || {
            let mut git = std::process::Command::new("git");
            git.current_dir(&repo)
                .env("HOME", home)
                .env("GIT_TERMINAL_PROMPT", "0")
                .args(["push", "paas", "main"]);
            git.output().expect("git push")
        })
    };
    wait_for("a running build", Duration::from_secs(60), || {
        user.paas(&repo, &["builds", "--json"])
            .ok()
            .stdout
            .contains("\"pending\"")
    });
    let started = Instant::now();
    let followed = user.paas(&repo, &["builds:output"]).ok().stdout;
    let took = started.elapsed();
    let push = pusher.join().expect("the push thread");
    assert!(!push.status.success());
    // It waited for the build to end (at its 12 s limit) and printed it all, failure included.
    assert!(
        took > Duration::from_secs(3),
        "builds:output returned after {took:?}"
    );
    assert!(followed.contains("-----> Building"), "{followed}");
    assert!(followed.contains("longer than its limit"), "{followed}");
    let builds = user.paas(&repo, &["builds"]).ok().stdout;
    assert!(builds.contains("failed"), "{builds}");
    let log = logs(&user, &repo, &["-s", "paas", "-n", "1000"]).join("\n");
    assert!(log.contains("paas[build]:  !     "), "{log}");
}

#[test]
fn a_separate_routers_requests_reach_the_app_log_and_metrics_even_as_it_stops() {
    let paasd = Paasd::start();
    let user = User::admin(&paasd);
    let (repo, app) = user.deploy_sample("python-stdlib", "sep");
    let port = paas_e2e::free_port();
    let mut router = std::process::Command::new(paas_e2e::binary("paasd"))
        .args(["router", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--control", &paasd.url(), "--data"])
        .arg(paasd.data.path())
        .env_remove("PAAS_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("paasd router starts");
    let through = |path: &str| {
        paas_e2e::curl(&[
            "-s",
            "-H",
            &format!("Host: {app}.localhost"),
            &format!("http://127.0.0.1:{port}{path}"),
        ])
        .0
    };
    wait_for(
        "the separate router to serve",
        Duration::from_secs(30),
        || through("/warmup") == 200,
    );
    assert_eq!(through("/via-the-separate-router"), 200);
    wait_for(
        "the separate router's line in the app log",
        Duration::from_secs(10),
        || {
            logs(&user, &repo, &["-s", "router"])
                .iter()
                .any(|l| l.contains("path=\"/via-the-separate-router\""))
        },
    );
    // And they count in the app's metrics like the control plane's own router's requests.
    let answered = || -> u64 {
        let series: serde_json::Value =
            serde_json::from_str(&user.paas(&repo, &["metrics", "--json"]).ok().stdout)
                .unwrap_or_default();
        series["points"]
            .as_array()
            .map(|points| {
                points
                    .iter()
                    .map(|p| p["requests"]["2xx"].as_u64().unwrap_or(0))
                    .sum()
            })
            .unwrap_or(0)
    };
    std::thread::sleep(Duration::from_secs(1));
    let before = answered();
    for _ in 0..5 {
        assert_eq!(through("/counted"), 200);
    }
    wait_for(
        "the separate router's requests in the app's metrics",
        Duration::from_secs(10),
        || answered() >= before + 5,
    );
    // Stopped by an operator (SIGTERM) right after a burst of requests, the router ships
    // what it still holds (the shipper gathers for 100 ms) before it ends.
    let base = format!("http://127.0.0.1:{port}");
    burst(&base, &app, "before-the-router-stops", 50);
    assert!(
        paas_e2e::terminate(&mut router),
        "the router did not end after SIGTERM"
    );
    wait_for(
        "the burst's lines in the app log",
        Duration::from_secs(10),
        || {
            let lines = logs(&user, &repo, &["-n", "1000", "-s", "router"]);
            burst_lines_not_once(&lines, "before-the-router-stops", 50).is_empty()
        },
    );
}

#[test]
fn a_process_crashing_as_it_starts_leaves_its_lines_and_exits_in_the_log() {
    let paasd = Paasd::start();
    let user = User::admin(&paasd);
    let (repo, _app) = user.deploy_sample("python-crashing-worker", "crash");
    user.paas(&repo, &["scale", "worker=1"]).ok();
    // Each start prints one line and exits with 3; the supervisor reads each container to
    // its end, however short its life.
    wait_for("three crashes in the log", Duration::from_secs(60), || {
        let log = logs(&user, &repo, &["-p", "worker", "-n", "1000"]);
        let said = log
            .iter()
            .filter(|l| l.ends_with("app[worker.1]: worker starting"))
            .count();
        let exits = log
            .iter()
            .filter(|l| l.ends_with("paas[worker.1]: Process exited with status 3"))
            .count();
        let crashes = log
            .iter()
            .filter(|l| l.ends_with("paas[worker.1]: State changed from up to crashed"))
            .count();
        said >= 3 && exits >= 3 && crashes >= 3
    });
    let log = logs(&user, &repo, &["-p", "worker", "-n", "1000"]);
    let said = log
        .iter()
        .filter(|l| l.ends_with("worker starting"))
        .count();
    let started = log
        .iter()
        .filter(|l| l.contains("paas[worker.1]: Starting process"))
        .count();
    // Every start that printed is in the log (the last start may not have printed yet).
    assert!(
        said + 1 >= started,
        "{said} lines for {started} starts:\n{log:#?}"
    );
}
