//! One record per proxied request (Heroku's router line: method, path, host, request id,
//! client, process, connect and service times, status, bytes; `at=error code=H..` for the
//! router's own errors), handed to whoever keeps the app's log without ever blocking the
//! request: a bounded channel, `try_send`, and a count of the records dropped when it is full.
//! Records serialize, so a separate router (`paasd router`) can ship them to the control plane.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

/// What the router knows about one finished request (its response head sent, or its error).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RequestRecord {
    pub app: String,
    /// When the router took the request.
    pub at: SystemTime,
    /// A standard method is a static string (no allocation per request).
    pub method: Cow<'static, str>,
    pub path: String,
    pub host: String,
    pub request_id: String,
    pub client: IpAddr,
    /// The process that answered (`web.1`), `None` when none did.
    pub dyno: Option<String>,
    pub connect_ms: u64,
    pub service_ms: u64,
    pub status: u16,
    /// The response's `Content-Length`, when it gave one.
    pub bytes: Option<u64>,
    /// The router's error code (`H10`, `H12`, ...) when the router answered itself.
    pub error: Option<RecordError>,
}

/// The router's own error in a record: Heroku's code and its description.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordError {
    pub code: Cow<'static, str>,
    pub description: Cow<'static, str>,
}

impl RequestRecord {
    /// The record of a request the router answered itself with `error` (`H12`, ...): no
    /// process, no bytes, the time since the router took it as its service time.
    #[allow(clippy::too_many_arguments)] // the facts of one request, each named at the call
    pub(crate) fn router_error(
        app: String,
        at: SystemTime,
        method: Cow<'static, str>,
        path: String,
        host: String,
        request_id: String,
        client: IpAddr,
        error: crate::pages::RouterError,
    ) -> Self {
        let service_ms = at
            .elapsed()
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        Self {
            app,
            at,
            method,
            path,
            host,
            request_id,
            client,
            dyno: None,
            connect_ms: 0,
            service_ms,
            status: error.status().as_u16(),
            bytes: None,
            error: Some(RecordError {
                code: error.code().into(),
                description: error.description().into(),
            }),
        }
    }
}

impl fmt::Display for RequestRecord {
    /// Heroku's router line, without the timestamp and `heroku[router]:` prefix, e.g.
    /// `at=info method=GET path="/" host=a.example.com request_id=... fwd="1.2.3.4"
    /// dyno=web.1 connect=0ms service=3ms status=200 bytes=5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error {
            Some(e) => write!(f, "at=error code={} desc=\"{}\" ", e.code, e.description)?,
            None => f.write_str("at=info ")?,
        }
        write!(
            f,
            "method={} path=\"{}\" host={} request_id={} fwd=\"{}\" dyno={} connect={}ms service={}ms status={} bytes=",
            self.method,
            escape_quotes(&self.path),
            self.host,
            self.request_id,
            self.client,
            self.dyno.as_deref().unwrap_or(""),
            self.connect_ms,
            self.service_ms,
            self.status,
        )?;
        match self.bytes {
            Some(n) => write!(f, "{n}"),
            None => f.write_str("-"),
        }
    }
}

/// `method` as a record keeps it: the standard methods as static strings.
pub fn method_name(method: &str) -> Cow<'static, str> {
    const STANDARD: [&str; 9] = [
        "GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS", "CONNECT", "TRACE",
    ];
    match STANDARD.iter().find(|m| **m == method) {
        Some(m) => Cow::Borrowed(m),
        None => Cow::Owned(method.to_string()),
    }
}

fn escape_quotes(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('"') {
        s.replace('"', "%22").into()
    } else {
        s.into()
    }
}

/// The router's end of the record channel. Cheap to clone; never waits.
#[derive(Debug, Clone)]
pub struct RecordSink {
    tx: tokio::sync::mpsc::Sender<RequestRecord>,
    dropped: Arc<AtomicU64>,
}

/// The reading end, for the log keeper.
#[derive(Debug)]
pub struct RecordSource {
    pub rx: tokio::sync::mpsc::Receiver<RequestRecord>,
    dropped: Arc<AtomicU64>,
}

impl RecordSource {
    /// Records dropped so far because the reader fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// A channel holding at most `capacity` records not yet read.
pub fn record_channel(capacity: usize) -> (RecordSink, RecordSource) {
    let (tx, rx) = tokio::sync::mpsc::channel(capacity.max(1));
    let dropped = Arc::new(AtomicU64::new(0));
    (
        RecordSink {
            tx,
            dropped: dropped.clone(),
        },
        RecordSource { rx, dropped },
    )
}

impl RecordSink {
    /// Hands a record over, or counts it as dropped when the reader is behind or gone.
    pub fn offer(&self, record: RequestRecord) {
        if self.tx.try_send(record).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> RequestRecord {
        RequestRecord {
            app: "shop".into(),
            at: SystemTime::UNIX_EPOCH,
            method: "GET".into(),
            path: "/a\"b".into(),
            host: "shop.example.com".into(),
            request_id: "abc".into(),
            client: "10.0.0.1".parse().unwrap(),
            dyno: Some("web.1".into()),
            connect_ms: 1,
            service_ms: 12,
            status: 200,
            bytes: Some(5),
            error: None,
        }
    }

    #[test]
    fn renders_herokus_router_line() {
        assert_eq!(
            record().to_string(),
            "at=info method=GET path=\"/a%22b\" host=shop.example.com request_id=abc fwd=\"10.0.0.1\" dyno=web.1 connect=1ms service=12ms status=200 bytes=5"
        );
        let mut failed = record();
        failed.error = Some(RecordError {
            code: "H12".into(),
            description: "Request timeout".into(),
        });
        failed.dyno = None;
        failed.bytes = None;
        failed.status = 503;
        assert!(failed
            .to_string()
            .starts_with("at=error code=H12 desc=\"Request timeout\" method=GET"));
        assert!(failed
            .to_string()
            .ends_with("dyno= connect=1ms service=12ms status=503 bytes=-"));
    }

    #[tokio::test]
    async fn a_full_channel_drops_and_counts_instead_of_waiting() {
        let (sink, mut source) = record_channel(2);
        for _ in 0..5 {
            sink.offer(record());
        }
        assert_eq!(source.dropped(), 3);
        assert!(source.rx.recv().await.is_some());
        assert!(source.rx.recv().await.is_some());
        assert!(source.rx.try_recv().is_err());
    }

    #[test]
    fn standard_methods_are_static_and_others_kept_as_sent() {
        assert!(matches!(method_name("GET"), Cow::Borrowed("GET")));
        assert!(matches!(method_name("PATCH"), Cow::Borrowed("PATCH")));
        assert_eq!(method_name("PROPFIND"), "PROPFIND");
        assert!(
            matches!(method_name("get"), Cow::Owned(_)),
            "methods are case-sensitive"
        );
    }
}
