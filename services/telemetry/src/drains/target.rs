//! Where a drain sends its lines, read from its URL: `syslog+tcp://host:port` (or
//! `syslog://host:port`) for syslog over TCP, `https://...` or `http://...` for batches of
//! syslog frames POSTed (Heroku's `application/logplex-1`), and for OTLP exports the
//! collector's base URL (`/v1/logs` and `/v1/metrics` are added). `redacted` is the only
//! form of a URL that is ever shown or logged: its password hidden.

use crate::TelemetryError;

/// A parsed drain destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Syslog over TCP with RFC 6587 octet counting.
    SyslogTcp { host: String, port: u16 },
    /// HTTP(S) POST of syslog frames in batches.
    Https { url: String },
    /// OTLP/HTTP JSON to a collector; `base` has no trailing slash.
    Otlp { base: String },
}

/// What a drain is for: app log lines in syslog frames, or an OTLP export of logs and
/// metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DrainClass {
    Log,
    Otlp,
}

impl DrainClass {
    pub fn as_str(self) -> &'static str {
        match self {
            DrainClass::Log => "log",
            DrainClass::Otlp => "otlp",
        }
    }
}

fn invalid(message: &str) -> TelemetryError {
    TelemetryError::InvalidUrl(message.to_string())
}

/// The authority of `rest` (after `scheme://`): up to the first `/`, `?` or `#`.
fn authority(rest: &str) -> &str {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    &rest[..end]
}

fn check_plain(url: &str) -> Result<(), TelemetryError> {
    if url.len() > 2048 {
        return Err(invalid("The URL is longer than 2048 characters."));
    }
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>' | '\\'))
    {
        return Err(invalid(
            "The URL contains spaces, quotes or control characters.",
        ));
    }
    Ok(())
}

fn check_http(url: &str) -> Result<(), TelemetryError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| invalid("Use an https://, http:// or syslog+tcp:// URL."))?;
    let host = authority(rest).rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return Err(invalid("The URL has no host."));
    }
    Ok(())
}

impl Target {
    /// Reads a drain URL of `class`.
    pub fn parse(class: DrainClass, url: &str) -> Result<Self, TelemetryError> {
        check_plain(url)?;
        match class {
            DrainClass::Otlp => {
                check_http(url)?;
                Ok(Target::Otlp {
                    base: url.trim_end_matches('/').to_string(),
                })
            }
            DrainClass::Log => {
                let syslog = url
                    .strip_prefix("syslog+tcp://")
                    .or_else(|| url.strip_prefix("syslog://"));
                if let Some(rest) = syslog {
                    let authority = authority(rest);
                    let (host, port) = authority.rsplit_once(':').ok_or_else(|| {
                        invalid("A syslog drain needs a port: syslog+tcp://HOST:PORT.")
                    })?;
                    let port: u16 = port.parse().ok().filter(|p| *p > 0).ok_or_else(|| {
                        invalid("The syslog drain's port is not a number from 1 to 65535.")
                    })?;
                    let host = host.trim_start_matches('[').trim_end_matches(']');
                    if host.is_empty() || host.contains('@') {
                        return Err(invalid("The syslog drain's URL has no host."));
                    }
                    return Ok(Target::SyslogTcp {
                        host: host.to_string(),
                        port,
                    });
                }
                if url.starts_with("syslog+tls://") {
                    return Err(invalid(
                        "syslog over TLS is not supported: use syslog+tcp:// or https://.",
                    ));
                }
                check_http(url)?;
                Ok(Target::Https {
                    url: url.to_string(),
                })
            }
        }
    }
}

/// The URL with the password of its user info (if any) replaced by `****`.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let auth = authority(rest);
    match auth.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            let shown = if userinfo.contains(':') {
                format!("{user}:****")
            } else {
                "****".to_string()
            };
            format!("{scheme}://{shown}@{host}{}", &rest[auth.len()..])
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_syslog_and_http_urls() {
        assert_eq!(
            Target::parse(DrainClass::Log, "syslog+tcp://logs.example.com:514").unwrap(),
            Target::SyslogTcp {
                host: "logs.example.com".into(),
                port: 514
            }
        );
        assert_eq!(
            Target::parse(DrainClass::Log, "syslog://127.0.0.1:6514/").unwrap(),
            Target::SyslogTcp {
                host: "127.0.0.1".into(),
                port: 6514
            }
        );
        assert!(matches!(
            Target::parse(DrainClass::Log, "https://u:p@logs.example.com/drain?x=1").unwrap(),
            Target::Https { .. }
        ));
        assert_eq!(
            Target::parse(DrainClass::Otlp, "http://127.0.0.1:4318/").unwrap(),
            Target::Otlp {
                base: "http://127.0.0.1:4318".into()
            }
        );
        for bad in [
            "syslog+tcp://host",
            "syslog+tcp://host:0",
            "syslog+tcp://:514",
            "syslog+tls://host:6514",
            "ftp://host/x",
            "https://",
            "https://exa mple.com/",
            "logs.example.com:514",
        ] {
            assert!(Target::parse(DrainClass::Log, bad).is_err(), "{bad}");
        }
        assert!(Target::parse(DrainClass::Otlp, "syslog+tcp://host:514").is_err());
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redacted("https://user:secret@logs.example.com/x"),
            "https://user:****@logs.example.com/x"
        );
        assert_eq!(
            redacted("https://token@logs.example.com"),
            "https://****@logs.example.com"
        );
        assert_eq!(
            redacted("syslog+tcp://logs.example.com:514"),
            "syslog+tcp://logs.example.com:514"
        );
        assert_eq!(
            redacted("https://logs.example.com/a@b"),
            "https://logs.example.com/a@b"
        );
    }
}
