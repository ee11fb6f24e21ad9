//! The router with a real paasd, real processes and the CLI: custom and wildcard domains,
//! maintenance mode, requests held (not failed) while a `web=1` app's only process is
//! replaced, and H14 once `scale web=0` has taken every process away and the hold time passed.

use paas_e2e::{app_name, curl, Paasd, PaasdOptions, User, ADMIN_EMAIL, ADMIN_PASSWORD};
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
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let repo = user.sample_repo("python-stdlib");
    let app = app_name("router");
    user.paas(&repo, &["apps:create", &app]).ok();
    user.git(&repo, &["push", "paas", "main"]).ok();

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
    assert!(paasd.log().contains("code=H14"), "{}", paasd.log());
}
