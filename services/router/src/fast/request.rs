//! A request head on the fast path: parsed in place, judged (the fast path takes it or the
//! hyper path does), its process picked and the head the process gets written, with the same
//! rules as the hyper path (`headers.rs`).

use super::{FastOptions, MAX_HEADERS};
use crate::headers::{acceptable_request_id, push_ip, push_new_request_id};
use crate::host::{classify_host, classify_plain_host, HostTarget, PlainHost};
use crate::proxy::Proxy;
use std::borrow::Cow;
use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

/// What a record says about a request. Its strings are one allocation: the app's name, the
/// process's, the path and host (only while records are kept), and the request id, back to
/// back.
pub(super) struct Facts {
    text: String,
    app_end: usize,
    dyno_end: usize,
    path_end: usize,
    host_end: usize,
    pub(super) method: Cow<'static, str>,
    pub(super) peer: SocketAddr,
    pub(super) at: SystemTime,
}

impl Facts {
    pub(super) fn app(&self) -> &str {
        &self.text[..self.app_end]
    }

    /// The process picked (`web.1`).
    pub(super) fn dyno(&self) -> &str {
        &self.text[self.app_end..self.dyno_end]
    }

    pub(super) fn path(&self) -> &str {
        &self.text[self.dyno_end..self.path_end]
    }

    pub(super) fn host(&self) -> &str {
        &self.text[self.path_end..self.host_end]
    }

    pub(super) fn request_id(&self) -> &str {
        &self.text[self.host_end..]
    }
}

/// A request the fast path takes.
pub(super) struct Request {
    /// The process picked.
    pub(super) addr: SocketAddr,
    pub(super) head_len: usize,
    pub(super) body_len: u64,
    /// The client asked to close the connection after this answer.
    pub(super) close: bool,
    pub(super) head_request: bool,
    /// The head as the process gets it.
    pub(super) upstream_head: Vec<u8>,
    pub(super) facts: Facts,
}

#[allow(clippy::large_enum_variant)] // made once per request, on the stack, never stored
pub(super) enum Parsed {
    Partial,
    Fallback,
    Ready(Request),
}

pub(super) fn is(name: &str, lower: &str) -> bool {
    name.eq_ignore_ascii_case(lower)
}

/// Headers that concern one connection only (`headers::HOP_BY_HOP`).
pub(super) fn hop_by_hop(name: &str) -> bool {
    [
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ]
    .iter()
    .any(|h| is(name, h))
}

pub(super) fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &bytes[start..end.max(start)]
}

pub(super) fn parse_length(value: &[u8]) -> Option<u64> {
    let value = trim(value);
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// A `Host` the fast path takes as it is: `name[:port]` of letters, digits, dots and dashes.
fn plain_host(value: &[u8]) -> Option<&str> {
    let value = std::str::from_utf8(trim(value)).ok()?;
    let (name, port) = match value.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (value, None),
    };
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u16>().is_ok()
    });
    (name_ok && port_ok).then_some(value)
}

/// Visible ASCII (what `HeaderValue::to_str` takes).
fn visible(value: &[u8]) -> Option<&str> {
    value
        .iter()
        .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
        .then(|| std::str::from_utf8(value).ok())
        .flatten()
}

/// Parses a request head at the start of `bytes` and decides whether the fast path takes it;
/// if so, picks the process and writes the head the process gets.
pub(super) fn prepare(
    proxy: &Proxy,
    options: &FastOptions,
    bytes: &[u8],
    peer: SocketAddr,
) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Fallback,
    };
    let (Some(method), Some(target), Some(1)) = (req.method, req.path, req.version) else {
        return Parsed::Fallback;
    };
    if method == "CONNECT" || !target.starts_with('/') {
        return Parsed::Fallback;
    }
    let Ok(path_and_query) = http::uri::PathAndQuery::try_from(target) else {
        return Parsed::Fallback;
    };
    let mut host = None;
    let mut hosts = 0;
    let mut content_length = None;
    let mut close = false;
    let mut named: Vec<&[u8]> = Vec::new();
    let mut forwarded_for = None;
    let mut request_id = None;
    for header in req.headers.iter() {
        let name = header.name;
        if is(name, "host") {
            hosts += 1;
            host = Some(header.value);
        } else if is(name, "content-length") {
            if content_length.is_some() {
                return Parsed::Fallback;
            }
            match parse_length(header.value) {
                Some(length) => content_length = Some(length),
                None => return Parsed::Fallback,
            }
        } else if is(name, "transfer-encoding") || is(name, "upgrade") || is(name, "expect") {
            return Parsed::Fallback;
        } else if is(name, "connection") {
            for token in header.value.split(|&b| b == b',').map(trim) {
                if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if token.eq_ignore_ascii_case(b"upgrade") {
                    return Parsed::Fallback;
                } else if !token.is_empty() {
                    named.push(token);
                }
            }
        } else if is(name, "x-forwarded-for") {
            forwarded_for.get_or_insert(header.value);
        } else if is(name, "x-request-id") {
            request_id.get_or_insert(header.value);
        }
    }
    if hosts != 1 {
        return Parsed::Fallback;
    }
    let Some(host) = host.and_then(plain_host) else {
        return Parsed::Fallback;
    };
    let table = proxy.table.snapshot();
    // The common host is classified without allocating; any other as the hyper path does.
    let classified;
    let app = match classify_plain_host(host, &options.domain) {
        Some(PlainHost::App(app)) => Some(app),
        Some(PlainHost::Platform) => table.app_for_domain(host),
        None => {
            classified = classify_host(host, &options.domain);
            match &classified {
                HostTarget::App(app) => Some(app.as_str()),
                HostTarget::Platform => table.app_for_domain(host),
            }
        }
    };
    let Some((app, route)) = app.and_then(|app| Some((app, table.apps.get(app)?))) else {
        return Parsed::Fallback;
    };
    if route.maintenance.is_some() {
        return Parsed::Fallback;
    }
    let Some(backend) = proxy.pick(&route.backends, &[]) else {
        return Parsed::Fallback;
    };

    let at = SystemTime::now();
    let recorded = proxy.recorded();
    let path = if recorded { path_and_query.path() } else { "" };
    let shown_host = if recorded { host } else { "" };
    let mut text = String::with_capacity(
        app.len()
            + backend.dyno.len()
            + path.len()
            + shown_host.len()
            + uuid::fmt::Hyphenated::LENGTH,
    );
    text.push_str(app);
    let app_end = text.len();
    text.push_str(&backend.dyno);
    let dyno_end = text.len();
    text.push_str(path);
    let path_end = text.len();
    text.push_str(shown_host);
    let host_end = text.len();
    match request_id
        .and_then(visible)
        .filter(|id| acceptable_request_id(id))
    {
        Some(id) => text.push_str(id),
        None => push_new_request_id(&mut text),
    }
    let facts = Facts {
        text,
        app_end,
        dyno_end,
        path_end,
        host_end,
        method: if recorded {
            method_name(method)
        } else {
            Cow::Borrowed("")
        },
        peer,
        at,
    };
    let mut out = Vec::with_capacity(head_len + 256);
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for header in req.headers.iter() {
        let name = header.name;
        if hop_by_hop(name)
            || named
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name.as_bytes()))
            || is(name, "x-forwarded-for")
            || is(name, "x-forwarded-proto")
            || is(name, "x-forwarded-port")
            || is(name, "x-request-start")
            || is(name, "x-request-id")
        {
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(header.value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"x-forwarded-for: ");
    if let Some(existing) = forwarded_for
        .and_then(visible)
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        out.extend_from_slice(existing.as_bytes());
        out.extend_from_slice(b", ");
    }
    let start_ms = at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    // Written piece by piece: this runs for every request.
    let mut digits = itoa::Buffer::new();
    push_ip(peer.ip(), |s| out.extend_from_slice(s.as_bytes()));
    out.extend_from_slice(b"\r\nx-forwarded-proto: http\r\nx-forwarded-port: ");
    out.extend_from_slice(digits.format(options.local_port).as_bytes());
    out.extend_from_slice(b"\r\nx-request-start: ");
    out.extend_from_slice(
        digits
            .format(u64::try_from(start_ms).unwrap_or(u64::MAX))
            .as_bytes(),
    );
    out.extend_from_slice(b"\r\nx-request-id: ");
    out.extend_from_slice(facts.request_id().as_bytes());
    out.extend_from_slice(b"\r\nvia: 1.1 paas\r\n\r\n");
    Parsed::Ready(Request {
        facts,
        addr: backend.addr,
        head_len,
        body_len: content_length.unwrap_or(0),
        close,
        head_request: method == "HEAD",
        upstream_head: out,
    })
}

/// `method` as the facts keep it: the standard methods as static strings (no allocation per
/// request).
fn method_name(method: &str) -> Cow<'static, str> {
    const STANDARD: [&str; 9] = [
        "GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS", "CONNECT", "TRACE",
    ];
    match STANDARD.iter().find(|m| **m == method) {
        Some(m) => Cow::Borrowed(m),
        None => Cow::Owned(method.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fast::response::{parse_response, Chunks};
    use crate::table::{AppRoute, Backend, RouteTable, RouteTableHandle};
    use crate::ProxyConfig;
    use proptest::prelude::*;
    use std::time::Duration;

    const BACKEND: &str = "10.0.0.9:5000";

    fn proxy() -> Proxy {
        let table = RouteTableHandle::new();
        table.publish(RouteTable {
            apps: [(
                "hello".to_string(),
                AppRoute {
                    backends: vec![Backend {
                        addr: BACKEND.parse().unwrap(),
                        dyno: "web.1".into(),
                    }],
                    web_wanted: 1,
                    maintenance: None,
                },
            )]
            .into(),
            domains: [("www.example.com".to_string(), "hello".to_string())].into(),
        });
        Proxy::new(table, ProxyConfig::default())
    }

    fn options() -> FastOptions {
        FastOptions {
            domain: "localhost".into(),
            local_port: 8080,
            header_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(5),
            park_after: None,
        }
    }

    fn peer() -> SocketAddr {
        "1.2.3.4:5555".parse().unwrap()
    }

    fn ready(raw: &[u8]) -> Request {
        match prepare(&proxy(), &options(), raw, peer()) {
            Parsed::Ready(request) => request,
            Parsed::Partial => panic!("partial: {}", String::from_utf8_lossy(raw)),
            Parsed::Fallback => panic!("fallback: {}", String::from_utf8_lossy(raw)),
        }
    }

    fn falls_back(raw: &[u8]) -> bool {
        matches!(prepare(&proxy(), &options(), raw, peer()), Parsed::Fallback)
    }

    #[test]
    fn the_head_a_process_gets_follows_the_hyper_paths_rules() {
        let raw = b"GET /a?b=1 HTTP/1.1\r\nHost: hello.localhost:8080\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\nX-Request-Id: abcdefghij-0123456789\r\nVia: 1.0 other\r\nX-Kept: yes\r\n\r\nNEXT";
        let request = ready(raw);
        assert_eq!(request.head_len, raw.len() - 4);
        assert_eq!(request.addr, BACKEND.parse().unwrap());
        assert_eq!(request.facts.dyno(), "web.1");
        assert_eq!(request.body_len, 0);
        assert!(!request.close);
        let head = String::from_utf8(request.upstream_head).unwrap();
        assert!(head.starts_with("GET /a?b=1 HTTP/1.1\r\n"), "{head}");
        assert!(head.ends_with("\r\n\r\n"), "{head}");
        let lower = head.to_ascii_lowercase();
        for gone in ["x-secret", "keep-alive", "te:", "connection", "https"] {
            assert!(!lower.contains(gone), "{gone} in {head}");
        }
        for kept in [
            "Host: hello.localhost:8080\r\n",
            "X-Kept: yes\r\n",
            "Via: 1.0 other\r\n",
            "via: 1.1 paas\r\n",
            "x-forwarded-for: 10.0.0.1, 1.2.3.4\r\n",
            "x-forwarded-proto: http\r\n",
            "x-forwarded-port: 8080\r\n",
            "x-request-id: abcdefghij-0123456789\r\n",
            "x-request-start: ",
        ] {
            assert!(head.contains(kept), "{kept:?} not in {head}");
        }
        assert_eq!(lower.matches("x-request-id").count(), 1, "{head}");
        assert_eq!(request.facts.request_id(), "abcdefghij-0123456789");
    }

    #[test]
    fn a_short_request_id_is_replaced_and_a_body_length_read() {
        let request = ready(
            b"POST /x HTTP/1.1\r\nhost: www.example.com\r\nx-request-id: short\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
        );
        assert_eq!(request.facts.app(), "hello", "a custom domain");
        assert_eq!(request.body_len, 5);
        assert!(request.close);
        assert_ne!(request.facts.request_id(), "short");
        assert!(uuid::Uuid::parse_str(request.facts.request_id()).is_ok());
        let head = String::from_utf8(request.upstream_head).unwrap();
        assert!(head.contains("content-length: 5\r\n"), "{head}");
        assert!(head.contains("x-forwarded-for: 1.2.3.4\r\n"), "{head}");
    }

    #[test]
    fn what_the_fast_path_does_not_take_goes_to_hyper() {
        for raw in [
            &b"GET / HTTP/1.0\r\nHost: hello.localhost\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: paas.localhost\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: nosuchapp.localhost\r\n\r\n",
            b"GET / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: hello.localhost\r\nHost: hello.localhost\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: user@hello.localhost\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: hello.localhost:99999\r\n\r\n",
            b"GET http://hello.localhost/ HTTP/1.1\r\nHost: hello.localhost\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: hello.localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: hello.localhost\r\nUpgrade: h2c\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: hello.localhost\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: hello.localhost\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: hello.localhost\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: hello.localhost\r\nContent-Length: -1\r\n\r\n",
            b"CONNECT hello.localhost:80 HTTP/1.1\r\nHost: hello.localhost\r\n\r\n",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost hello.localhost\r\n\r\n",
        ] {
            assert!(falls_back(raw), "{}", String::from_utf8_lossy(raw));
        }
        assert!(matches!(
            prepare(&proxy(), &options(), b"GET / HTTP/1.1\r\nHost: hel", peer()),
            Parsed::Partial
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// Random bytes and random heads: parsing never panics, and a taken request's head
        /// for the process ends its header block once.
        #[test]
        fn parsing_random_bytes_never_panics(
            raw in proptest::collection::vec(any::<u8>(), 0..600),
            head in "(GET|POST|HEAD|X) /[ -~]{0,20} HTTP/1\\.[01]\r\n(Host: hello\\.localhost\r\n)?([A-Za-z-]{1,10}: [ -~]{0,20}\r\n){0,6}\r\n",
        ) {
            let proxy = proxy();
            for bytes in [&raw[..], head.as_bytes()] {
                if let Parsed::Ready(request) = prepare(&proxy, &options(), bytes, peer()) {
                    prop_assert!(request.head_len <= bytes.len());
                    let upstream = String::from_utf8_lossy(&request.upstream_head).to_string();
                    prop_assert_eq!(upstream.matches("\r\n\r\n").count(), 1, "{}", upstream);
                }
                let _ = parse_response(bytes, false, false);
                let mut chunks = Chunks::default();
                for piece in bytes.chunks(7) {
                    if !matches!(chunks.feed(piece), Ok(None)) {
                        break;
                    }
                }
            }
        }
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
