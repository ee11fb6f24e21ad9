//! RFC 5424 syslog messages for log lines, framed with octet counting (RFC 6587: `LEN SP
//! MSG`), as Heroku's drains send them: `<190>1 TIMESTAMP APP SOURCE PROCESS - - MESSAGE`
//! (facility local7, severity info; the app as HOSTNAME, `app`/`router`/`paas` as APP-NAME,
//! the process as PROCID). The TCP transport keeps one connection and reconnects after an
//! error; every connect and write has a deadline, so a blackholed receiver costs this
//! drain's own queue and nothing else.

use super::Line;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// RFC 3339 with microseconds in UTC, as the app's log writes it.
pub fn timestamp(at_micros: i64) -> String {
    match jiff::Timestamp::from_microsecond(at_micros) {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string(),
        Err(_) => "-".to_string(),
    }
}

/// A syslog field: printable ASCII without spaces, at most `max` long; `-` when empty.
fn field(value: &str, max: usize) -> String {
    let cleaned: String = value
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if cleaned.is_empty() {
        "-".to_string()
    } else {
        cleaned
    }
}

/// The RFC 5424 message of a line.
pub fn message(line: &Line) -> String {
    format!(
        "<190>1 {} {} {} {} - - {}",
        timestamp(line.at_micros),
        field(&line.app, 255),
        field(&line.source, 48),
        field(line.process.as_deref().unwrap_or(&line.source), 128),
        line.message
    )
}

/// `LEN SP MSG`: one octet-counted frame.
pub fn frame(line: &Line) -> String {
    let message = message(line);
    format!("{} {message}", message.len())
}

/// One TCP connection to a syslog receiver, opened on first use and after an error.
pub struct SyslogTcp {
    host: String,
    port: u16,
    stream: Option<TcpStream>,
}

impl SyslogTcp {
    pub fn new(host: String, port: u16) -> Self {
        Self {
            host,
            port,
            stream: None,
        }
    }

    pub async fn send(&mut self, lines: &[std::sync::Arc<Line>]) -> Result<(), String> {
        let mut buffer = String::new();
        for line in lines {
            buffer.push_str(&frame(line));
        }
        if self.stream.is_none() {
            let connect = TcpStream::connect((self.host.as_str(), self.port));
            let stream = tokio::time::timeout(CONNECT_TIMEOUT, connect)
                .await
                .map_err(|_| "connecting timed out".to_string())?
                .map_err(|e| format!("cannot connect: {e}"))?;
            let _ = stream.set_nodelay(true);
            self.stream = Some(stream);
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err("not connected".to_string());
        };
        let result =
            match tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(buffer.as_bytes())).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(format!("cannot write: {e}")),
                Err(_) => Err("the receiver stopped reading (write timed out)".to_string()),
            };
        if result.is_err() {
            self.stream = None;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(process: Option<&str>, source: &str) -> Line {
        Line {
            app: "shop".into(),
            at_micros: 1_795_619_626_677_020,
            source: source.into(),
            process: process.map(str::to_string),
            message: "hello wörld".into(),
        }
    }

    #[test]
    fn rfc5424_with_octet_counting() {
        let app = line(Some("web.1"), "app");
        assert_eq!(
            message(&app),
            "<190>1 2026-11-25T15:13:46.677020+00:00 shop app web.1 - - hello wörld"
        );
        let framed = frame(&app);
        let (len, rest) = framed.split_once(' ').unwrap();
        assert_eq!(len.parse::<usize>().unwrap(), rest.len()); // bytes, not characters
        assert_eq!(
            message(&line(None, "router")),
            "<190>1 2026-11-25T15:13:46.677020+00:00 shop router router - - hello wörld"
        );
        assert_eq!(field("a b\u{7}c", 10), "abc");
        assert_eq!(field("", 10), "-");
    }
}
