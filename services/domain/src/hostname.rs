//! Custom domains (`paas domains:add`): a DNS host name, lower-cased, optionally a wildcard
//! `*.example.com` that stands for any host below it. Hosts under the platform's own domain
//! are refused: those already name apps.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hostname(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostnameError {
    #[error("{0:?} is not a host name (letters, digits and hyphens in dot-separated labels, e.g. www.example.com or *.example.com)")]
    Invalid(String),
    #[error("{0:?} is under the platform's domain {1:?}, whose hosts name apps already")]
    PlatformDomain(String, String),
}

impl Hostname {
    /// Parses `text` for a platform whose app hosts are `<app>.<platform_domain>`.
    pub fn parse(text: &str, platform_domain: &str) -> Result<Self, HostnameError> {
        let host = text.trim().trim_end_matches('.').to_ascii_lowercase();
        let invalid = || HostnameError::Invalid(text.to_string());
        let name = host.strip_prefix("*.").unwrap_or(&host);
        let labels: Vec<&str> = name.split('.').collect();
        let label_ok = |l: &&str| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if host.len() > 253 || labels.len() < 2 || !labels.iter().all(label_ok) {
            return Err(invalid());
        }
        // The last label of a DNS name is never all digits (that would be an IPv4 address).
        if labels
            .last()
            .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(invalid());
        }
        let platform = platform_domain.trim_matches('.').to_ascii_lowercase();
        if !platform.is_empty() && (name == platform || name.ends_with(&format!(".{platform}"))) {
            return Err(HostnameError::PlatformDomain(text.to_string(), platform));
        }
        Ok(Hostname(host))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Hostname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_hosts_and_wildcards_lower_cased() {
        for (text, expected) in [
            ("www.Example.com.", "www.example.com"),
            ("*.example.com", "*.example.com"),
            ("a-b.c1.example.co.uk", "a-b.c1.example.co.uk"),
        ] {
            assert_eq!(
                Hostname::parse(text, "localhost").unwrap().as_str(),
                expected
            );
        }
    }

    #[test]
    fn refuses_what_is_no_host_or_names_apps_already() {
        for bad in [
            "",
            "localhost",
            "exa mple.com",
            "-a.example.com",
            "a..example.com",
            "*.*.example.com",
            "www.*.example.com",
            "10.0.0.1",
            "http://example.com",
            "example.com/path",
            &format!("{}.com", "a".repeat(64)),
        ] {
            assert!(
                matches!(
                    Hostname::parse(bad, "localhost"),
                    Err(HostnameError::Invalid(_))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            Hostname::parse("shop.apps.example.com", "apps.example.com"),
            Err(HostnameError::PlatformDomain(..))
        ));
        assert!(matches!(
            Hostname::parse("*.apps.example.com", "apps.example.com"),
            Err(HostnameError::PlatformDomain(..))
        ));
    }
}
