//! Host classification: `<app>.<domain>` goes to an app, everything else to the platform.

use paas_domain::AppName;

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostTarget {
    /// An app host: the label before the platform domain, always a valid app name.
    App(AppName),
    /// The platform's own API, git and console (any host that is not an app host, e.g.
    /// `127.0.0.1:8080`, `localhost:8080`, `paas.<domain>`, or a label that cannot be an app
    /// name such as `api.<domain>` or `Bad_Label.<domain>`).
    Platform,
}

/// The label reserved for the platform's own host name, `paas.<domain>`.
pub const PLATFORM_LABEL: &str = "paas";

/// Classifies a `Host` header value (port optional, case-insensitive, trailing dot allowed)
/// against `domain`.
pub fn classify_host(host: &str, domain: &str) -> HostTarget {
    let host = strip_port(host.trim()).to_ascii_lowercase();
    let host = host.strip_suffix('.').unwrap_or(&host);
    let domain = domain.trim_matches('.').to_ascii_lowercase();
    let label = host
        .strip_suffix(domain.as_str())
        .and_then(|h| h.strip_suffix('.'));
    match label {
        Some(label) if label != PLATFORM_LABEL => {
            AppName::parse(label).map_or(HostTarget::Platform, HostTarget::App)
        }
        _ => HostTarget::Platform,
    }
}

/// `classify_host`'s answer for a host it would not have to change (no uppercase letter, no
/// surrounding space) and a lowercase domain, without allocating: the app label borrowed from
/// `host`. `None` for any other host: ask `classify_host`.
pub(crate) fn classify_plain_host<'a>(host: &'a str, domain: &str) -> Option<PlainHost<'a>> {
    let plain = |s: &str| !s.bytes().any(|b| b.is_ascii_uppercase()) && s.trim().len() == s.len();
    if !plain(host) || domain.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let host = strip_port(host);
    let host = host.strip_suffix('.').unwrap_or(host);
    let label = host
        .strip_suffix(domain.trim_matches('.'))
        .and_then(|h| h.strip_suffix('.'));
    Some(match label {
        Some(label) if label != PLATFORM_LABEL && AppName::is_valid(label) => PlainHost::App(label),
        _ => PlainHost::Platform,
    })
}

/// `HostTarget` with the app's label borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlainHost<'a> {
    App(&'a str),
    Platform,
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
    use proptest::prelude::*;

    fn app(name: &str) -> HostTarget {
        HostTarget::App(AppName::parse(name).unwrap())
    }

    #[test]
    fn app_hosts() {
        assert_eq!(
            classify_host("hello.localhost:8080", "localhost"),
            app("hello")
        );
        assert_eq!(classify_host("Hello.LocalHost", "localhost"), app("hello"));
        assert_eq!(
            classify_host("hello.apps.example.com.", "apps.example.com"),
            app("hello")
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
            "api.localhost",
            "www.localhost:8080",
            "bad_label.localhost",
            "ab.localhost",
            "user@hello.localhost",
            "hello.localhost:80:80",
        ] {
            assert_eq!(classify_host(h, "localhost"), HostTarget::Platform, "{h}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any input: no panic, and an app host is a valid app name whose host is
        /// `<app>.<domain>`.
        #[test]
        fn never_panics_and_app_hosts_are_app_names(host in "\\PC{0,40}", domain in "\\PC{0,20}") {
            if let HostTarget::App(name) = classify_host(&host, &domain) {
                prop_assert!(AppName::parse(name.as_str()).is_ok());
                let lower = host.to_ascii_lowercase();
                prop_assert!(lower.contains(name.as_str()), "{host} -> {name}");
            }
        }

        /// Hosts shaped like real ones: `<label>.<domain>`, any case, optional trailing dot and
        /// port.
        #[test]
        fn app_hosts_with_case_ports_and_trailing_dots(
            label in "[a-zA-Z0-9_-]{0,33}",
            domain in "(localhost|apps\\.example\\.com|[a-z]{1,8}\\.test)",
            upper_domain in any::<bool>(),
            trailing_dot in any::<bool>(),
            port in proptest::option::of(any::<u16>()),
        ) {
            let shown_domain = if upper_domain { domain.to_ascii_uppercase() } else { domain.clone() };
            let mut host = format!("{label}.{shown_domain}");
            if trailing_dot {
                host.push('.');
            }
            if let Some(port) = port {
                host.push_str(&format!(":{port}"));
            }
            let lower = label.to_ascii_lowercase();
            let expected = match AppName::parse(&lower) {
                Ok(name) => HostTarget::App(name),
                Err(_) => HostTarget::Platform,
            };
            prop_assert_eq!(classify_host(&host, &domain), expected.clone());
            // The domain as configured may carry dots around it and any case.
            prop_assert_eq!(classify_host(&host, &format!(".{}.", domain.to_ascii_uppercase())), expected);
        }

        /// Hosts that are not under the domain (other names, IP addresses) are the platform's.
        #[test]
        fn other_hosts_are_the_platform(a in any::<u8>(), b in any::<u8>(), port in any::<u16>(), name in "[a-z]{3,10}") {
            prop_assert_eq!(classify_host(&format!("127.{a}.0.{b}:{port}"), "localhost"), HostTarget::Platform);
            prop_assert_eq!(classify_host(&format!("[::{a}]:{port}"), "localhost"), HostTarget::Platform);
            prop_assert_eq!(classify_host(&format!("{name}.example.org"), "localhost"), HostTarget::Platform);
            prop_assert_eq!(classify_host(&format!("{name}.localhost.example.org"), "localhost"), HostTarget::Platform);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// The allocation-free classification agrees with `classify_host` wherever it answers,
        /// and leaves to it only hosts or domains it would have to change.
        #[test]
        fn the_plain_host_classification_agrees_with_classify_host(
            label in "([a-z][a-z0-9-]{1,8}[a-z0-9]|[a-z]{3}-|[a-zA-Z0-9_ -]{0,6}|paas|www|A[a-z]{3})",
            host_domain in "(localhost|apps\\.example\\.com|Apps\\.example\\.com|example\\.com|\\PC{0,6})",
            domain in "(localhost|\\.localhost\\.|apps\\.example\\.com|Localhost|\\PC{0,6})",
            same_domain in any::<bool>(),
            trailing_dot in any::<bool>(),
            port in proptest::option::of("[0-9]{0,6}"),
            space in any::<bool>(),
        ) {
            let shown = if same_domain { domain.trim_matches('.').to_string() } else { host_domain };
            let mut host = format!("{label}.{shown}");
            if trailing_dot {
                host.push('.');
            }
            if let Some(port) = port {
                host.push(':');
                host.push_str(&port);
            }
            if space {
                host.push(' ');
            }
            let expected = classify_host(&host, &domain);
            match (classify_plain_host(&host, &domain), &expected) {
                (Some(PlainHost::App(label)), HostTarget::App(name)) => prop_assert_eq!(label, name.as_str()),
                (Some(PlainHost::Platform), HostTarget::Platform) => {}
                (None, _) => prop_assert!(
                    host.bytes().any(|b| b.is_ascii_uppercase())
                        || domain.bytes().any(|b| b.is_ascii_uppercase())
                        || host.trim() != host,
                    "{host:?} {domain:?} left to classify_host"
                ),
                (plain, expected) => prop_assert!(false, "{host:?} {domain:?}: {plain:?} vs {expected:?}"),
            }
        }
    }
}
