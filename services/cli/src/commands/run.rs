//! `run`: a one-off process in a new container of the app's current release, like Heroku's
//! `heroku run`. Attached (the default), the API request is upgraded to a `paas-run` session
//! over a plain TCP connection (reqwest's blocking client cannot upgrade): stdin goes in,
//! stdout and stderr come out, and the CLI exits with the process's exit code. With a terminal
//! on stdin and stdout the process gets one too (raw mode here, restored on every way out).
//! `--detach` starts it in the background and prints its name.

use super::{client, resolve_app};
use crate::cli::RunArgs;
use crate::progress;
use crate::session::{self, display_url, Session};
use anyhow::{anyhow, bail, Context, Result};
use paas_domain::api::ErrorBody;
use paas_domain::config_vars::parse_assignment;
use paas_domain::run::{parse_size, Frame, FrameReader, RunDyno, RunRequest, UPGRADE_PROTOCOL};
use std::io::{BufRead, BufReader, ErrorKind, IsTerminal, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub fn run(args: RunArgs) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let command = build_command(&args.command);
    if command.trim().is_empty() {
        bail!("No command given: say what to run, e.g. paas run bash.");
    }
    let env = args
        .env
        .iter()
        .map(|arg| parse_assignment(arg).map_err(|e| anyhow!("Invalid -e {arg:?}: {e}.")))
        .collect::<Result<_>>()?;
    if let Some(size) = &args.size {
        // CPUs default on the server; this only checks the syntax early.
        parse_size(size, 1000).map_err(|e| anyhow!("{e}."))?;
    }
    let tty = !args.detach
        && !args.no_tty
        && std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal();
    let request = RunRequest {
        command: command.clone(),
        attach: !args.detach,
        tty,
        env,
        size: args.size.clone(),
    };
    if args.detach {
        let client = client()?;
        let progress = progress::start(format!("Running {command} on {app}"));
        let dyno: RunDyno = client.post(&["api", "apps", &app, "dynos"], &request)?;
        progress.done_with(&format!("up, {}", dyno.name));
        return Ok(());
    }
    let code = attach(&session::load()?, &app, &request)?;
    std::process::exit(code)
}

/// The command line of `args` as Heroku's CLI builds it: one argument is taken as it is
/// (`paas run "rake test"`), several are joined with spaces, those holding a space or a `"`
/// wrapped in double quotes.
pub fn build_command(args: &[String]) -> String {
    if let [only] = args {
        return only.clone();
    }
    args.iter()
        .map(|arg| {
            if arg.contains(' ') || arg.contains('"') {
                format!("\"{}\"", arg.replace('"', "\\\""))
            } else {
                arg.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
        .trim()
        .to_string()
}

/// Runs an attached session; returns the process's exit code.
fn attach(session: &Session, app: &str, request: &RunRequest) -> Result<i32> {
    let url = &session.url;
    let unreachable = |e: std::io::Error| anyhow!("Cannot reach paas at {}: {e}", display_url(url));
    if url.scheme() != "http" {
        bail!(
            "paas run can attach only to a plain http:// platform URL, not {}; use paas run --detach.",
            display_url(url)
        );
    }
    let mut path_url = url.clone();
    path_url.set_query(None);
    path_url.set_fragment(None);
    path_url
        .path_segments_mut()
        .map_err(|_| anyhow!("Invalid paas URL {}", display_url(url)))?
        .pop_if_empty()
        .extend(["api", "apps", app, "dynos"]);
    let addrs = url.socket_addrs(|| Some(80)).map_err(unreachable)?;
    let stream = TcpStream::connect_timeout(
        addrs
            .first()
            .ok_or_else(|| anyhow!("Cannot resolve {}", display_url(url)))?,
        Duration::from_secs(10),
    )
    .map_err(unreachable)?;
    let _ = stream.set_nodelay(true);
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    };
    let body = serde_json::to_vec(request)?;
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: paas-cli/{}\r\nAuthorization: Bearer {}\r\nAccept: application/json\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: Upgrade\r\nUpgrade: {UPGRADE_PROTOCOL}\r\n\r\n",
        path_url.path(),
        env!("CARGO_PKG_VERSION"),
        session.token,
        body.len()
    );
    let mut writer = stream.try_clone().map_err(unreachable)?;
    writer
        .write_all(head.as_bytes())
        .and_then(|()| writer.write_all(&body))
        .map_err(unreachable)?;
    // The answer to the request itself is bounded in time; the session that follows is not.
    stream
        .set_read_timeout(Some(Duration::from_secs(300)))
        .map_err(unreachable)?;
    let mut reader = BufReader::new(stream);
    let response = read_head(&mut reader)
        .map_err(|e| anyhow!("Unexpected response from paas at {}: {e}", display_url(url)))?;
    if response.status != 101 {
        return Err(refusal(&mut reader, &response, url));
    }
    reader
        .get_ref()
        .set_read_timeout(None)
        .map_err(unreachable)?;
    relay(reader, writer, request.tty)
}

struct Head {
    status: u16,
    content_length: Option<usize>,
}

/// Reads a response's status line and headers.
fn read_head(reader: &mut impl BufRead) -> std::io::Result<Head> {
    let invalid = |what: &str| std::io::Error::new(ErrorKind::InvalidData, what.to_string());
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .filter(|_| line.starts_with("HTTP/1."))
        .ok_or_else(|| invalid("not an HTTP/1 response"))?;
    let mut content_length = None;
    for _ in 0..200 {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(invalid("the connection closed inside the response head"));
        }
        let header = line.trim_end();
        if header.is_empty() {
            return Ok(Head {
                status,
                content_length,
            });
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                content_length = value.trim().parse().ok();
            }
        }
    }
    Err(invalid("too many headers"))
}

/// The error of a refused request: the server's message, as the JSON client reports it.
fn refusal(reader: &mut impl Read, head: &Head, url: &reqwest::Url) -> anyhow::Error {
    let mut body = Vec::new();
    let limit = head.content_length.unwrap_or(64 * 1024).min(64 * 1024) as u64;
    let _ = reader.take(limit).read_to_end(&mut body);
    let message = serde_json::from_slice::<ErrorBody>(&body)
        .ok()
        .map(|b| b.message.trim().to_string())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| {
            format!(
                "Unexpected response from paas at {}: HTTP {}",
                display_url(url),
                head.status
            )
        });
    if head.status == 401 && !message.contains("paas login") {
        let message = message.trim_end_matches('.');
        return anyhow!("{message}. Run paas login to log in again.");
    }
    anyhow!(message)
}

/// Puts the terminal on stdin in raw mode until dropped.
struct RawMode {
    saved: rustix::termios::Termios,
}

impl RawMode {
    fn enter() -> Result<Self> {
        let stdin = std::io::stdin();
        let saved =
            rustix::termios::tcgetattr(&stdin).context("Cannot read the terminal's mode")?;
        let mut raw = saved.clone();
        raw.make_raw();
        rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &raw)
            .context("Cannot put the terminal in raw mode")?;
        Ok(Self { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = rustix::termios::tcsetattr(
            std::io::stdin(),
            rustix::termios::OptionalActions::Now,
            &self.saved,
        );
    }
}

/// The terminal's (rows, columns), from stdout.
fn terminal_size() -> Option<(u16, u16)> {
    let size = rustix::termios::tcgetwinsize(std::io::stdout()).ok()?;
    (size.ws_row > 0 && size.ws_col > 0).then_some((size.ws_row, size.ws_col))
}

type SharedWriter = Arc<Mutex<TcpStream>>;

fn send(writer: &SharedWriter, frame: &Frame) -> std::io::Result<()> {
    let bytes = frame.encode();
    let mut stream = writer.lock().unwrap_or_else(|p| p.into_inner());
    stream.write_all(&bytes)
}

/// Streams stdin (and terminal sizes) to the session and its output to stdout and stderr
/// until the exit frame.
fn relay(mut reader: BufReader<TcpStream>, writer: TcpStream, tty: bool) -> Result<i32> {
    let writer: SharedWriter = Arc::new(Mutex::new(writer));
    let _raw = if tty {
        let raw = RawMode::enter()?;
        if let Some((rows, cols)) = terminal_size() {
            let _ = send(&writer, &Frame::Resize { rows, cols });
        }
        let resizes = writer.clone();
        std::thread::spawn(move || watch_size(&resizes));
        Some(raw)
    } else {
        None
    };
    let input = writer.clone();
    std::thread::spawn(move || forward_stdin(&input));

    let mut frames = FrameReader::default();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => bail!("The connection to paas broke: {e}"),
        };
        if n == 0 {
            bail!("The connection to paas closed before the process ended.");
        }
        frames.push(&buf[..n]);
        while let Some(frame) = frames
            .next_frame()
            .map_err(|e| anyhow!("Unexpected data from paas: {e}"))?
        {
            match frame {
                Frame::Stdout(data) => write_out(&mut std::io::stdout().lock(), &data)?,
                Frame::Stderr(data) => write_out(&mut std::io::stderr().lock(), &data)?,
                Frame::Exit(code) => return Ok(code),
                Frame::Error(message) => bail!("{message}"),
                Frame::Stdin(_) | Frame::StdinEof | Frame::Resize { .. } => {
                    bail!("Unexpected data from paas: a client frame")
                }
            }
        }
    }
}

/// Writes output as it comes; a closed pipe (`paas run ... | head -1`) ends the session
/// quietly (the server then stops the process).
fn write_out(out: &mut impl Write, data: &[u8]) -> Result<()> {
    match out.write_all(data).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(anyhow!("Cannot write output: {e}")),
    }
}

/// Sends stdin as it comes, then its end.
fn forward_stdin(writer: &SharedWriter) {
    let mut stdin = std::io::stdin().lock();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if send(writer, &Frame::Stdin(buf[..n].to_vec())).is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    let _ = send(writer, &Frame::StdinEof);
}

/// Sends the terminal's size whenever it changes (polled: no signal handler needed).
fn watch_size(writer: &SharedWriter) {
    let mut last = terminal_size();
    loop {
        std::thread::sleep(Duration::from_millis(250));
        let now = terminal_size();
        if now != last {
            if let Some((rows, cols)) = now {
                if send(writer, &Frame::Resize { rows, cols }).is_err() {
                    return;
                }
            }
            last = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(args: &[&str]) -> String {
        build_command(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn builds_commands_as_heroku_does() {
        assert_eq!(command(&["echo", "hello", "world"]), "echo hello world");
        assert_eq!(command(&["rake test"]), "rake test");
        assert_eq!(
            command(&["sh", "-c", "echo $FOO; exit 3"]),
            "sh -c \"echo $FOO; exit 3\""
        );
        assert_eq!(command(&["echo", "say \"hi\""]), "echo \"say \\\"hi\\\"\"");
        assert_eq!(command(&["ls", "*.py"]), "ls *.py");
    }

    #[test]
    fn reads_response_heads() {
        let mut input: &[u8] =
            b"HTTP/1.1 422 Unprocessable Entity\r\ncontent-length: 12\r\nx: y\r\n\r\n{\"a\":\"b\"}xyz";
        let head = read_head(&mut input).unwrap();
        assert_eq!((head.status, head.content_length), (422, Some(12)));
        let mut upgrade: &[u8] =
            b"HTTP/1.1 101 Switching Protocols\r\nupgrade: paas-run\r\n\r\n\x05";
        assert_eq!(read_head(&mut upgrade).unwrap().status, 101);
        assert_eq!(upgrade, b"\x05");
        for bad in [&b"SSH-2.0\r\n\r\n"[..], b"HTTP/1.1 200 OK\r\nx: y\r\n", b""] {
            let mut bad = bad;
            assert!(read_head(&mut bad).is_err());
        }
    }

    #[test]
    fn refusals_carry_the_servers_message() {
        let url = reqwest::Url::parse("http://127.0.0.1:8080").unwrap();
        let body = br#"{"id":"invalid_params","message":"hello has no deployed release to run."}"#;
        let head = Head {
            status: 422,
            content_length: Some(body.len()),
        };
        let error = refusal(&mut &body[..], &head, &url);
        assert_eq!(error.to_string(), "hello has no deployed release to run.");
        let head = Head {
            status: 502,
            content_length: None,
        };
        let error = refusal(&mut &b"<html>"[..], &head, &url);
        assert!(error.to_string().contains("HTTP 502"), "{error}");
    }
}
