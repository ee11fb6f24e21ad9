//! Host classification: `<app>.<domain>` goes to an app, everything else to the platform.

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostTarget {
    /// An app host: the label before the platform domain.
    App(String),
    /// The platform's own API, git and console (any host that is not an app host, e.g.
    /// `127.0.0.1:8080`, `localhost:8080` or `paas.<domain>`).
    Platform,
}

/// The label reserved for the platform's own host name, `paas.<domain>`.
pub const PLATFORM_LABEL: &str = "paas";

/// Classifies a `Host` header value (port optional, case-insensitive) against `domain`.
pub fn classify_host(host: &str, domain: &str) -> HostTarget {
    let host = strip_port(host.trim()).to_ascii_lowercase();
    let host = host.strip_suffix('.').unwrap_or(&host);
    let domain = domain.trim_matches('.').to_ascii_lowercase();
    match host
        .strip_suffix(domain.as_str())
        .and_then(|h| h.strip_suffix('.'))
    {
        Some(label) if !label.is_empty() && !label.contains('.') && label != PLATFORM_LABEL => {
            HostTarget::App(label.to_string())
        }
        _ => HostTarget::Platform,
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // IPv6 literal: never an app host.
        return host;
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_hosts() {
        assert_eq!(
            classify_host("hello.localhost:8080", "localhost"),
            HostTarget::App("hello".into())
        );
        assert_eq!(
            classify_host("Hello.LocalHost", "localhost"),
            HostTarget::App("hello".into())
        );
        assert_eq!(
            classify_host("hello.apps.example.com.", "apps.example.com"),
            HostTarget::App("hello".into())
        );
    }

    #[test]
    fn platform_hosts() {
        for h in [
            "127.0.0.1:8080",
            "localhost:8080",
            "localhost",
            "paas.localhost:8080",
            "a.b.localhost",
            "[::1]:8080",
            "",
            "example.com",
        ] {
            assert_eq!(classify_host(h, "localhost"), HostTarget::Platform, "{h}");
        }
    }
}
