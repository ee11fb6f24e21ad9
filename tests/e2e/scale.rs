//! Formation and processes: `paas scale` up and down with requests spread over every web
//! process, `paas ps`, bad scale input refused with one line, and a killed process replaced.

use paas_e2e::{app_name, Paasd, User, ADMIN_EMAIL, ADMIN_PASSWORD};
use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The DYNO names that answered `n` requests.
fn answering(paasd: &Paasd, app: &str, n: usize) -> BTreeSet<String> {
    (0..n)
        .map(|_| paasd.get_app(app, "/"))
        .filter(|(status, _)| *status == 200)
        .map(|(_, body)| body.trim().trim_start_matches("stdlib app on ").to_string())
        .collect()
}

#[test]
fn scale_up_and_down_spreads_requests_and_a_killed_process_is_replaced() {
    let paasd = Paasd::start();
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let repo = user.sample_repo("python-stdlib");
    let app = app_name("scale");
    user.paas(&repo, &["apps:create", &app]).ok();
    user.git(&repo, &["push", "paas", "main"]).ok();
    assert_eq!(user.paas(&repo, &["scale"]).ok().stdout.trim(), "web=1");

    let up = user.paas(&repo, &["scale", "web=3"]).ok();
    assert!(up.stderr.contains("done, now running web=3"), "{up:?}");
    let all: BTreeSet<String> = ["web.1", "web.2", "web.3"].map(String::from).into();
    wait_for("three web processes answering", || {
        answering(&paasd, &app, 30) == all
    });
    let ps = user.paas(&repo, &["ps"]).ok();
    assert!(
        ps.stdout.contains("=== web (3): python3 app.py") || ps.stdout.contains("=== web (3):"),
        "{ps:?}"
    );
    for dyno in ["web.1: up", "web.2: up", "web.3: up"] {
        assert!(ps.stdout.contains(dyno), "{ps:?}");
    }

    // Bad input: one line, the formation stays.
    for args in [
        vec!["scale", "worker=1"],
        vec!["scale", "web=101"],
        vec!["scale", "web"],
        vec!["scale", "web=x"],
    ] {
        user.paas(&repo, &args).fails_with_one_line();
    }
    assert_eq!(user.paas(&repo, &["scale"]).ok().stdout.trim(), "web=3");

    // A killed process is replaced.
    let killed = format!("{app}.web.2.v1");
    let status = Command::new("docker")
        .args(["kill", &killed])
        .output()
        .unwrap();
    assert!(status.status.success());
    wait_for("web.2 replaced", || {
        let out = Command::new("docker")
            .args(["inspect", "-f", "{{.State.Running}}", &killed])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim() == "true" && answering(&paasd, &app, 30) == all
    });

    // A rolling restart gives every web process a new container; `ps:stop` replaces one.
    let restart = user.paas(&repo, &["restart", "web"]).ok();
    assert!(
        restart.stderr.contains("Restarting web processes of"),
        "{restart:?}"
    );
    let restarted: Vec<String> = (1..=3).map(|i| format!("{app}.web.{i}.v1-r1")).collect();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let mut now = paasd.containers();
        now.sort();
        if now == restarted {
            break;
        }
        assert!(Instant::now() < deadline, "after the restart: {now:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
    let id = |name: &str| {
        let out = Command::new("docker")
            .args(["inspect", "-f", "{{.Id}}", name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let before = id(&restarted[0]);
    user.paas(&repo, &["ps:stop", "web.1"]).ok();
    wait_for("web.1 replaced after ps:stop", || {
        let now = id(&restarted[0]);
        !now.is_empty() && now != before && answering(&paasd, &app, 30) == all
    });
    user.paas(&repo, &["ps:stop", "web.9"])
        .fails_with_one_line();
    user.paas(&repo, &["restart", "nosuchtype"])
        .fails_with_one_line();

    let down = user.paas(&repo, &["scale", "web-2"]).ok();
    assert!(down.stderr.contains("done, now running web=1"), "{down:?}");
    wait_for("one web process", || {
        paasd.containers() == vec![format!("{app}.web.1.v1-r1")]
    });
    assert_eq!(answering(&paasd, &app, 10), ["web.1".to_string()].into());
}

#[test]
fn a_crashing_process_is_restarted_with_backoff_and_shown_crashed() {
    let paasd = Paasd::start();
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let repo = user.sample_repo("python-crashing-worker");
    let app = app_name("crashy");
    user.paas(&repo, &["apps:create", &app]).ok();
    user.git(&repo, &["push", "paas", "main"]).ok();
    user.paas(&repo, &["scale", "worker=1"]).ok();

    // Over 30 s, restarts at once and then after 1, 2, 4, 8, 16 s: about six starts, where
    // restarting without a pause would make dozens.
    let started = Instant::now();
    let mut saw_crashed = false;
    while started.elapsed() < Duration::from_secs(30) {
        let ps = user.paas(&repo, &["ps"]).ok();
        saw_crashed |= ps.stdout.contains("worker.1: crashed");
        std::thread::sleep(Duration::from_millis(500));
    }
    let restarts = paasd
        .log()
        .lines()
        .filter(|l| l.contains("process stopped; starting it again") && l.contains("worker.1"))
        .count();
    assert!(
        (3..=9).contains(&restarts),
        "{restarts} restarts in 30 s:\n{}",
        paasd.log()
    );
    assert!(saw_crashed, "paas ps never showed the crashed worker");
    // The web process is not affected.
    assert_eq!(paasd.get_app(&app, "/").0, 200);
}
