//! HTTP(S) transports: a log drain POSTs its batch as octet-counted syslog frames with
//! Heroku's headers (`Content-Type: application/logplex-1`, `Logplex-Msg-Count`); an OTLP
//! export POSTs the batch as OTLP/HTTP JSON to `<base>/v1/logs`. Every request has a
//! deadline; anything but a 2xx answer is a failed delivery.

use super::{syslog, Line};
use std::sync::Arc;

fn outcome(result: reqwest::Result<reqwest::Response>) -> Result<(), String> {
    match result {
        Ok(response) if response.status().is_success() => Ok(()),
        Ok(response) => Err(format!("the drain answered {}", response.status())),
        // Without the URL: it may carry credentials.
        Err(e) if e.is_timeout() => Err("the request timed out".to_string()),
        Err(e) if e.is_connect() => Err("cannot connect".to_string()),
        Err(_) => Err("the request failed".to_string()),
    }
}

/// POSTs a batch of syslog frames.
pub async fn send_logplex(
    client: &reqwest::Client,
    url: &str,
    lines: &[Arc<Line>],
) -> Result<(), String> {
    let body: String = lines.iter().map(|l| syslog::frame(l)).collect();
    outcome(
        client
            .post(url)
            .header("content-type", "application/logplex-1")
            .header("logplex-msg-count", lines.len().to_string())
            .body(body)
            .send()
            .await,
    )
}

/// POSTs a batch of lines as OTLP logs.
pub async fn send_otlp_logs(
    client: &reqwest::Client,
    base: &str,
    lines: &[Arc<Line>],
) -> Result<(), String> {
    post_json(
        client,
        &format!("{base}/v1/logs"),
        &crate::otlp::logs(lines),
    )
    .await
}

/// POSTs an OTLP/HTTP JSON body.
pub async fn post_json(
    client: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
) -> Result<(), String> {
    outcome(
        client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await,
    )
}
