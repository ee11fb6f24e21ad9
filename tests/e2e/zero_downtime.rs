//! Zero downtime as a number: 16 clients keep requests in flight without pause through a
//! deploy, a config change, a rollback, a scale up and down, a restart and a resize, and not one request
//! fails.

use paas_e2e::{app_name, Paasd, User, ADMIN_EMAIL, ADMIN_PASSWORD};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CLIENTS: usize = 16;

/// One request through the router: the status code, or the IO error.
fn request(port: u16, host: &str) -> Result<u16, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("no status line in {text:?}"))
}

struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicUsize>,
    failures: Arc<Mutex<Vec<String>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(port: u16, host: String) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicUsize::new(0));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let threads = (0..CLIENTS)
            .map(|_| {
                let (stop, ok, failures, host) =
                    (stop.clone(), ok.clone(), failures.clone(), host.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        match request(port, &host) {
                            Ok(200) => {
                                ok.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(code) => failures.lock().unwrap().push(format!("status {code}")),
                            Err(e) => failures.lock().unwrap().push(e),
                        }
                    }
                })
            })
            .collect();
        Self {
            stop,
            ok,
            failures,
            threads,
        }
    }

    /// Stops the clients; returns (successful requests, failures).
    fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            let _ = thread.join();
        }
        let failures = self.failures.lock().unwrap().clone();
        (self.ok.load(Ordering::Relaxed), failures)
    }
}

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

    let load = Load::start(paasd.port, format!("{app}.localhost"));
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
