//! The router's behaviour over real TCP, against real HTTP servers standing in for app
//! processes: requests held while an app has no ready process and answered once one appears,
//! H14/H10 after the hold time, H12 against a process that does not answer, H80 in
//! maintenance mode, a WebSocket-style upgrade passed through both ways, and a streamed
//! response (server-sent events) that arrives event by event.

use axum::body::Body;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::TokioIo;
use paas_router::{
    AppRoute, Backend, Maintenance, Proxy, ProxyConfig, RouteTable, RouteTableHandle,
};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod support;
use support::{serve, serve_router};

fn config() -> ProxyConfig {
    ProxyConfig {
        response_timeout: Duration::from_millis(500),
        hold_timeout: Duration::from_millis(1500),
        ..ProxyConfig::default()
    }
}

fn table(backends: &[SocketAddr], web_wanted: u32, maintenance: Option<Maintenance>) -> RouteTable {
    RouteTable {
        apps: [(
            "hello".to_string(),
            AppRoute {
                backends: backends
                    .iter()
                    .enumerate()
                    .map(|(i, addr)| Backend {
                        addr: *addr,
                        dyno: format!("web.{}", i + 1),
                    })
                    .collect(),
                web_wanted,
                maintenance,
            },
        )]
        .into(),
        ..Default::default()
    }
}

/// A router for app `hello` reading `routes`, with the fast path (`PAAS_ROUTER_FAST_PATH`)
/// unless `ROUTER_TESTS_HYPER_ONLY` is set: every test then covers both paths, since what
/// the fast path does not take (held requests, maintenance, upgrades, refused connections)
/// goes on to hyper.
async fn router(routes: RouteTableHandle, config: ProxyConfig) -> SocketAddr {
    let fast = std::env::var_os("ROUTER_TESTS_HYPER_ONLY").is_none();
    serve_router(Proxy::new(routes, config), "hello", fast).await
}

async fn app_saying(text: &'static str) -> SocketAddr {
    serve(move |_req, _peer| async move { hyper::Response::new(Body::from(text)) }).await
}

/// GET / through the router: status and body.
async fn get(router: SocketAddr) -> (u16, String) {
    let mut stream = TcpStream::connect(router).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: hello.localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer))
        .await
        .expect("answered in time")
        .unwrap();
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// The peers (router-side connection addresses) an app saw, so a test can count connections.
async fn app_recording_peers() -> (SocketAddr, Arc<Mutex<HashSet<SocketAddr>>>) {
    let peers: Arc<Mutex<HashSet<SocketAddr>>> = Arc::default();
    let seen = peers.clone();
    let addr = serve(move |_req, peer| {
        let seen = seen.clone();
        async move {
            seen.lock().unwrap().insert(peer);
            hyper::Response::new(Body::from("pooled"))
        }
    })
    .await;
    (addr, peers)
}

#[tokio::test]
async fn connections_to_a_process_are_reused_and_closed_once_it_leaves_the_table() {
    for fast in [false, true] {
        pooled_connections(fast).await;
    }
}

async fn pooled_connections(fast: bool) {
    let (app, peers) = app_recording_peers().await;
    let routes = RouteTableHandle::new();
    routes.publish(table(&[app], 1, None));
    let proxy = Proxy::new(routes.clone(), config());
    proxy.spawn_pool_pruner();
    let front = serve_router(proxy.clone(), "hello", fast).await;
    for _ in 0..5 {
        assert_eq!(get(front).await.0, 200);
    }
    assert_eq!(peers.lock().unwrap().len(), 1, "one kept-alive connection");
    assert_eq!(proxy.idle_connections(app), 1);

    let other = app_saying("other").await;
    routes.publish(table(&[other], 1, None));
    let deadline = Instant::now() + Duration::from_secs(5);
    while proxy.idle_connections(app) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(proxy.idle_connections(app), 0, "closed when retired");
}

#[tokio::test]
async fn a_request_is_held_until_a_process_appears_and_then_answered() {
    let routes = RouteTableHandle::new();
    routes.publish(table(&[], 1, None));
    let router = router(routes.clone(), config()).await;
    let app = app_saying("fresh process").await;
    let request = tokio::spawn(get(router));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!request.is_finished(), "the request must wait, not fail");
    routes.publish(table(&[app], 1, None));
    let (status, text) = request.await.unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(text.ends_with("fresh process"), "{text}");
}

#[tokio::test]
async fn a_process_that_refuses_is_set_aside_and_the_request_held_for_its_replacement() {
    // A port with nothing listening: connections are refused.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let routes = RouteTableHandle::new();
    routes.publish(table(&[dead], 1, None));
    let router = router(routes.clone(), config()).await;
    let app = app_saying("replacement").await;
    let request = tokio::spawn(get(router));
    tokio::time::sleep(Duration::from_millis(400)).await;
    routes.publish(table(&[app], 1, None));
    let (status, text) = request.await.unwrap();
    assert_eq!(status, 200, "{text}");
}

#[tokio::test]
async fn past_the_hold_time_h14_without_wanted_processes_and_h10_with_some() {
    let routes = RouteTableHandle::new();
    routes.publish(table(&[], 0, None));
    let router = router(routes.clone(), config()).await;
    let started = Instant::now();
    let (status, text) = get(router).await;
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "held first"
    );
    assert_eq!(status, 503);
    assert!(
        text.contains("H14") && text.contains("No web processes running"),
        "{text}"
    );

    routes.publish(table(&[], 2, None));
    let (status, text) = get(router).await;
    assert_eq!(status, 503);
    assert!(
        text.contains("H10") && text.contains("App crashed"),
        "{text}"
    );
}

#[tokio::test]
async fn a_process_that_does_not_answer_in_time_gets_h12() {
    let slow = serve(|_req, _peer| async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        hyper::Response::new(Body::from("too late"))
    })
    .await;
    let routes = RouteTableHandle::new();
    routes.publish(table(&[slow], 1, None));
    let router = router(routes, config()).await;
    let (status, text) = get(router).await;
    assert_eq!(status, 503);
    assert!(
        text.contains("H12") && text.contains("Request timeout"),
        "{text}"
    );
}

#[tokio::test]
async fn maintenance_mode_answers_h80_with_the_custom_page_framed() {
    let app = app_saying("app").await;
    let routes = RouteTableHandle::new();
    routes.publish(table(
        &[app],
        1,
        Some(Maintenance {
            page_url: Some("https://example.com/down.html".into()),
        }),
    ));
    let router = router(routes.clone(), config()).await;
    let (status, text) = get(router).await;
    assert_eq!(status, 503);
    assert!(
        text.contains("<iframe src=\"https://example.com/down.html\""),
        "{text}"
    );
    assert!(
        text.to_ascii_lowercase().contains("retry-after: 60"),
        "{text}"
    );
    routes.publish(table(&[app], 1, None));
    assert_eq!(get(router).await.0, 200);
}

/// A process that accepts the WebSocket upgrade and echoes what it receives.
async fn echo_upgrade_app() -> SocketAddr {
    serve(|mut req: Request<Incoming>, _peer| async move {
        let upgrade = hyper::upgrade::on(&mut req);
        tokio::spawn(async move {
            if let Ok(upgraded) = upgrade.await {
                let mut io = TokioIo::new(upgraded);
                let mut buf = [0u8; 1024];
                while let Ok(n) = io.read(&mut buf).await {
                    if n == 0 || io.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        });
        hyper::Response::builder()
            .status(101)
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
            .body(Body::empty())
            .unwrap()
    })
    .await
}

#[tokio::test]
async fn a_websocket_upgrade_passes_through_both_ways() {
    let app = echo_upgrade_app().await;
    let routes = RouteTableHandle::new();
    routes.publish(table(&[app], 1, None));
    let router = router(routes, config()).await;
    let mut stream = TcpStream::connect(router).await.unwrap();
    stream
        .write_all(
            b"GET /socket HTTP/1.1\r\nHost: hello.localhost\r\nConnection: Upgrade\r\n\
              Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
              Sec-WebSocket-Version: 13\r\n\r\n",
        )
        .await
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut byte))
            .await
            .expect("head in time")
            .unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("upgrade: websocket"), "{head}");
    assert!(head.contains("sec-websocket-accept"), "{head}");
    for message in [&b"ping 1"[..], b"and a second message"] {
        stream.write_all(message).await.unwrap();
        let mut echoed = vec![0u8; message.len()];
        tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut echoed))
            .await
            .expect("echo in time")
            .unwrap();
        assert_eq!(echoed, message);
    }
}

#[tokio::test]
async fn server_sent_events_arrive_one_by_one_not_buffered() {
    let app = serve(|_req, _peer| async {
        let (tx, rx) =
            tokio::sync::mpsc::channel::<Result<hyper::body::Frame<Bytes>, std::io::Error>>(4);
        tokio::spawn(async move {
            for n in 1..=3 {
                let event = Bytes::from(format!("data: event {n}\n\n"));
                if tx.send(Ok(hyper::body::Frame::data(event))).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(700)).await;
            }
        });
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        hyper::Response::builder()
            .header("content-type", "text/event-stream")
            .body(Body::new(http_body_util::StreamBody::new(stream)))
            .unwrap()
    })
    .await;
    let routes = RouteTableHandle::new();
    routes.publish(table(&[app], 1, None));
    let router = router(routes, config()).await;
    let mut stream = TcpStream::connect(router).await.unwrap();
    stream
        .write_all(b"GET /events HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut seen = String::new();
    let mut buf = [0u8; 1024];
    while !seen.contains("event 1") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("first event in time")
            .unwrap();
        assert!(n > 0);
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    // The first event came before the app sent the second (700 ms later).
    assert!(started.elapsed() < Duration::from_millis(600), "{seen}");
    assert!(!seen.contains("event 2"), "{seen}");
    while !seen.contains("event 2") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("second event in time")
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// Request heads built from pieces users and attackers send: methods, targets, headers
    /// with odd values, broken framing, raw bytes.
    fn request_bytes() -> impl Strategy<Value = Vec<u8>> {
        let method = prop_oneof![
            Just("GET".to_string()),
            Just("POST".to_string()),
            Just("CONNECT".to_string()),
            "[A-Z]{0,8}",
        ];
        let target = prop_oneof![
            Just("/".to_string()),
            Just("*".to_string()),
            Just("http://hello.localhost/x".to_string()),
            "[ -~]{0,40}",
        ];
        let header = prop_oneof![
            Just("Host: hello.localhost".to_string()),
            Just("Connection: Upgrade".to_string()),
            Just("Upgrade: websocket".to_string()),
            Just("Transfer-Encoding: chunked".to_string()),
            Just("Content-Length: 5".to_string()),
            Just("Content-Length: -1".to_string()),
            Just("X-Request-Id: short".to_string()),
            "[!-~]{1,12}: [ -~]{0,30}",
        ];
        (
            method,
            target,
            proptest::collection::vec(header, 0..6),
            proptest::collection::vec(any::<u8>(), 0..64),
        )
            .prop_map(|(m, t, headers, tail)| {
                let mut raw =
                    format!("{m} {t} HTTP/1.1\r\n{}\r\n\r\n", headers.join("\r\n")).into_bytes();
                raw.extend(tail);
                raw
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever arrives, the router answers with HTTP or closes the connection, and keeps
        /// serving well-formed requests afterwards.
        #[test]
        fn any_request_is_answered_or_closed_and_the_router_keeps_serving(raw in request_bytes()) {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async move {
                let app = app_saying("fine").await;
                let routes = RouteTableHandle::new();
                routes.publish(table(&[app], 1, None));
                let router = router(routes, config()).await;
                let mut stream = TcpStream::connect(router).await.unwrap();
                let _ = stream.write_all(&raw).await;
                let _ = stream.shutdown().await;
                let mut answer = Vec::new();
                let read = tokio::time::timeout(
                    Duration::from_secs(10),
                    stream.read_to_end(&mut answer),
                )
                .await;
                prop_assert!(read.is_ok(), "no answer and no close for {:?}", String::from_utf8_lossy(&raw));
                prop_assert!(
                    answer.is_empty() || answer.starts_with(b"HTTP/1."),
                    "{:?}", String::from_utf8_lossy(&answer)
                );
                prop_assert_eq!(get(router).await.0, 200);
                Ok(())
            })?;
        }
    }
}

/// A process written by hand: answers each request on a connection with `answer(n)` (n
/// counting the requests on that connection) and closes after it when told so; records the
/// heads and bodies it got.
async fn raw_app(
    answer: fn(usize) -> (Vec<u8>, bool),
) -> (SocketAddr, Arc<Mutex<Vec<String>>>, Arc<Mutex<usize>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let connections: Arc<Mutex<usize>> = Arc::default();
    let (seen2, connections2) = (seen.clone(), connections.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            *connections2.lock().unwrap() += 1;
            let seen = seen2.clone();
            tokio::spawn(async move {
                let mut pending = Vec::new();
                let mut buf = [0u8; 4096];
                for n in 0.. {
                    // One head and its Content-Length body.
                    let (head_end, length) = loop {
                        if let Some(i) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&pending[..i]).to_ascii_lowercase();
                            let length = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length: "))
                                .and_then(|v| v.trim().parse::<usize>().ok())
                                .unwrap_or(0);
                            break (i + 4, length);
                        }
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(k) => pending.extend_from_slice(&buf[..k]),
                        }
                    };
                    while pending.len() < head_end + length {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(k) => pending.extend_from_slice(&buf[..k]),
                        }
                    }
                    let request: Vec<u8> = pending.drain(..head_end + length).collect();
                    seen.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&request).to_string());
                    let (bytes, close) = answer(n);
                    if stream.write_all(&bytes).await.is_err() || close {
                        return;
                    }
                }
            });
        }
    });
    (addr, seen, connections)
}

/// Reads one HTTP/1.1 answer (by Content-Length or chunked) from `stream`, after `pending`.
async fn read_answer(stream: &mut TcpStream, pending: &mut Vec<u8>) -> (String, Vec<u8>) {
    let mut buf = [0u8; 4096];
    loop {
        if let Some(i) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..i + 4]).to_string();
            let lower = head.to_ascii_lowercase();
            pending.drain(..i + 4);
            let length = lower
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|v| v.trim().parse::<usize>().ok());
            let body = if let Some(length) = length {
                while pending.len() < length {
                    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
                        .await
                        .expect("body in time")
                        .unwrap();
                    assert!(n > 0, "closed inside the body");
                    pending.extend_from_slice(&buf[..n]);
                }
                pending.drain(..length).collect()
            } else if lower.contains("transfer-encoding: chunked") {
                let mut body = Vec::new();
                loop {
                    let line_end = loop {
                        if let Some(e) = pending.windows(2).position(|w| w == b"\r\n") {
                            break e;
                        }
                        let n = stream.read(&mut buf).await.unwrap();
                        assert!(n > 0);
                        pending.extend_from_slice(&buf[..n]);
                    };
                    let size = usize::from_str_radix(
                        String::from_utf8_lossy(&pending[..line_end])
                            .split(';')
                            .next()
                            .unwrap_or("")
                            .trim(),
                        16,
                    )
                    .unwrap();
                    if size == 0 {
                        // The trailers and the final CRLF are left in `pending`.
                        pending.drain(..line_end + 2);
                        break body;
                    }
                    while pending.len() < line_end + 2 + size + 2 {
                        let n = stream.read(&mut buf).await.unwrap();
                        assert!(n > 0);
                        pending.extend_from_slice(&buf[..n]);
                    }
                    body.extend_from_slice(&pending[line_end + 2..line_end + 2 + size]);
                    pending.drain(..line_end + 2 + size + 2);
                }
            } else {
                Vec::new()
            };
            return (head, body);
        }
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("head in time")
            .unwrap();
        assert!(n > 0, "closed before a head");
        pending.extend_from_slice(&buf[..n]);
    }
}

/// The fast path's relays: a Content-Length body sent on, answers by length, in chunks
/// (passed through, the connection reused) and until the process closes (chunked to the
/// client), pipelined requests, hop-by-hop headers removed both ways, the forwarded headers,
/// and one record per request.
#[tokio::test]
async fn every_kind_of_answer_is_relayed_and_kept_connections_reused() {
    fn answer(n: usize) -> (Vec<u8>, bool) {
        match n % 4 {
            0 => (
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nX-App: yes\r\n\r\nhello"
                    .to_vec(),
                false,
            ),
            1 => (
                b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\nX-Trailer: 1\r\n\r\n"
                    .to_vec(),
                false,
            ),
            2 => (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec(), false),
            _ => (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close".to_vec(), true),
        }
    }
    let (app, seen, connections) = raw_app(answer).await;
    let routes = RouteTableHandle::new();
    routes.publish(table(&[app], 1, None));
    let (sink, mut records) = paas_router::record_channel(64);
    let proxy = Proxy::new(routes, config()).with_records(sink);
    let router = serve_router(proxy, "hello", true).await;
    let mut stream = TcpStream::connect(router).await.unwrap();
    let mut pending = Vec::new();
    for round in 0..2 {
        // Two requests in one write: the second is read with the first.
        stream
            .write_all(b"POST /upload?x=1 HTTP/1.1\r\nHost: hello.localhost\r\nContent-Length: 11\r\nX-Forwarded-For: 10.1.1.1\r\nProxy-Connection: x\r\n\r\nhello worldGET /chunks HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
            .await
            .unwrap();
        let (head, body) = read_answer(&mut stream, &mut pending).await;
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(
            head.contains("X-App: yes") && !head.contains("X-Hop"),
            "{head}"
        );
        assert!(!head.to_ascii_lowercase().contains("connection"), "{head}");
        assert_eq!(body, b"hello");
        let (head, body) = read_answer(&mut stream, &mut pending).await;
        assert!(head.starts_with("HTTP/1.1 201 Created\r\n"), "{head}");
        assert_eq!(body, b"abcdefg");
        // The body's trailer passed through too; nothing is left over.
        assert_eq!(pending, b"X-Trailer: 1\r\n\r\n", "round {round}");
        pending.clear();
        // A large body, sent in pieces.
        let big = vec![b'z'; 100_000];
        stream
            .write_all(
                format!(
                    "PUT /big HTTP/1.1\r\nHost: hello.localhost\r\nContent-Length: {}\r\n\r\n",
                    big.len()
                )
                .as_bytes(),
            )
            .await
            .unwrap();
        for piece in big.chunks(30_000) {
            stream.write_all(piece).await.unwrap();
        }
        let (head, body) = read_answer(&mut stream, &mut pending).await;
        assert!(head.contains("Content-Length: 0"), "{head}");
        assert!(body.is_empty());
        stream
            .write_all(b"GET /close HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
            .await
            .unwrap();
        let (head, body) = read_answer(&mut stream, &mut pending).await;
        assert!(
            head.to_ascii_lowercase()
                .contains("transfer-encoding: chunked"),
            "{head}"
        );
        assert_eq!(body, b"until close");
        // No trailers: the final CRLF.
        let mut buf = [0u8; 16];
        while pending.len() < 2 {
            let n = stream.read(&mut buf).await.unwrap();
            pending.extend_from_slice(&buf[..n]);
        }
        assert_eq!(pending, b"\r\n");
        pending.clear();
    }
    // The process closed after each fourth answer: two connections, three requests each
    // on a kept one.
    assert_eq!(*connections.lock().unwrap(), 2);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 8);
    let first = seen[0].to_ascii_lowercase();
    assert!(
        first.starts_with("post /upload?x=1 http/1.1\r\n"),
        "{first}"
    );
    assert!(first.ends_with("\r\n\r\nhello world"), "{first}");
    assert!(
        first.contains("x-forwarded-for: 10.1.1.1, 127.0.0.1\r\n"),
        "{first}"
    );
    assert!(
        first.contains("x-forwarded-port: 8080\r\n") && first.contains("via: 1.1 paas\r\n"),
        "{first}"
    );
    assert!(!first.contains("proxy-connection"), "{first}");
    assert_eq!(
        seen[2].len() - seen[2].find("\r\n\r\n").unwrap() - 4,
        100_000
    );
    let mut batch = paas_router::RecordBatch::default();
    while batch.len() < 8 {
        tokio::time::timeout(Duration::from_secs(2), records.next_into(&mut batch))
            .await
            .expect("the records of the eight answers");
    }
    let got: Vec<paas_router::RouterLine<'_>> = batch.lines().collect();
    assert_eq!(got.len(), 8, "{got:?}");
    assert_eq!(got[0].app, "hello");
    assert!(
        got[0]
            .line
            .starts_with("at=info method=POST path=\"/upload\" host=hello.localhost "),
        "{}",
        got[0].line
    );
    assert!(
        got[0].line.contains(" dyno=web.1 ") && got[0].line.ends_with(" status=200 bytes=5"),
        "{}",
        got[0].line
    );
    assert_eq!((got[0].status, got[0].bytes), (200, 5));
    assert_eq!(got[1].status, 201);
    assert!(
        got[1].line.ends_with(" status=201 bytes=-"),
        "{}",
        got[1].line
    );
}

/// A process that closes its kept connection between two requests: the next request still
/// gets its answer (from a new connection), never an error.
#[tokio::test]
async fn a_kept_connection_the_process_closed_is_not_an_error() {
    fn answer(_n: usize) -> (Vec<u8>, bool) {
        // Keep-alive promised, then closed anyway.
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
            true,
        )
    }
    let (app, _seen, connections) = raw_app(answer).await;
    let routes = RouteTableHandle::new();
    routes.publish(table(&[app], 1, None));
    let router = serve_router(Proxy::new(routes, config()), "hello", true).await;
    let mut stream = TcpStream::connect(router).await.unwrap();
    let mut pending = Vec::new();
    for _ in 0..5 {
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
            .await
            .unwrap();
        let (head, body) = read_answer(&mut stream, &mut pending).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(body, b"ok");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(*connections.lock().unwrap(), 5);
}
