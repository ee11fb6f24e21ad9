//! A web process's health check from the app's `app.json`, in Dokku's format:
//! `{"healthchecks": {"web": [{"type": "startup", "path": "/health", "content": "ok",
//! "status": 200, "attempts": 5, "timeout": 5, "wait": 5, "initialDelay": 0}]}}`. The first
//! `startup` check (or one without a type) of `web` applies; other types are accepted and not
//! used. Without one, a web process is healthy when it answers HTTP on `PORT` at all.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The label carrying the check, JSON-encoded, on a release's image (and so on every
/// container made from it).
pub const HEALTHCHECK_LABEL: &str = "paas.healthcheck";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// Requested with GET on the process's `PORT`.
    pub path: String,
    /// The status that passes; when unset, any 2xx or 3xx.
    pub status: Option<u16>,
    /// Text the body must contain.
    pub content: Option<String>,
    pub attempts: u32,
    /// Seconds one attempt may take.
    pub timeout: u64,
    /// Seconds between attempts.
    pub wait: u64,
    /// Seconds after the process starts before the first attempt.
    pub initial_delay: u64,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum HealthCheckError {
    #[error("app.json is not valid JSON: {0}")]
    Json(String),
    #[error("app.json healthchecks.web: {0}")]
    Invalid(String),
}

/// One entry of `healthchecks.web` as written.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    #[serde(rename = "type")]
    kind: Option<String>,
    path: Option<String>,
    status: Option<u16>,
    content: Option<String>,
    attempts: Option<u32>,
    timeout: Option<u64>,
    wait: Option<u64>,
    initial_delay: Option<u64>,
}

impl HealthCheck {
    /// The web startup check of an `app.json`; `None` when it declares none.
    pub fn from_app_json(text: &str) -> Result<Option<Self>, HealthCheckError> {
        let doc: serde_json::Value =
            serde_json::from_str(text).map_err(|e| HealthCheckError::Json(e.to_string()))?;
        let Some(web) = doc.get("healthchecks").and_then(|h| h.get("web")) else {
            return Ok(None);
        };
        let entries: Vec<Entry> = serde_json::from_value(web.clone())
            .map_err(|e| HealthCheckError::Invalid(e.to_string()))?;
        let Some(entry) = entries
            .into_iter()
            .find(|e| e.kind.as_deref().is_none_or(|k| k == "startup"))
        else {
            return Ok(None);
        };
        let path = entry.path.unwrap_or_else(|| "/".to_string());
        if !path.starts_with('/') || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(HealthCheckError::Invalid(format!(
                "path {path:?} must start with / and hold no spaces"
            )));
        }
        let check = HealthCheck {
            path,
            status: entry.status,
            content: entry.content.filter(|c| !c.is_empty()),
            attempts: entry.attempts.unwrap_or(5),
            timeout: entry.timeout.unwrap_or(5),
            wait: entry.wait.unwrap_or(5),
            initial_delay: entry.initial_delay.unwrap_or(0),
        };
        if check.attempts == 0 || check.timeout == 0 {
            return Err(HealthCheckError::Invalid(
                "attempts and timeout must be at least 1".to_string(),
            ));
        }
        if check.deadline() > Duration::from_secs(3600) {
            return Err(HealthCheckError::Invalid(
                "the check may take at most an hour in all".to_string(),
            ));
        }
        Ok(Some(check))
    }

    /// How long a new process has to pass: the initial delay, then every attempt with its
    /// timeout and wait.
    pub fn deadline(&self) -> Duration {
        let attempt = self.timeout.saturating_add(self.wait);
        Duration::from_secs(
            self.initial_delay
                .saturating_add(u64::from(self.attempts).saturating_mul(attempt)),
        )
    }

    /// Whether an answer with `status` and `body` passes.
    pub fn accepts(&self, status: u16, body: &str) -> bool {
        let status_ok = match self.status {
            Some(expected) => status == expected,
            None => (200..400).contains(&status),
        };
        status_ok && self.content.as_ref().is_none_or(|c| body.contains(c))
    }

    pub fn to_label(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_label(label: &str) -> Option<Self> {
        serde_json::from_str(label).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dokkus_format_with_defaults() {
        let text = r#"{"name": "x", "healthchecks": {"web": [
            {"type": "liveness", "path": "/live"},
            {"type": "startup", "name": "ready", "path": "/ready", "content": "ok",
             "attempts": 3, "initialDelay": 2}
        ]}}"#;
        let check = HealthCheck::from_app_json(text).unwrap().unwrap();
        assert_eq!(
            check,
            HealthCheck {
                path: "/ready".into(),
                status: None,
                content: Some("ok".into()),
                attempts: 3,
                timeout: 5,
                wait: 5,
                initial_delay: 2,
            }
        );
        assert_eq!(check.deadline(), Duration::from_secs(32));
        assert_eq!(HealthCheck::from_label(&check.to_label()), Some(check));
    }

    #[test]
    fn no_web_check_is_none_and_bad_ones_are_errors() {
        assert_eq!(HealthCheck::from_app_json(r#"{"name": "x"}"#), Ok(None));
        assert_eq!(
            HealthCheck::from_app_json(r#"{"healthchecks": {"worker": []}}"#),
            Ok(None)
        );
        assert!(matches!(
            HealthCheck::from_app_json("{"),
            Err(HealthCheckError::Json(_))
        ));
        for bad in [
            r#"{"healthchecks": {"web": {"path": "/"}}}"#,
            r#"{"healthchecks": {"web": [{"path": "no-slash"}]}}"#,
            r#"{"healthchecks": {"web": [{"path": "/a b"}]}}"#,
            r#"{"healthchecks": {"web": [{"attempts": 0}]}}"#,
            r#"{"healthchecks": {"web": [{"attempts": "3"}]}}"#,
            r#"{"healthchecks": {"web": [{"attempts": 1000, "timeout": 100}]}}"#,
        ] {
            assert!(
                matches!(
                    HealthCheck::from_app_json(bad),
                    Err(HealthCheckError::Invalid(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn status_and_content_decide() {
        let mut check = HealthCheck::from_app_json(r#"{"healthchecks": {"web": [{}]}}"#)
            .unwrap()
            .unwrap();
        assert_eq!(check.path, "/");
        assert!(check.accepts(200, ""));
        assert!(check.accepts(302, ""));
        assert!(!check.accepts(500, ""));
        check.status = Some(204);
        check.content = Some("ready".into());
        assert!(!check.accepts(200, "ready"));
        assert!(!check.accepts(204, "starting"));
        assert!(check.accepts(204, "all ready"));
    }
}
