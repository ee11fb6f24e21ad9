//! The HTTP front door of a real paasd over real TCP: one client address holding thousands of
//! idle connections does not keep anybody else out, slow request heads and idle keep-alive
//! connections are closed after their (shortened) timeouts, and requests that name their host
//! twice, send a malformed chunked body or an oversized JSON body are refused with 400 / 413.

use paas_e2e::{curl, post_json, Paasd, PaasdOptions, ADMIN_EMAIL, ADMIN_PASSWORD};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// The per-address cap paasd is started with in the flood test (its default).
const PER_IP_CAP: usize = 256;

fn start(env: &[(&str, &str)], open_files_limit: Option<u64>) -> Paasd {
    Paasd::start_with(PaasdOptions {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        open_files_limit,
        ..PaasdOptions::default()
    })
}

fn addr(paasd: &Paasd) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], paasd.port))
}

fn admin_token(paasd: &Paasd) -> String {
    let credentials = format!(r#"{{"email":"{ADMIN_EMAIL}","password":"{ADMIN_PASSWORD}"}}"#);
    let (status, body) = post_json(paasd, "/api/login", None, &credentials);
    assert_eq!(status, 200, "{body}");
    let login: serde_json::Value = serde_json::from_str(&body).expect("login answers JSON");
    login["token"].as_str().expect("a token").to_string()
}

/// Opens `count` TCP connections to `to` from source address `from` and sends nothing. The
/// streams come back as non-blocking std sockets, so every later read is a real system call.
fn open_idle_connections(from: &str, to: SocketAddr, count: usize) -> Vec<TcpStream> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let from: SocketAddr = format!("{from}:0").parse().expect("a source address");
    runtime.block_on(async move {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..count {
            tasks.spawn(async move {
                let socket = tokio::net::TcpSocket::new_v4().ok()?;
                socket.bind(from).ok()?;
                let stream = tokio::time::timeout(Duration::from_secs(3), socket.connect(to))
                    .await
                    .ok()?
                    .ok()?;
                stream.into_std().ok()
            });
        }
        let mut streams = Vec::new();
        while let Some(result) = tasks.join_next().await {
            if let Ok(Some(stream)) = result {
                streams.push(stream);
            }
        }
        streams
    })
}

/// How many of `streams` the server has not closed.
fn still_open(streams: &[TcpStream]) -> usize {
    let mut buf = [0u8; 64];
    streams
        .iter()
        .filter(|stream| {
            let mut stream: &TcpStream = stream;
            match stream.read(&mut buf) {
                Ok(0) => false,
                Ok(_) => true,
                Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
            }
        })
        .count()
}

/// Runs `request` until it answers `want`, at most `attempts` times: whether it did.
fn answers_within(attempts: usize, want: u16, request: impl Fn() -> (u16, String)) -> bool {
    (0..attempts).any(|_| {
        let (status, _) = request();
        if status != want {
            std::thread::sleep(Duration::from_millis(300));
        }
        status == want
    })
}

#[test]
fn one_address_with_two_thousand_idle_connections_does_not_starve_others() {
    rlimit::increase_nofile_limit(u64::MAX).expect("raise the test's open file limit");
    // A small machine's descriptor table (1024), long timeouts: only the caps can help.
    let paasd = start(
        &[("PAAS_HEADER_TIMEOUT", "300"), ("PAAS_IDLE_TIMEOUT", "300")],
        Some(1024),
    );
    let token = admin_token(&paasd);
    let healthz = format!("{}/healthz", paasd.url());
    let apps = format!("{}/api/apps", paasd.url());
    let auth = format!("Authorization: Bearer {token}");

    let flood = open_idle_connections("127.0.0.2", addr(&paasd), 2000);
    eprintln!("opened {} idle connections from 127.0.0.2", flood.len());

    for round in 0..10 {
        assert!(
            answers_within(3, 200, || curl(&["-s", "--max-time", "5", &healthz])),
            "round {round}: /healthz from 127.0.0.1 did not answer 200"
        );
        assert!(
            answers_within(3, 200, || curl(&[
                "-s",
                "--max-time",
                "5",
                "-H",
                &auth,
                &apps
            ])),
            "round {round}: GET /api/apps from 127.0.0.1 did not answer 200"
        );
    }

    // The one address holds at most its cap; the rest were closed at once. Each client sends
    // one byte first: a burst of connects overflows the kernel's queues, and a connection the
    // client believes open may be unknown to the server until a segment reaches it.
    for mut stream in &flood {
        let _ = stream.write(b"G");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut open = still_open(&flood);
    while open > PER_IP_CAP && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        open = still_open(&flood);
    }
    assert!(
        open <= PER_IP_CAP,
        "127.0.0.2 still holds {open} connections (cap {PER_IP_CAP})"
    );
    drop(flood);
    assert_eq!(curl(&["-s", &healthz]).0, 200);
}

/// Reads until the server closes the connection (or `limit` passes): (bytes, time taken).
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("set a read timeout");
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while started.elapsed() < limit {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break,
        }
    }
    (
        String::from_utf8_lossy(&answer).to_string(),
        started.elapsed(),
    )
}

/// Reads one HTTP/1.1 response with a Content-Length body.
fn read_response(stream: &mut TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set a read timeout");
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&answer).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())
                        .flatten()
                })
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
        match stream.read(&mut buf) {
            Ok(0) => return text,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) => panic!("no complete response: {e}; got {text:?}"),
        }
    }
}

#[test]
fn slow_request_heads_are_cut_off_after_the_header_timeout() {
    let paasd = start(
        &[("PAAS_HEADER_TIMEOUT", "2"), ("PAAS_IDLE_TIMEOUT", "300")],
        None,
    );
    // Half a request line, then nothing; and nothing at all.
    for (what, sent) in [("half a request line", &b"GET /heal"[..]), ("nothing", b"")] {
        let connected = Instant::now();
        let mut stream = TcpStream::connect(addr(&paasd)).expect("connect");
        stream.write_all(sent).expect("send");
        read_until_closed(&mut stream, Duration::from_secs(20));
        let took = connected.elapsed();
        assert!(
            took < Duration::from_secs(10),
            "a client that sent {what} was still connected after {took:?}"
        );
        assert!(
            took >= Duration::from_millis(1500),
            "{what}: closed too early ({took:?})"
        );
    }
    // The server itself is fine.
    assert_eq!(curl(&["-s", &format!("{}/healthz", paasd.url())]).0, 200);
}

#[test]
fn idle_keep_alive_connections_are_closed_after_the_idle_timeout() {
    let paasd = start(
        &[("PAAS_HEADER_TIMEOUT", "60"), ("PAAS_IDLE_TIMEOUT", "3")],
        None,
    );
    let mut stream = TcpStream::connect(addr(&paasd)).expect("connect");
    let request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    stream.write_all(request).expect("send a request");
    assert!(read_response(&mut stream).starts_with("HTTP/1.1 200"));
    // Keep-alive works: a second request on the same connection, within the idle timeout.
    std::thread::sleep(Duration::from_millis(1500));
    stream.write_all(request).expect("send a second request");
    assert!(read_response(&mut stream).starts_with("HTTP/1.1 200"));
    // Then silence: closed after about 3 s, long before the 60 s header timeout.
    let (rest, took) = read_until_closed(&mut stream, Duration::from_secs(30));
    assert!(rest.is_empty(), "{rest}");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(15),
        "the idle connection was closed after {took:?}"
    );
}

/// Sends `raw` on a fresh connection; returns the first response.
fn exchange(paasd: &Paasd, raw: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr(paasd)).expect("connect");
    stream.write_all(raw).expect("send the request");
    read_response(&mut stream)
}

fn status_and_json(response: &str) -> (u16, serde_json::Value) {
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or_default())
}

#[test]
fn ambiguous_hosts_bad_bodies_and_oversized_json_are_refused() {
    let paasd = start(&[], None);
    let token = admin_token(&paasd);

    // Two Host headers, for the platform and for an app host: 400 with a clear message.
    for hosts in [
        "Host: 127.0.0.1\r\nHost: hello.localhost\r\n",
        "Host: hello.localhost\r\nHost: hello.localhost\r\n",
        "Host: hello.localhost\r\nHost: 127.0.0.1\r\n",
    ] {
        let response = exchange(
            &paasd,
            format!("GET /healthz HTTP/1.1\r\n{hosts}Connection: close\r\n\r\n").as_bytes(),
        );
        let (status, json) = status_and_json(&response);
        assert_eq!(status, 400, "{hosts:?}: {response}");
        assert_eq!(json["id"], "bad_request", "{response}");
        assert!(
            json["message"]
                .as_str()
                .unwrap_or_default()
                .contains("more than one Host header"),
            "{response}"
        );
    }
    // A Host that names another host than an absolute target.
    let response = exchange(
        &paasd,
        b"GET http://127.0.0.1/healthz HTTP/1.1\r\nHost: hello.localhost\r\nConnection: close\r\n\r\n",
    );
    let (status, json) = status_and_json(&response);
    assert_eq!(status, 400, "{response}");
    assert!(
        json["message"]
            .as_str()
            .unwrap_or_default()
            .contains("names another host"),
        "{response}"
    );
    // One Host is still fine.
    let response = exchange(
        &paasd,
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    // A malformed chunked body on an API route: 400 in the API's error shape.
    let response = exchange(
        &paasd,
        format!(
            "POST /api/apps HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
             5\r\n{{\"nam\r\nzz-not-hex\r\n\r\n"
        )
        .as_bytes(),
    );
    let (status, json) = status_and_json(&response);
    assert_eq!(status, 400, "{response}");
    assert_eq!(json["id"], "bad_request", "{response}");

    // An oversized JSON body: 413, same error shape.
    let big = format!(r#"{{"name":"{}"}}"#, "a".repeat(3 * 1024 * 1024));
    let (status, body) = post_big_json(&paasd, "/api/apps", &token, &big);
    assert_eq!(status, 413, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("a JSON error body");
    assert_eq!(json["id"], "payload_too_large", "{body}");
    assert!(
        json["message"]
            .as_str()
            .unwrap_or_default()
            .contains("too large"),
        "{body}"
    );
    // Nothing was created.
    let (status, body) = curl(&[
        "-s",
        "-H",
        &format!("Authorization: Bearer {token}"),
        &format!("{}/api/apps", paasd.url()),
    ]);
    assert_eq!((status, body.trim()), (200, "[]"));
}

/// POSTs a large JSON body with curl, from a file: (status, body).
fn post_big_json(paasd: &Paasd, path: &str, token: &str, json: &str) -> (u16, String) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("body.json");
    std::fs::write(&file, json).expect("write the body");
    curl(&[
        "-s",
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-H",
        &format!("Authorization: Bearer {token}"),
        "--data-binary",
        &format!("@{}", file.display()),
        &format!("{}{path}", paasd.url()),
    ])
}

#[test]
fn a_malformed_chunked_body_sent_to_an_app_is_400() {
    let paasd = start(&[], None);
    let user = paas_e2e::User::new();
    user.login(&paasd, ADMIN_EMAIL, ADMIN_PASSWORD).ok();
    let repo = user.sample_repo("python-echo");
    let app = paas_e2e::app_name("body");
    user.paas(&repo, &["apps:create", &app]).ok();
    let push = user.git(&repo, &["push", "paas", "main"]).ok();
    assert!(push.stderr.contains("done, v1"), "{}", push.stderr);
    assert_eq!(paasd.get_app(&app, "/").0, 200);

    // A well-formed chunked body reaches the app, which reads it.
    let response = exchange(
        &paasd,
        format!(
            "POST / HTTP/1.1\r\nHost: {app}.localhost\r\nTransfer-Encoding: chunked\r\n\r\n\
             5\r\nhello\r\n0\r\n\r\n"
        )
        .as_bytes(),
    );
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("5 bytes\n"), "{response}");
    // A malformed one is the client's fault: 400 from the router, not an app error.
    let response = exchange(
        &paasd,
        format!(
            "POST / HTTP/1.1\r\nHost: {app}.localhost\r\nTransfer-Encoding: chunked\r\n\r\n\
             5\r\nhello\r\nzz-not-hex\r\n\r\n"
        )
        .as_bytes(),
    );
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert!(response.contains("Bad request"), "{response}");
    // Two Host headers for the app: 400 as well, and the app still answers.
    let response = exchange(
        &paasd,
        format!("GET / HTTP/1.1\r\nHost: {app}.localhost\r\nHost: {app}.localhost\r\n\r\n")
            .as_bytes(),
    );
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert_eq!(paasd.get_app(&app, "/").0, 200);
}
