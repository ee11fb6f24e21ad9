//! Request and response header rewriting: forwarded headers added, hop-by-hop headers removed,
//! request ids kept or made.

use http::header::{HeaderMap, HeaderName, HeaderValue};
use std::net::SocketAddr;

// Header names made once, so the hot path never parses a name.
const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
const X_REQUEST_START: HeaderName = HeaderName::from_static("x-request-start");
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

const HOP_BY_HOP: [HeaderName; 9] = [
    http::header::CONNECTION,
    KEEP_ALIVE,
    http::header::PROXY_AUTHENTICATE,
    http::header::PROXY_AUTHORIZATION,
    PROXY_CONNECTION,
    http::header::TE,
    http::header::TRAILER,
    http::header::TRANSFER_ENCODING,
    http::header::UPGRADE,
];

/// Removes hop-by-hop headers, including those named by `Connection`.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    if !headers.contains_key(http::header::CONNECTION) {
        // Nothing is named; only the fixed list remains.
        for name in &HOP_BY_HOP[1..] {
            if headers.contains_key(name) {
                headers.remove(name);
            }
        }
        return;
    }
    let named: Vec<HeaderName> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in &HOP_BY_HOP {
        if headers.contains_key(name) {
            headers.remove(name);
        }
    }
}

/// A client's request id is kept when it is 20-200 characters of `[A-Za-z0-9-]`.
pub fn acceptable_request_id(id: &str) -> bool {
    (20..=200).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Facts about the client connection that forwarded headers carry.
pub struct ForwardedFor {
    pub peer: SocketAddr,
    pub local_port: u16,
    pub proto: &'static str,
    pub request_start_ms: u128,
}

/// Adds `X-Forwarded-*`, `X-Request-Start`, `X-Request-Id` and `Via`; returns the request id.
pub fn add_forwarded(headers: &mut HeaderMap, fwd: &ForwardedFor) -> String {
    let client_ip = fwd.peer.ip().to_string();
    let forwarded_for = match headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(existing) if !existing.trim().is_empty() => format!("{existing}, {client_ip}"),
        _ => client_ip,
    };
    set(headers, X_FORWARDED_FOR, &forwarded_for);
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(fwd.proto));
    headers.insert(X_FORWARDED_PORT, HeaderValue::from(fwd.local_port));
    headers.insert(
        X_REQUEST_START,
        HeaderValue::from(u64::try_from(fwd.request_start_ms).unwrap_or(u64::MAX)),
    );
    let request_id = headers
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| acceptable_request_id(id))
        .map(str::to_string)
        .unwrap_or_else(new_request_id);
    set(headers, X_REQUEST_ID, &request_id);
    headers.append(http::header::VIA, HeaderValue::from_static("1.1 paas"));
    request_id
}

/// A random (version 4) UUID from the thread's own generator: `Uuid::new_v4` asks the kernel
/// for randomness on every call, a system call per request on the router's hot path.
pub(crate) fn new_request_id() -> String {
    let mut id = String::with_capacity(uuid::fmt::Hyphenated::LENGTH);
    push_new_request_id(&mut id);
    id
}

/// A new request id (a random UUID) written at the end of `out`.
pub(crate) fn push_new_request_id(out: &mut String) {
    let bytes: [u8; 16] = rand::random();
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    out.push_str(
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .encode_lower(&mut text),
    );
}

fn set(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// `ip` as text, handed to `push` in pieces (an IPv4 address octet by octet, without the
/// formatting machinery: this runs for every request).
pub(crate) fn push_ip(ip: std::net::IpAddr, mut push: impl FnMut(&str)) {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let mut digits = itoa::Buffer::new();
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    push(".");
                }
                push(digits.format(octet));
            }
        }
        std::net::IpAddr::V6(v6) => push(&v6.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_hop_by_hop_and_connection_named() {
        let mut h = HeaderMap::new();
        h.insert(
            "connection",
            HeaderValue::from_static("keep-alive, x-secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("5"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut h);
        assert!(h.get("x-secret").is_none());
        assert!(h.get("keep-alive").is_none());
        assert!(h.get("connection").is_none());
        assert!(h.get("x-kept").is_some());
    }

    #[test]
    fn request_id_rules() {
        assert!(acceptable_request_id("abcdefghij-0123456789"));
        assert!(!acceptable_request_id("short"));
        assert!(!acceptable_request_id("abcdefghij_0123456789"));
        assert!(!acceptable_request_id(&"a".repeat(201)));
    }

    #[test]
    fn adds_forwarded_headers() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        let fwd = ForwardedFor {
            peer: "1.2.3.4:5555".parse().unwrap(),
            local_port: 8080,
            proto: "http",
            request_start_ms: 42,
        };
        let id = add_forwarded(&mut h, &fwd);
        assert_eq!(h["x-forwarded-for"], "10.0.0.1, 1.2.3.4");
        assert_eq!(h["x-forwarded-port"], "8080");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-request-start"], "42");
        assert_eq!(h["x-request-id"], id.as_str());
        assert_eq!(h["via"], "1.1 paas");
        let made = uuid::Uuid::parse_str(&id).unwrap();
        assert_eq!(made.get_version_num(), 4);
        assert_ne!(new_request_id(), new_request_id());
    }
}
