//! Dockerfile builds with the engine's builder (`POST /build`). bollard 0.18's `build_image`
//! only takes the context as one buffer, so this speaks the one request itself over the
//! engine's Unix socket: the context tar file is streamed as a chunked body (never whole in
//! memory) and the engine's JSON progress stream is read back line by line.

use super::{errors, DockerRuntime};
use crate::spec::ImageDetails;
use crate::{Result, RuntimeError};
use std::collections::BTreeMap;
use std::path::Path;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// What a Dockerfile build gets besides its context.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerBuild {
    pub tag: String,
    /// `--build-arg`s (only those the Dockerfile declares with `ARG` are used).
    pub args: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub memory_bytes: Option<i64>,
    pub nano_cpus: Option<i64>,
}

impl DockerRuntime {
    pub(crate) async fn build_image_impl(
        &self,
        context: &Path,
        build: &DockerBuild,
        sink: mpsc::Sender<String>,
    ) -> Result<()> {
        let socket = socket_path();
        let stream = tokio::net::UnixStream::connect(&socket)
            .await
            .map_err(|e| RuntimeError::Unavailable(format!("{socket}: {e}")))?;
        let (read_half, mut write) = stream.into_split();
        let version = self.docker.client_version();
        let mut query = format!(
            "t={}&rm=1&forcerm=1&buildargs={}&labels={}",
            encode(&build.tag),
            encode(&json_map(&build.args)),
            encode(&json_map(&build.labels)),
        );
        if let Some(memory) = build.memory_bytes {
            query.push_str(&format!("&memory={memory}&memswap={memory}"));
        }
        if let Some(nano) = build.nano_cpus {
            query.push_str(&format!("&cpuperiod=100000&cpuquota={}", nano / 10_000));
        }
        let head = format!(
            "POST /v{}.{}/build?{query} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            version.major_version, version.minor_version
        );
        write.write_all(head.as_bytes()).await?;
        let mut file = tokio::fs::File::open(context).await?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = file.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            write.write_all(format!("{n:x}\r\n").as_bytes()).await?;
            write.write_all(&buf[..n]).await?;
            write.write_all(b"\r\n").await?;
        }
        write.write_all(b"0\r\n\r\n").await?;
        write.flush().await?;

        let mut reader = BufReader::new(read_half);
        let mut status_line = String::new();
        reader.read_line(&mut status_line).await?;
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut chunked = false;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await? == 0 {
                break;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("transfer-encoding")
                    && value.trim().eq_ignore_ascii_case("chunked")
                {
                    chunked = true;
                }
            }
        }
        let mut body = Body {
            reader,
            chunked,
            left: 0,
            done: false,
        };
        if status != 200 {
            let mut text = Vec::new();
            while let Some(bytes) = body.next().await? {
                text.extend_from_slice(&bytes);
                if text.len() > 64 * 1024 {
                    break;
                }
            }
            let text = String::from_utf8_lossy(&text);
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(String::from))
                .unwrap_or_else(|| text.trim().to_string());
            return Err(RuntimeError::Build(message));
        }
        let mut pending = Vec::new();
        let mut partial = String::new();
        let mut failure = None;
        while let Some(bytes) = body.next().await? {
            pending.extend_from_slice(&bytes);
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                handle(&line, &mut partial, &mut failure, &sink).await;
            }
        }
        if !pending.is_empty() {
            handle(&pending, &mut partial, &mut failure, &sink).await;
        }
        if !partial.is_empty() {
            let _ = sink.send(std::mem::take(&mut partial)).await;
        }
        match failure {
            Some(message) => Err(RuntimeError::Build(message)),
            None => Ok(()),
        }
    }

    pub(crate) async fn image_details_impl(&self, image: &str) -> Result<Option<ImageDetails>> {
        match self.docker.inspect_image(image).await {
            Ok(inspect) => {
                let config = inspect.config.unwrap_or_default();
                let mut exposed_ports: Vec<u16> = config
                    .exposed_ports
                    .unwrap_or_default()
                    .keys()
                    .filter(|p| p.ends_with("/tcp") || !p.contains('/'))
                    .filter_map(|p| p.split('/').next()?.parse().ok())
                    .collect();
                exposed_ports.sort_unstable();
                Ok(Some(ImageDetails {
                    entrypoint: config.entrypoint.unwrap_or_default(),
                    cmd: config.cmd.unwrap_or_default(),
                    exposed_ports,
                }))
            }
            Err(e) if errors::is_not_found(&e) => Ok(None),
            Err(e) => Err(errors::map(e)),
        }
    }
}

/// One JSON message of the engine's build stream: `stream` text goes to the sink line by
/// line, `error` is the build's failure.
async fn handle(
    line: &[u8],
    partial: &mut String,
    failure: &mut Option<String>,
    sink: &mpsc::Sender<String>,
) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(line) else {
        return;
    };
    if let Some(error) = value.get("error").and_then(|e| e.as_str()) {
        *failure = Some(error.trim().to_string());
        return;
    }
    if let Some(text) = value.get("stream").and_then(|s| s.as_str()) {
        partial.push_str(text);
        while let Some(end) = partial.find('\n') {
            let line: String = partial.drain(..=end).collect();
            let _ = sink.send(line.trim_end().to_string()).await;
        }
    }
}

/// The response body, chunked or read to the end.
struct Body {
    reader: BufReader<tokio::net::unix::OwnedReadHalf>,
    chunked: bool,
    left: usize,
    done: bool,
}

impl Body {
    async fn next(&mut self) -> Result<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        if !self.chunked {
            let mut buf = vec![0u8; 16 * 1024];
            let n = self.reader.read(&mut buf).await?;
            if n == 0 {
                self.done = true;
                return Ok(None);
            }
            buf.truncate(n);
            return Ok(Some(buf));
        }
        if self.left == 0 {
            let mut size = String::new();
            if self.reader.read_line(&mut size).await? == 0 {
                self.done = true;
                return Ok(None);
            }
            let size = size.trim();
            let size = size.split(';').next().unwrap_or_default();
            self.left = usize::from_str_radix(size, 16)
                .map_err(|_| RuntimeError::Docker(format!("bad chunk size {size:?}")))?;
            if self.left == 0 {
                self.done = true;
                return Ok(None);
            }
        }
        let mut buf = vec![0u8; self.left.min(16 * 1024)];
        let n = self.reader.read(&mut buf).await?;
        if n == 0 {
            self.done = true;
            return Ok(None);
        }
        buf.truncate(n);
        self.left -= n;
        if self.left == 0 {
            let mut crlf = String::new();
            self.reader.read_line(&mut crlf).await?;
        }
        Ok(Some(buf))
    }
}

fn socket_path() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(String::from))
        .unwrap_or_else(|| "/var/run/docker.sock".to_string())
}

fn json_map(map: &BTreeMap<String, String>) -> String {
    serde_json::to_string(map).unwrap_or_else(|_| "{}".to_string())
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(text: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode("paas-x/app:1"), "paas-x%2Fapp%3A1");
        assert_eq!(encode("{\"A\":\"b c\"}"), "%7B%22A%22%3A%22b%20c%22%7D");
    }
}
