//! Process limits: every process runs with a default memory and CPU limit, and `paas
//! ps:resize` changes them per process type, rolling the type over to processes with the new
//! limits while the app keeps answering.

use paas_e2e::{app_name, Paasd, User, ADMIN_EMAIL, ADMIN_PASSWORD};
use std::process::Command;
use std::time::{Duration, Instant};

/// (memory bytes, nano CPUs) of a container.
fn limits(container: &str) -> (i64, i64) {
    let out = Command::new("docker")
        .args([
            "inspect",
            "-f",
            "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}",
            container,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace().map(|p| p.parse::<i64>().unwrap());
    (parts.next().unwrap(), parts.next().unwrap())
}

fn wait_for_containers(paasd: &Paasd, expected: &[String], app: &str) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        assert_eq!(paasd.get_app(app, "/").0, 200, "the app stopped answering");
        if paasd.containers() == expected {
            return;
        }
        assert!(Instant::now() < deadline, "{:?}", paasd.containers());
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn processes_have_default_limits_and_ps_resize_changes_them() {
    let paasd = Paasd::start();
    let user = User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let repo = user.sample_repo("python-stdlib");
    let app = app_name("resize");
    user.paas(&repo, &["apps:create", &app]).ok();
    user.git(&repo, &["push", "paas", "main"]).ok();
    let default = format!("{app}.web.1.v1");
    assert_eq!(limits(&default), (512 * 1024 * 1024, 1_000_000_000));

    let shown = user.paas(&repo, &["ps:resize"]).ok();
    assert!(
        shown.stdout.contains(&format!("=== {app} Process Sizes")),
        "{shown:?}"
    );
    assert!(shown.stdout.contains("web: 512 MiB, 1 CPU"), "{shown:?}");

    let resized = user.paas(&repo, &["ps:resize", "web=256:0.5"]).ok();
    assert!(
        resized.stderr.contains("Resizing web to 256 MiB, 0.5 CPU"),
        "{resized:?}"
    );
    assert!(
        resized.stdout.contains("web: 256 MiB, 0.5 CPU"),
        "{resized:?}"
    );
    let small = format!("{app}.web.1.v1-256m500c");
    wait_for_containers(&paasd, std::slice::from_ref(&small), &app);
    assert_eq!(limits(&small), (256 * 1024 * 1024, 500_000_000));

    // Only the memory: the CPU limit stays.
    user.paas(&repo, &["ps:resize", "web=384"]).ok();
    let memory_only = format!("{app}.web.1.v1-384m500c");
    wait_for_containers(&paasd, std::slice::from_ref(&memory_only), &app);

    // Bad sizes are refused with one line and change nothing.
    for bad in ["web=5", "web=big", "web=256:0", "we b=256"] {
        user.paas(&repo, &["ps:resize", bad]).fails_with_one_line();
    }
    assert_eq!(paasd.containers(), vec![memory_only]);

    // Back to the defaults: the process is an ordinary one again.
    user.paas(&repo, &["ps:resize", "web=512:1"]).ok();
    wait_for_containers(&paasd, std::slice::from_ref(&default), &app);
    assert_eq!(limits(&default), (512 * 1024 * 1024, 1_000_000_000));
}
