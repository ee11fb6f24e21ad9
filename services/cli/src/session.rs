//! Which platform to talk to and with which token. The URL comes from `PAAS_URL`, else the
//! config file, else the default; the token from `PAAS_API_KEY`, else the `~/.netrc` entry
//! for the URL's host (git and libcurl look credentials up by host, without the port).

use crate::{config, netrc};
use anyhow::{anyhow, bail, Result};
use reqwest::Url;

pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// A platform URL and a token to call it with.
#[derive(Debug, Clone)]
pub struct Session {
    pub url: Url,
    pub token: String,
}

/// Resolves the URL and token, or tells the user to log in.
pub fn load() -> Result<Session> {
    let url = parse_url(&configured_url()?)?;
    if let Some(token) = env_nonempty("PAAS_API_KEY") {
        return Ok(Session { url, token });
    }
    let host = netrc_host(&url)?;
    let netrc = netrc::load(&netrc::default_path()?)?;
    match netrc.get(&host).and_then(|c| c.password) {
        Some(token) if !token.is_empty() => Ok(Session { url, token }),
        _ => bail!(
            "Not logged in to {}. Run paas login to log in.",
            display_url(&url)
        ),
    }
}

/// `PAAS_URL`, else the URL stored by `paas login`, else the default.
pub fn configured_url() -> Result<String> {
    if let Some(url) = env_nonempty("PAAS_URL") {
        return Ok(url);
    }
    let stored = config::load(&config::default_path()?)?.url;
    Ok(stored.unwrap_or_else(|| DEFAULT_URL.to_string()))
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Parses a platform URL; a bare `host:port` gets `http://`.
pub fn parse_url(raw: &str) -> Result<Url> {
    let raw = raw.trim();
    let with_scheme = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("http://{raw}")
    };
    let url = Url::parse(&with_scheme).map_err(|e| anyhow!("Invalid URL {raw:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("Invalid URL {raw:?}: expected http://HOST[:PORT]");
    }
    Ok(url)
}

/// The URL as users write it: no trailing slash.
pub fn display_url(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_string()
}

/// The `machine` name for `~/.netrc`: the host without port (and without IPv6 brackets).
pub fn netrc_host(url: &Url) -> Result<String> {
    let host = url
        .host_str()
        .ok_or_else(|| anyhow!("URL {url} has no host"))?;
    Ok(host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_for_netrc_drops_port_and_path() {
        let host = |raw: &str| netrc_host(&parse_url(raw).unwrap()).unwrap();
        assert_eq!(host("http://127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(host("https://paas.example.com/"), "paas.example.com");
        assert_eq!(host("http://PaaS.Example.com:80/api"), "paas.example.com");
        assert_eq!(host("localhost:8080"), "localhost");
        assert_eq!(host("http://[::1]:8080"), "::1");
    }

    #[test]
    fn parses_and_displays_urls() {
        assert_eq!(
            display_url(&parse_url("127.0.0.1:8080/").unwrap()),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            display_url(&parse_url(" https://p.example.com/base/ ").unwrap()),
            "https://p.example.com/base"
        );
        assert!(parse_url("ftp://x").is_err());
        assert!(parse_url("http://").is_err());
        assert!(parse_url("").is_err());
    }
}
