//! Health checks of web processes: by default the process answers HTTP on its port (any
//! status counts); with an app.json check (carried by the container's label), a GET of its
//! path must answer the expected status and content.

use paas_domain::{HealthCheck, HEALTHCHECK_LABEL};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Whether an HTTP server answers at `addr` within `timeout`.
pub async fn answers_http(addr: SocketAddr, timeout: Duration) -> bool {
    tokio::time::timeout(timeout, probe(addr))
        .await
        .unwrap_or(false)
}

/// The app.json check a container carries, if any.
pub fn check_from_labels(labels: &BTreeMap<String, String>) -> Option<HealthCheck> {
    labels
        .get(HEALTHCHECK_LABEL)
        .and_then(|l| HealthCheck::from_label(l))
}

/// Longest a single attempt may hold up a reconcile pass.
const MAX_ATTEMPT: Duration = Duration::from_secs(2);
/// How much of the body is read to look for the expected content.
const MAX_BODY: usize = 64 * 1024;

/// Whether the process at `addr`, created at `created` (unix seconds), passes `check` now
/// (`now_ms`, unix milliseconds): never before its initial delay.
pub async fn passes(check: &HealthCheck, addr: SocketAddr, created: i64, now_ms: i64) -> bool {
    let ready_at = created
        .saturating_add(i64::try_from(check.initial_delay).unwrap_or(i64::MAX))
        .saturating_mul(1000);
    if now_ms < ready_at {
        return false;
    }
    let limit = Duration::from_secs(check.timeout).min(MAX_ATTEMPT);
    match tokio::time::timeout(limit, get(addr, &check.path)).await {
        Ok(Some((status, body))) => check.accepts(status, &body),
        _ => false,
    }
}

/// GET `path`: the status and the start of the body.
async fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: paas-health-check\r\nUser-Agent: paas-health-check\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || answer.len() >= MAX_BODY {
            break;
        }
        answer.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

async fn probe(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return false;
    };
    let request =
        b"GET / HTTP/1.0\r\nHost: paas-health-check\r\nUser-Agent: paas-health-check\r\n\r\n";
    if stream.write_all(request).await.is_err() {
        return false;
    }
    let mut head = [0u8; 5];
    stream.read_exact(&mut head).await.is_ok() && &head == b"HTTP/"
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn http_server_answers_and_silent_port_does_not() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 256];
            let _ = socket.read(&mut buf).await;
            socket
                .write_all(b"HTTP/1.0 500 Oops\r\n\r\n")
                .await
                .unwrap();
        });
        assert!(answers_http(addr, Duration::from_secs(2)).await);

        let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let silent_addr = silent.local_addr().unwrap();
        assert!(!answers_http(silent_addr, Duration::from_millis(300)).await);
        drop(silent);
        assert!(!answers_http(silent_addr, Duration::from_millis(300)).await);
    }

    /// A server answering every connection with `answer`.
    async fn serve(answer: &'static str) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn an_app_json_check_wants_its_status_and_content_after_its_delay() {
        let check = HealthCheck::from_app_json(
            r#"{"healthchecks": {"web": [{"path": "/ready", "content": "ready"}]}}"#,
        )
        .unwrap()
        .unwrap();
        let ready = serve("HTTP/1.0 200 OK\r\n\r\nall ready\n").await;
        let starting = serve("HTTP/1.0 200 OK\r\n\r\nstarting\n").await;
        let failing = serve("HTTP/1.0 503 Busy\r\n\r\nready\n").await;
        assert!(passes(&check, ready, 0, 1_000).await);
        assert!(!passes(&check, starting, 0, 1_000).await);
        assert!(!passes(&check, failing, 0, 1_000).await);

        let delayed = HealthCheck {
            initial_delay: 10,
            ..check
        };
        assert!(!passes(&delayed, ready, 100, 105_000).await);
        assert!(passes(&delayed, ready, 100, 110_000).await);
        let labels = BTreeMap::from([(HEALTHCHECK_LABEL.to_string(), delayed.to_label())]);
        assert_eq!(check_from_labels(&labels), Some(delayed));
    }
}
