//! The one host a request is for: its single `Host` header, or the authority of an
//! absolute-form target (`GET http://host/ HTTP/1.1`, HTTP/2's `:authority`). Requests that
//! name their host ambiguously (two `Host` headers, a `Host` that is not a host, or a `Host`
//! that names another host than the target) are refused with 400 before any routing, so the
//! router and the API never have to pick one.

use http::uri::{Authority, Uri};
use http::{header::HOST, HeaderMap};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error("Bad request: the request has more than one Host header.")]
    Duplicate,
    #[error("Bad request: the Host header is not a valid host.")]
    Invalid,
    #[error(
        "Bad request: the Host header ({header}) names another host than the request target \
         ({target})."
    )]
    Conflict { header: String, target: String },
}

/// The request's host (`name` or `name:port`), or `""` when it names none (HTTP/1.0).
pub fn request_host(headers: &HeaderMap, uri: &Uri) -> Result<String, HostError> {
    let mut values = headers.get_all(HOST).iter();
    let header = values.next();
    if values.next().is_some() {
        return Err(HostError::Duplicate);
    }
    let header = match header {
        None => None,
        Some(value) => {
            let text = value.to_str().map_err(|_| HostError::Invalid)?.trim();
            if text.is_empty() {
                None
            } else {
                Some(parse_host(text)?)
            }
        }
    };
    let target = uri.authority();
    match (header, target) {
        (Some(header), Some(target)) if !same_host(&header, target) => Err(HostError::Conflict {
            header: header.to_string(),
            target: host_and_port(target),
        }),
        (Some(header), _) => Ok(header.to_string()),
        (None, Some(target)) => Ok(host_and_port(target)),
        (None, None) => Ok(String::new()),
    }
}

/// A `Host` value must be `host[:port]` with a numeric port: no user info, path or anything
/// else.
fn parse_host(text: &str) -> Result<Authority, HostError> {
    let authority: Authority = text.parse().map_err(|_| HostError::Invalid)?;
    if authority.as_str().contains('@') || authority.host().is_empty() {
        return Err(HostError::Invalid);
    }
    let port_ok = match authority.as_str().strip_prefix(authority.host()) {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix(':')
            .is_some_and(|port| port.parse::<u16>().is_ok()),
        None => false,
    };
    if !port_ok {
        return Err(HostError::Invalid);
    }
    Ok(authority)
}

fn host_and_port(authority: &Authority) -> String {
    match authority.port() {
        Some(port) => format!("{}:{port}", authority.host()),
        None => authority.host().to_string(),
    }
}

/// Same host (any case, trailing dot or not) and same port (none meaning 80).
fn same_host(a: &Authority, b: &Authority) -> bool {
    let name = |x: &Authority| x.host().trim_end_matches('.').to_ascii_lowercase();
    let port = |x: &Authority| x.port_u16().unwrap_or(80);
    name(a) == name(b) && port(a) == port(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use proptest::prelude::*;

    fn headers(hosts: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for host in hosts {
            map.append(HOST, HeaderValue::from_bytes(host).unwrap());
        }
        map
    }

    fn origin() -> Uri {
        Uri::from_static("/path")
    }

    #[test]
    fn one_host_header() {
        let host = request_host(&headers(&[b"hello.localhost:8080"]), &origin());
        assert_eq!(host.unwrap(), "hello.localhost:8080");
        assert_eq!(request_host(&headers(&[]), &origin()).unwrap(), "");
        assert_eq!(request_host(&headers(&[b" "]), &origin()).unwrap(), "");
    }

    #[test]
    fn two_host_headers_are_refused_even_when_equal() {
        for pair in [
            [&b"a.localhost"[..], b"b.localhost"],
            [b"a.localhost", b"a.localhost"],
        ] {
            let err = request_host(&headers(&pair), &origin()).unwrap_err();
            assert_eq!(err, HostError::Duplicate);
            assert!(err.to_string().contains("more than one Host header"));
        }
    }

    #[test]
    fn hosts_that_are_not_hosts_are_refused() {
        for bad in [
            &b"user@hello.localhost"[..],
            b"hello.localhost/path",
            b"hello.localhost:port",
            b"\xffhello",
            b":8080",
        ] {
            assert_eq!(
                request_host(&headers(&[bad]), &origin()),
                Err(HostError::Invalid),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn absolute_targets() {
        let uri = Uri::from_static("http://Hello.localhost:8080/x");
        assert_eq!(
            request_host(&headers(&[]), &uri).unwrap(),
            "Hello.localhost:8080"
        );
        assert_eq!(
            request_host(&headers(&[b"hello.localhost.:8080"]), &uri).unwrap(),
            "hello.localhost.:8080"
        );
        let default_port = Uri::from_static("http://hello.localhost/x");
        assert!(request_host(&headers(&[b"hello.localhost:80"]), &default_port).is_ok());
        let err = request_host(&headers(&[b"other.localhost:8080"]), &uri).unwrap_err();
        assert!(matches!(err, HostError::Conflict { .. }), "{err:?}");
        assert!(
            err.to_string()
                .contains("(other.localhost:8080) names another host than the request target (Hello.localhost:8080)"),
            "{err}"
        );
        let err = request_host(&headers(&[b"hello.localhost:9090"]), &uri).unwrap_err();
        assert!(matches!(err, HostError::Conflict { .. }), "{err:?}");
    }

    #[test]
    fn user_info_in_the_target_is_not_part_of_the_host() {
        let uri = Uri::from_static("http://user:pw@hello.localhost:8080/x");
        assert_eq!(
            request_host(&headers(&[]), &uri).unwrap(),
            "hello.localhost:8080"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any header bytes, any number of Host headers: no panic; more than one is refused;
        /// an accepted host is the header itself, trimmed.
        #[test]
        fn extraction_never_panics(
            hosts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..4),
        ) {
            let valid: Vec<&[u8]> = hosts
                .iter()
                .map(Vec::as_slice)
                .filter(|h| HeaderValue::from_bytes(h).is_ok())
                .collect();
            let result = request_host(&headers(&valid), &origin());
            match (valid.len(), result) {
                (n, result) if n > 1 => prop_assert_eq!(result, Err(HostError::Duplicate)),
                (1, Ok(host)) => {
                    let raw = String::from_utf8_lossy(valid[0]);
                    prop_assert_eq!(host.as_str(), raw.trim());
                }
                (1, Err(e)) => prop_assert_eq!(e, HostError::Invalid),
                (_, result) => prop_assert_eq!(result, Ok(String::new())),
            }
        }

        /// Well-formed hosts with ports are taken as they are, and agree with an absolute
        /// target naming the same host in another case.
        #[test]
        fn well_formed_hosts_pass(name in "[a-z][a-z0-9-]{0,20}(\\.[a-z]{1,8}){0,2}", port in proptest::option::of(1u16..)) {
            let host = match port {
                Some(port) => format!("{name}:{port}"),
                None => name.clone(),
            };
            let header = headers(&[host.as_bytes()]);
            prop_assert_eq!(request_host(&header, &origin()), Ok(host.clone()));
            let target: Uri = format!("http://{}/", host.to_ascii_uppercase()).parse().unwrap();
            prop_assert_eq!(request_host(&header, &target), Ok(host));
        }
    }
}
