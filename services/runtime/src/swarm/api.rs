//! The few Engine API calls bollard 0.18 does not have (tasks, nodes, node updates), spoken
//! over the engine's Unix socket: one HTTP/1.0 request per connection, so the body is simply
//! everything up to the end of the stream.

use super::SwarmError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Largest response read (a thousand tasks are well under it).
const MAX_RESPONSE: usize = 32 << 20;

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Sends `method path` (with a JSON body when given) and returns the status and the body.
pub(crate) async fn request(
    socket: &str,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> Result<(u16, Vec<u8>), SwarmError> {
    let mut stream = tokio::net::UnixStream::connect(socket)
        .await
        .map_err(|e| SwarmError::Unavailable(format!("{socket}: {e}")))?;
    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: docker\r\n");
    if let Some(body) = body {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    if let Some(body) = body {
        stream.write_all(body).await?;
    }
    stream.flush().await?;
    let mut response = Vec::new();
    (&mut stream)
        .take(MAX_RESPONSE as u64)
        .read_to_end(&mut response)
        .await?;
    parse_response(&response)
}

fn parse_response(response: &[u8]) -> Result<(u16, Vec<u8>), SwarmError> {
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| SwarmError::Engine("the engine's answer has no end of head".into()))?;
    let head = String::from_utf8_lossy(&response[..end]);
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| SwarmError::Engine(format!("bad status line in {head:?}")))?;
    Ok((status, response[end + 4..].to_vec()))
}

/// The engine's `{"message": ...}` of an error body, else the body itself.
pub(crate) fn error_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(String::from))
        .unwrap_or_else(|| text.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_splits_into_status_and_body() {
        let (status, body) =
            parse_response(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n[1,2]")
                .expect("parsed");
        assert_eq!(status, 200);
        assert_eq!(body, b"[1,2]");
        assert!(parse_response(b"HTTP/1.0 200 OK\r\n").is_err());
    }

    #[test]
    fn engine_errors_are_their_message() {
        assert_eq!(
            error_message(br#"{"message":"node not found"}"#),
            "node not found"
        );
        assert_eq!(error_message(b" plain \n"), "plain");
        assert_eq!(encode(r#"{"a":["b"]}"#), "%7B%22a%22%3A%5B%22b%22%5D%7D");
    }
}
