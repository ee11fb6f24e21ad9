//! Log drains and OTLP export from the outside: a syslog-over-TCP receiver and an HTTPS-style
//! (plain HTTP here) receiver get the app's lines as RFC 5424 octet-counted frames; a dead
//! drain (refused connections) and blackholed ones (a TCP peer that never reads, an HTTP
//! server that never answers) slow neither the app's requests nor its log, and the losses
//! are counted in `paas drains`; an OTLP collector gets `/v1/logs` and `/v1/metrics` in
//! OTLP/HTTP JSON.

use paas_e2e::{Paasd, PaasdOptions, User};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// A syslog receiver: everything sent to it, as one string.
fn syslog_receiver() -> (u16, Arc<Mutex<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(String::new()));
    let sink = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let sink = sink.clone();
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut buffer = [0u8; 8192];
                while let Ok(n) = stream.read(&mut buffer) {
                    if n == 0 {
                        break;
                    }
                    sink.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buffer[..n]));
                }
            });
        }
    });
    (port, received)
}

/// One HTTP request as the receiver saw it.
#[derive(Debug, Clone)]
struct Request {
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn serve_connection(stream: TcpStream, sink: Arc<Mutex<Vec<Request>>>, answer: bool) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split(' ').nth(1).unwrap_or("").to_string();
        let mut headers = Vec::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let length: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if !answer {
            // A blackhole: read, never answer.
            std::thread::sleep(Duration::from_secs(3600));
            return;
        }
        sink.lock().unwrap().push(Request {
            path,
            headers,
            body: String::from_utf8_lossy(&body).to_string(),
        });
        if writer
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

/// An HTTP receiver answering 200 to every request (or, with `answer` false, never).
fn http_receiver(answer: bool) -> (u16, Arc<Mutex<Vec<Request>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let sink = sink.clone();
            std::thread::spawn(move || serve_connection(stream, sink, answer));
        }
    });
    (port, received)
}

/// A TCP peer that accepts and never reads.
fn tcp_blackhole() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

/// A port nothing listens on.
fn dead_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The messages of octet-counted syslog frames (`LEN SP MSG`...), checking each length.
fn frames(stream: &str) -> Vec<String> {
    let bytes = stream.as_bytes();
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let space = at
            + bytes[at..]
                .iter()
                .position(|b| *b == b' ')
                .expect("a length");
        let len: usize = std::str::from_utf8(&bytes[at..space])
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("not a frame length at {at}: {stream}"));
        let end = space + 1 + len;
        if end > bytes.len() {
            break; // the rest is still on its way
        }
        out.push(String::from_utf8_lossy(&bytes[space + 1..end]).to_string());
        at = end;
    }
    out
}

fn drains_json(user: &User, repo: &Path) -> Vec<Value> {
    serde_json::from_str(&user.paas(repo, &["drains", "--json"]).ok().stdout).unwrap()
}

#[test]
fn drains_get_the_apps_lines_over_syslog_and_https() {
    let paasd = Paasd::start();
    let user = User::admin(&paasd);
    let (repo, app) = user.deploy_sample("python-stdlib", "drains");
    let (syslog_port, syslog) = syslog_receiver();
    let (http_port, http) = http_receiver(true);
    let syslog_url = format!("syslog+tcp://127.0.0.1:{syslog_port}");
    let http_url = format!("http://user:s3cret@127.0.0.1:{http_port}/drain");
    user.paas(&repo, &["drains:add", &syslog_url]).ok();
    user.paas(&repo, &["drains:add", &http_url]).ok();
    // Bad URLs and doubles: one line each.
    for bad in [
        "ftp://x/y",
        "syslog+tcp://nohost",
        "not a url",
        syslog_url.as_str(),
    ] {
        user.paas(&repo, &["drains:add", bad]).fails_with_one_line();
    }

    for i in 0..5 {
        assert_eq!(paasd.get_app(&app, &format!("/drained-{i}")).0, 200);
    }
    let router_line =
        |m: &String| m.contains(" router router - - ") && m.contains("path=\"/drained-4\"");
    wait_for(
        "the router line at the syslog drain",
        Duration::from_secs(20),
        || frames(&syslog.lock().unwrap()).iter().any(router_line),
    );
    let messages = frames(&syslog.lock().unwrap());
    // RFC 5424: <PRI>1 TIMESTAMP HOSTNAME(app) APP-NAME PROCID MSGID SD MSG.
    let first = messages.iter().find(|m| router_line(m)).unwrap();
    let fields: Vec<&str> = first.splitn(8, ' ').collect();
    assert_eq!(fields[0], "<190>1", "{first}");
    assert!(fields[1].ends_with("+00:00"), "{first}");
    assert_eq!(fields[2], app, "{first}");
    // The app's own lines too (the stdlib server logs each request on stderr).
    wait_for(
        "the app's lines at the syslog drain",
        Duration::from_secs(20),
        || {
            frames(&syslog.lock().unwrap())
                .iter()
                .any(|m| m.contains(" app web.1 - - ") && m.contains("/drained-4"))
        },
    );
    // In order: the router lines of the five requests arrive as they were made.
    let order: Vec<usize> = frames(&syslog.lock().unwrap())
        .iter()
        .filter(|m| m.contains(" router router "))
        .filter_map(|m| (0..5).find(|i| m.contains(&format!("path=\"/drained-{i}\""))))
        .collect();
    assert_eq!(order, [0, 1, 2, 3, 4]);

    wait_for("a POST at the HTTPS drain", Duration::from_secs(20), || {
        http.lock()
            .unwrap()
            .iter()
            .any(|r| r.body.contains("path=\"/drained-4\""))
    });
    let posts = http.lock().unwrap().clone();
    let post = posts
        .iter()
        .find(|r| r.body.contains("/drained-4"))
        .unwrap();
    assert_eq!(post.path, "/drain");
    assert_eq!(post.header("content-type"), Some("application/logplex-1"));
    let count: usize = post.header("logplex-msg-count").unwrap().parse().unwrap();
    assert_eq!(frames(&post.body).len(), count);
    // Basic auth from the URL's user info.
    assert!(post
        .header("authorization")
        .is_some_and(|a| a.starts_with("Basic ")));

    // Listed with what they delivered; the password never shown.
    let listed = drains_json(&user, &repo);
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(
        listed.iter().all(|d| d["delivered"].as_u64() > Some(0)),
        "{listed:?}"
    );
    assert!(listed.iter().all(|d| d["lost"] == 0), "{listed:?}");
    let text = user.paas(&repo, &["drains"]).ok().stdout;
    assert!(
        text.contains(&syslog_url) && text.contains("user:****@127.0.0.1"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
    assert!(!paasd.log().contains("s3cret"));

    // Removed by its URL, or as listed.
    user.paas(&repo, &["drains:remove", &syslog_url]).ok();
    user.paas(
        &repo,
        &[
            "drains:remove",
            &format!("http://user:****@127.0.0.1:{http_port}/drain"),
        ],
    )
    .ok();
    user.paas(&repo, &["drains:remove", &syslog_url])
        .fails_with_one_line();
    assert!(drains_json(&user, &repo).is_empty());
    // Stored: they come back with paasd after a restart. (Added again, then restart.)
    user.paas(&repo, &["drains:add", &syslog_url]).ok();
    let mut paasd = paasd;
    paasd.restart();
    assert_eq!(drains_json(&user, &repo).len(), 1);
    let before = syslog.lock().unwrap().len();
    assert_eq!(paasd.get_app(&app, "/after-restart").0, 200);
    wait_for(
        "lines after paasd's restart",
        Duration::from_secs(20),
        || syslog.lock().unwrap()[before..].contains("/after-restart"),
    );
}

/// A worker printing `flood 0` ... `flood 19999` at once, then sleeping.
const FLOOD: &str = "worker: python3 -c \"import time; [print('flood', i) for i in range(20000)]; time.sleep(10**6)\"\n";

#[test]
fn a_dead_or_blackholed_drain_blocks_neither_requests_nor_the_log_and_its_losses_are_counted() {
    let paasd = Paasd::start();
    let user = User::admin(&paasd);
    let (repo, app) = user.deploy_sample("python-stdlib", "deaddrain");
    let dead = format!("syslog+tcp://127.0.0.1:{}", dead_port());
    let blackhole_tcp = format!("syslog+tcp://127.0.0.1:{}", tcp_blackhole());
    let (hole_port, _) = http_receiver(false);
    let blackhole_http = format!("http://127.0.0.1:{hole_port}/never");
    for url in [&dead, &blackhole_tcp, &blackhole_http] {
        user.paas(&repo, &["drains:add", url]).ok();
    }

    // Requests go on at full speed and each one's router line is in the log at once.
    let started = Instant::now();
    const REQUESTS: usize = 300;
    for i in 0..REQUESTS {
        let (status, _) = paasd.get_app(&app, &format!("/r{i}"));
        assert_eq!(status, 200, "request {i}");
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(60),
        "{REQUESTS} requests took {took:?}"
    );
    wait_for(
        "the last request in the log",
        Duration::from_secs(5),
        || {
            user.paas(&repo, &["logs", "-n", "20", "-s", "router"])
                .ok()
                .stdout
                .contains("path=\"/r299\"")
        },
    );

    // The dead drain counts what it could not deliver, with the reason.
    wait_for("losses counted", Duration::from_secs(20), || {
        let listed = drains_json(&user, &repo);
        listed
            .iter()
            .any(|d| d["url"] == dead.as_str() && d["lost"].as_u64() > Some(0))
    });
    let listed = drains_json(&user, &repo);
    let dead_row = listed.iter().find(|d| d["url"] == dead.as_str()).unwrap();
    assert!(
        dead_row["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{dead_row}"
    );
    assert_eq!(dead_row["delivered"], 0);
    let text = user.paas(&repo, &["drains"]).ok().stdout;
    assert!(text.contains("LOST"), "{text}");

    // A flood of 20,000 lines, far more than a drain's queue holds: every one is in the app's
    // log, requests are still answered meanwhile, and the HTTP drain that never answers
    // counts what it had to drop.
    std::fs::write(
        repo.join("Procfile"),
        format!("web: python3 app.py\n{FLOOD}"),
    )
    .unwrap();
    user.commit_all(&repo, "flood");
    user.git(&repo, &["push", "paas", "main"]).ok();
    user.paas(&repo, &["scale", "worker=1"]).ok();
    for i in 0..20 {
        assert_eq!(paasd.get_app(&app, &format!("/during-{i}")).0, 200);
    }
    wait_for(
        "the flood's last line in the log",
        Duration::from_secs(60),
        || {
            user.paas(&repo, &["logs", "-n", "5", "-p", "worker"])
                .ok()
                .stdout
                .contains("flood 19999")
        },
    );
    let t = Instant::now();
    assert_eq!(paasd.get_app(&app, "/after-flood").0, 200);
    user.paas(&repo, &["ps"]).ok();
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    wait_for(
        "the silent HTTP drain's losses",
        Duration::from_secs(20),
        || {
            drains_json(&user, &repo)
                .iter()
                .any(|d| d["url"] == blackhole_http.as_str() && d["lost"].as_u64() > Some(10_000))
        },
    );
}

#[test]
fn telemetry_exports_logs_and_metrics_as_otlp_json() {
    let paasd = Paasd::start_with(PaasdOptions {
        env: vec![("PAAS_OTLP_INTERVAL".into(), "2".into())],
        ..Default::default()
    });
    let user = User::admin(&paasd);
    let (repo, app) = user.deploy_sample("python-stdlib", "otlp");
    let (port, collector) = http_receiver(true);
    let url = format!("http://127.0.0.1:{port}");
    user.paas(&repo, &["telemetry:add", &url]).ok();
    user.paas(&repo, &["telemetry:add", "syslog+tcp://x:1"])
        .fails_with_one_line();
    let listed = user.paas(&repo, &["telemetry"]).ok().stdout;
    assert!(listed.contains(&url), "{listed}");
    for _ in 0..3 {
        assert_eq!(paasd.get_app(&app, "/otlp").0, 200);
    }

    let requests = |path: &str| -> Vec<Value> {
        collector
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .map(|r| {
                assert_eq!(r.header("content-type"), Some("application/json"));
                serde_json::from_str(&r.body).unwrap()
            })
            .collect()
    };
    let service_name = |resource: &Value| {
        resource["resource"]["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["key"] == "service.name")
            .map(|a| a["value"]["stringValue"].clone())
    };

    wait_for("router lines at /v1/logs", Duration::from_secs(20), || {
        requests("/v1/logs")
            .iter()
            .any(|body| body.to_string().contains("path=\\\"/otlp\\\""))
    });
    let logs = requests("/v1/logs");
    let body = logs
        .iter()
        .find(|b| b.to_string().contains("/otlp"))
        .unwrap();
    let resource = &body["resourceLogs"][0];
    assert_eq!(service_name(resource), Some(Value::from(app.clone())));
    let record = &resource["scopeLogs"][0]["logRecords"][0];
    assert!(
        record["timeUnixNano"]
            .as_str()
            .unwrap()
            .parse::<u128>()
            .unwrap()
            > 0
    );
    assert!(record["body"]["stringValue"].is_string(), "{record}");

    wait_for(
        "three requests at /v1/metrics",
        Duration::from_secs(30),
        || {
            requests("/v1/metrics").iter().any(|body| {
                let metrics = &body["resourceMetrics"][0]["scopeMetrics"][0]["metrics"];
                metrics.as_array().is_some_and(|list| {
                    list.iter().any(|m| {
                        m["name"] == "paas.router.requests"
                            && m["sum"]["dataPoints"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .any(|p| p["asInt"] == "3")
                    })
                })
            })
        },
    );
    let metrics = requests("/v1/metrics");
    let last = metrics.last().unwrap();
    assert_eq!(
        service_name(&last["resourceMetrics"][0]),
        Some(Value::from(app.clone()))
    );
    let names: Vec<String> = last["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect();
    for name in [
        "paas.router.requests",
        "paas.router.response.bytes",
        "paas.router.latency",
    ] {
        assert!(names.contains(&name.to_string()), "{names:?}");
    }
    user.paas(&repo, &["telemetry:remove", &url]).ok();
    assert!(user
        .paas(&repo, &["telemetry"])
        .ok()
        .stdout
        .contains("no OpenTelemetry exports"));
}
