//! The router with a real paasd, real processes and the CLI: custom and wildcard domains,
//! maintenance mode, requests held (not failed) while a `web=1` app's only process is
//! replaced, and H14 once `scale web=0` has taken every process away and the hold time passed.

use paas_e2e::{curl, Paasd, PaasdOptions, User};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn get_host(paasd: &Paasd, host: &str) -> (u16, String) {
    curl(&[
        "-s",
        "-H",
        &format!("Host: {host}"),
        &format!("{}/", paasd.url()),
    ])
}

#[test]
fn domains_maintenance_and_requests_held_through_a_restart() {
    let paasd = Paasd::start_with(PaasdOptions {
        env: vec![("PAAS_ROUTER_HOLD".into(), "3".into())],
        ..Default::default()
    });
    let user = User::admin(&paasd);
    let (repo, app) = user.deploy_sample("python-stdlib", "router");

    // Custom and wildcard domains.
    user.paas(&repo, &["domains:add", "www.shop.test"]).ok();
    user.paas(&repo, &["domains:add", "*.pages.test"]).ok();
    let listed = user.paas(&repo, &["domains"]).ok().stdout;
    assert!(
        listed.contains("www.shop.test") && listed.contains("*.pages.test"),
        "{listed}"
    );
    let (status, body) = get_host(&paasd, "www.shop.test");
    assert_eq!((status, body.trim()), (200, "stdlib app on web.1"));
    assert_eq!(get_host(&paasd, "docs.pages.test").0, 200);
    // Bad or taken hosts: one line each, nothing changes.
    for bad in ["not a host", "x.localhost", "www.shop.test"] {
        user.paas(&repo, &["domains:add", bad])
            .fails_with_one_line();
    }
    user.paas(&repo, &["domains:remove", "www.shop.test"]).ok();
    user.paas(&repo, &["domains:remove", "www.shop.test"])
        .fails_with_one_line();
    // An unknown host is the platform's (its API answers JSON 404s), not an app.
    assert_ne!(
        get_host(&paasd, "www.shop.test").1.trim(),
        "stdlib app on web.1"
    );

    // Maintenance mode: H80 with a clear 503, processes untouched; then serving again.
    user.paas(&repo, &["maintenance:on"]).ok();
    assert_eq!(user.paas(&repo, &["maintenance"]).ok().stdout.trim(), "on");
    let (status, body) = paasd.get_app(&app, "/");
    assert_eq!(status, 503);
    assert!(
        body.contains("Maintenance mode") && body.contains("H80"),
        "{body}"
    );
    assert!(paasd.containers().iter().any(|c| c.contains(".web.1.")));
    user.paas(&repo, &["maintenance:off"]).ok();
    // A page URL that is no plain http(s) URL, or a huge one: one line, nothing changes.
    let huge = format!("https://example.com/{}", "a".repeat(5000));
    for bad in [
        "javascript:alert(1)",
        "https://x.test/\"><script>",
        huge.as_str(),
    ] {
        user.paas(&repo, &["maintenance:on", "--page-url", bad])
            .fails_with_one_line();
    }
    assert_eq!(user.paas(&repo, &["maintenance"]).ok().stdout.trim(), "off");
    assert_eq!(paasd.get_app(&app, "/").0, 200);

    // The only web process stopped: requests wait for its replacement instead of failing.
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let client = {
        let (stop, failures, answered) = (stop.clone(), failures.clone(), answered.clone());
        let (url, host) = (paasd.url(), format!("{app}.localhost"));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let (status, _) = curl(&["-s", "-H", &format!("Host: {host}"), &format!("{url}/")]);
                if status == 200 {
                    answered.fetch_add(1, Ordering::Relaxed);
                } else {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    user.paas(&repo, &["ps:stop", "web.1"]).ok();
    std::thread::sleep(Duration::from_secs(4));
    stop.store(true, Ordering::Relaxed);
    client.join().unwrap();
    assert_eq!(
        failures.load(Ordering::Relaxed),
        0,
        "requests failed during the replacement"
    );
    assert!(answered.load(Ordering::Relaxed) > 5);

    // No web process wanted: after the hold time, H14.
    user.paas(&repo, &["scale", "web=0"]).ok();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let (status, body) = loop {
        let (status, body) = paasd.get_app(&app, "/");
        if status != 200 || std::time::Instant::now() > deadline {
            break (status, body);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(status, 503);
    assert!(body.contains("H14"), "{body}");
    // The router's error line is in the app's log (no longer in paasd's own).
    let log = user.paas(&repo, &["logs", "-s", "router"]).ok().stdout;
    assert!(log.contains("router: at=error code=H14"), "{log}");
}

/// A `paasd router` child process, killed on drop.
struct RouterProcess(std::process::Child);

impl Drop for RouterProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_router(paasd: &Paasd, port: u16) -> RouterProcess {
    let child = std::process::Command::new(paas_e2e::binary("paasd"))
        .args([
            "router",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--control",
            &paasd.url(),
            "--data",
        ])
        .arg(paasd.data.path())
        .env("PAAS_LOG", "info")
        .env_remove("PAAS_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("paasd router starts");
    RouterProcess(child)
}

fn through(port: u16, host: &str) -> (u16, String) {
    curl(&[
        "-s",
        "-H",
        &format!("Host: {host}"),
        &format!("http://127.0.0.1:{port}/"),
    ])
}

fn wait_for_status(port: u16, host: &str, status: u16) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (got, body) = through(port, host);
        if got == status {
            return body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{host} through the router: {got} {body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_separate_router_keeps_serving_while_the_control_plane_is_down_and_restarts_from_its_copy() {
    let mut paasd = Paasd::start();
    let user = User::admin(&paasd);
    let (repo, app) = user.deploy_sample("python-stdlib", "edge");

    // The table is the router's: no secret, or a user's token, gets 401.
    let table_url = format!("{}/api/router/table", paasd.url());
    assert_eq!(curl(&["-s", &table_url]).0, 401);
    assert_eq!(
        curl(&[
            "-s",
            "-H",
            "Authorization: Bearer not-the-secret",
            &table_url
        ])
        .0,
        401
    );

    // So are the routers' reports: without the secret 401, with it a malformed or oversized
    // report is one 400 line, and the API keeps answering.
    let in_flight_url = format!("{}/api/router/in-flight", paasd.url());
    let post = |auth: &str, body: &str| {
        curl(&[
            "-s",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-H",
            auth,
            "--data-binary",
            body,
            &in_flight_url,
        ])
    };
    let report = r#"{"router":"r1","version":1,"counts":[["10.0.0.1:5000",1]]}"#;
    assert_eq!(post("Authorization: Bearer not-the-secret", report).0, 401);
    let secret = std::fs::read_to_string(paasd.data.path().join("router.token")).unwrap();
    let auth = format!("Authorization: Bearer {}", secret.trim());
    assert_eq!(post(&auth, report).0, 204);
    for bad in [
        "not json".to_string(),
        r#"{"router":"","version":1,"counts":[]}"#.to_string(),
        format!(
            r#"{{"router":"{}","version":1,"counts":[]}}"#,
            "x".repeat(100)
        ),
        r#"{"router":"r1","version":-1,"counts":[]}"#.to_string(),
        r#"{"router":"r1","version":1,"counts":[["not an address",1]]}"#.to_string(),
    ] {
        let (status, body) = post(&auth, &bad);
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(!body.contains('\n'), "one line: {body}");
    }
    assert_eq!(curl(&["-s", &format!("{}/healthz", paasd.url())]).0, 200);

    let port = paas_e2e::free_port();
    let router = start_router(&paasd, port);
    let host = format!("{app}.localhost");
    let body = wait_for_status(port, &host, 200);
    assert_eq!(body.trim(), "stdlib app on web.1");
    // Platform hosts are forwarded to the control plane.
    let healthz = format!("http://127.0.0.1:{port}/healthz");
    let (status, health) = curl(&["-s", "-H", "Host: localhost", &healthz]);
    assert_eq!(status, 200, "{health}");
    // A change made on the control plane reaches it: a custom domain.
    user.paas(&repo, &["domains:add", "edge.example.test"]).ok();
    wait_for_status(port, "edge.example.test", 200);

    // The control plane dies; the router keeps serving its last table.
    paasd.kill();
    for _ in 0..10 {
        assert_eq!(through(port, &host).0, 200);
    }
    assert_eq!(curl(&["-s", "-H", "Host: localhost", &healthz]).0, 502);

    // A router started while the control plane is down serves from its saved copy.
    drop(router);
    let _router = start_router(&paasd, port);
    let body = wait_for_status(port, &host, 200);
    assert_eq!(body.trim(), "stdlib app on web.1");
    wait_for_status(port, "edge.example.test", 200);
}

#[test]
fn a_retired_process_finishes_the_requests_a_separate_router_has_in_flight() {
    // A drain longer than the request, so only a drain that does not know of the separate
    // router's request lets the process be stopped under it.
    let paasd = Paasd::start_with(PaasdOptions {
        env: vec![("PAAS_STOP_GRACE".into(), "15".into())],
        ..PaasdOptions::default()
    });
    let user = User::admin(&paasd);
    let (repo, app) = user.deploy_sample("python-stdlib", "drain");
    let port = paas_e2e::free_port();
    let _router = start_router(&paasd, port);
    let host = format!("{app}.localhost");
    wait_for_status(port, &host, 200);

    let slow = {
        let host = host.clone();
        std::thread::spawn(move || {
            curl(&[
                "-s",
                "-H",
                &format!("Host: {host}"),
                &format!("http://127.0.0.1:{port}/sleep/4"),
            ])
        })
    };
    std::thread::sleep(Duration::from_millis(1000));
    // Retire the only web process while the request is in flight through the other router.
    user.paas(&repo, &["ps:stop", "web.1"]).ok();
    let (status, body) = slow.join().expect("the slow request's thread");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.trim(), "stdlib app on web.1");
}
