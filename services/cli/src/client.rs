//! The HTTP client for the paas JSON API: bearer auth, path building, and turning every
//! failure (unreachable server, error status, unexpected body) into one readable sentence.

use crate::session::{display_url, Session};
use anyhow::{anyhow, Result};
use paas_domain::api::ErrorBody;
use reqwest::blocking::{RequestBuilder, Response};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

/// An error status from the API, with the server's message (or a description of the status).
/// Commands that treat some statuses specially find it with `anyhow::Error::downcast_ref`.
#[derive(Debug)]
pub struct HttpError {
    pub status: StatusCode,
    pub message: String,
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HttpError {}

pub struct Client {
    base: Url,
    token: Option<String>,
    http: reqwest::blocking::Client,
}

impl Client {
    /// A client for `base`; without a token requests are anonymous (only `/api/login`).
    pub fn new(base: Url, token: Option<String>) -> Result<Self> {
        let http = reqwest::blocking::Client::builder()
            .user_agent(concat!("paas-cli/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            // Destroying an app stops its containers, which can take a while.
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| anyhow!("Cannot set up the HTTP client: {e}"))?;
        Ok(Self { base, token, http })
    }

    pub fn for_session(session: &Session) -> Result<Self> {
        Self::new(session.url.clone(), Some(session.token.clone()))
    }

    pub fn get<T: DeserializeOwned>(&self, path: &[&str]) -> Result<T> {
        let response = self.send(self.request(Method::GET, path)?)?;
        self.decode(response)
    }

    /// A GET with query parameters (`?key=value`, encoded).
    pub fn get_with_query<T: DeserializeOwned>(
        &self,
        path: &[&str],
        query: &[(&str, &str)],
    ) -> Result<T> {
        let response = self.send(self.request(Method::GET, path)?.query(query))?;
        self.decode(response)
    }

    pub fn post<B: Serialize, T: DeserializeOwned>(&self, path: &[&str], body: &B) -> Result<T> {
        let response = self.send(self.request(Method::POST, path)?.json(body))?;
        self.decode(response)
    }

    pub fn patch<B: Serialize, T: DeserializeOwned>(&self, path: &[&str], body: &B) -> Result<T> {
        let response = self.send(self.request(Method::PATCH, path)?.json(body))?;
        self.decode(response)
    }

    /// A POST whose response body (if any) is not needed.
    pub fn post_ignoring_body<B: Serialize>(&self, path: &[&str], body: &B) -> Result<()> {
        self.send(self.request(Method::POST, path)?.json(body))
            .map(drop)
    }

    /// A GET of plain text read as it comes (logs, build output), with no time limit on the
    /// whole response: the server may keep it open to follow new lines.
    pub fn get_streaming(&self, path: &[&str], query: &[(&str, String)]) -> Result<Response> {
        let request = self
            .request(Method::GET, path)?
            .query(query)
            .timeout(Duration::from_secs(100 * 365 * 24 * 3600));
        self.send(request)
    }

    pub fn delete(&self, path: &[&str]) -> Result<()> {
        self.send(self.request(Method::DELETE, path)?).map(drop)
    }

    /// `base` + `/`-joined, percent-encoded segments (a base path prefix is kept).
    fn url(&self, path: &[&str]) -> Result<Url> {
        let mut url = self.base.clone();
        url.set_query(None);
        url.set_fragment(None);
        url.path_segments_mut()
            .map_err(|_| anyhow!("Invalid paas URL {}", display_url(&self.base)))?
            .pop_if_empty()
            .extend(path);
        Ok(url)
    }

    fn request(&self, method: Method, path: &[&str]) -> Result<RequestBuilder> {
        let mut request = self
            .http
            .request(method, self.url(path)?)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        Ok(request)
    }

    fn send(&self, request: RequestBuilder) -> Result<Response> {
        let response = request.send().map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.text().unwrap_or_default();
        let server_message = serde_json::from_str::<ErrorBody>(&body)
            .ok()
            .map(|b| b.message.trim().to_string())
            .filter(|m| !m.is_empty());
        let mut message = server_message.unwrap_or_else(|| {
            format!(
                "Unexpected response from paas at {}: HTTP {status}",
                display_url(&self.base)
            )
        });
        // An expired token's message says what to do already.
        if status == StatusCode::UNAUTHORIZED
            && self.token.is_some()
            && !message.contains("paas login")
        {
            message = with_sentence(&message, "Run paas login to log in again.");
        }
        Err(HttpError { status, message }.into())
    }

    fn decode<T: DeserializeOwned>(&self, response: Response) -> Result<T> {
        let body = response.text().map_err(|e| self.transport_error(&e))?;
        serde_json::from_str(&body).map_err(|e| {
            anyhow!(
                "Unexpected response from paas at {}: {e}",
                display_url(&self.base)
            )
        })
    }

    fn transport_error(&self, e: &reqwest::Error) -> anyhow::Error {
        let url = display_url(&self.base);
        if e.is_timeout() {
            anyhow!("Timed out waiting for paas at {url}")
        } else if e.is_connect() {
            anyhow!("Cannot reach paas at {url}: {}", root_cause(e))
        } else {
            anyhow!("Request to paas at {url} failed: {}", root_cause(e))
        }
    }
}

/// The innermost error's message, e.g. `Connection refused (os error 111)`.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut current = e;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

/// Joins two sentences, adding the period the first one may lack.
fn with_sentence(first: &str, second: &str) -> String {
    let first = first.trim_end();
    if first.ends_with(['.', '!', '?']) {
        format!("{first} {second}")
    } else {
        format!("{first}. {second}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> Client {
        Client::new(Url::parse(base).unwrap(), None).unwrap()
    }

    #[test]
    fn builds_encoded_paths() {
        let c = client("http://127.0.0.1:8080");
        assert_eq!(
            c.url(&["api", "users", "a+b@x.io"]).unwrap().as_str(),
            "http://127.0.0.1:8080/api/users/a+b@x.io"
        );
        assert_eq!(
            c.url(&["api", "apps", "a/b"]).unwrap().as_str(),
            "http://127.0.0.1:8080/api/apps/a%2Fb"
        );
        let prefixed = client("https://example.com/paas/");
        assert_eq!(
            prefixed.url(&["api", "apps"]).unwrap().as_str(),
            "https://example.com/paas/api/apps"
        );
    }

    #[test]
    fn joins_sentences() {
        assert_eq!(with_sentence("Bad.", "Next."), "Bad. Next.");
        assert_eq!(with_sentence("Bad", "Next."), "Bad. Next.");
    }
}
