//! Zero downtime as a number: 16 clients keep requests in flight without pause through a
//! deploy, a config change, a rollback, a scale up and down, a restart and a resize, and not one request
//! fails.

use paas_e2e::load::Load;
use paas_e2e::{app_name, Paasd, User, ADMIN_EMAIL, ADMIN_PASSWORD};
use std::time::Duration;

const CLIENTS: usize = 16;

#[test]
fn no_request_fails_through_deploys_config_changes_rollbacks_and_scaling() {
    let paasd = Paasd::start();
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let repo = user.sample_repo("python-threaded");
    let app = app_name("zero");
    user.paas(&repo, &["apps:create", &app]).ok();
    user.git(&repo, &["push", "paas", "main"]).ok();
    assert_eq!(paasd.get_app(&app, "/").0, 200);

    let load = Load::start(
        &paasd.host,
        paasd.port,
        &format!("{app}.localhost"),
        "/",
        CLIENTS,
    );
    std::thread::sleep(Duration::from_secs(1));
    // A deploy.
    std::fs::write(repo.join("VERSION"), "2\n").unwrap();
    user.commit_all(&repo, "v2");
    user.git(&repo, &["push", "paas", "main"]).ok();
    // A config change and a rollback.
    user.paas(&repo, &["config:set", "GREETING=hi"]).ok();
    user.paas(&repo, &["rollback"]).ok();
    // Scale up, then down.
    user.paas(&repo, &["scale", "web=3"]).ok();
    std::thread::sleep(Duration::from_secs(3));
    user.paas(&repo, &["scale", "web=1"]).ok();
    std::thread::sleep(Duration::from_secs(3));
    // A rolling restart, then a resize.
    user.paas(&repo, &["restart"]).ok();
    std::thread::sleep(Duration::from_secs(4));
    user.paas(&repo, &["ps:resize", "web=256"]).ok();
    std::thread::sleep(Duration::from_secs(4));
    let (ok, failures) = load.finish();

    assert!(ok > 200, "only {ok} requests went through");
    assert!(
        failures.is_empty(),
        "{} of {} requests failed: {:?}",
        failures.len(),
        ok + failures.len(),
        &failures[..failures.len().min(20)]
    );
}
