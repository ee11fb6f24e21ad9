//! paasd's own log (not the apps' logs): one line per event, plain text without colour codes
//! unless stderr is a terminal, to stderr or, with `PAAS_LOG_FILE`, to a file rotated when it
//! reaches `PAAS_LOG_FILE_MAX_BYTES` (the previous file kept as `<file>.1`, so at most twice
//! the bound on disk). Requests are not logged here one by one: the router's records go to
//! the apps' logs.

use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tracing_subscriber::fmt::MakeWriter;

/// A file that is renamed to `<file>.1` (replacing the older one) and started afresh when the
/// next event would take it past `max_bytes`.
#[derive(Debug)]
struct Rotating {
    path: PathBuf,
    max_bytes: u64,
    file: File,
    size: u64,
}

impl Rotating {
    fn open(path: &Path, max_bytes: u64) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            path: path.to_path_buf(),
            max_bytes: max_bytes.max(1),
            file,
            size,
        })
    }

    fn write_event(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.size > 0 && self.size + bytes.len() as u64 > self.max_bytes {
            let mut old = self.path.clone().into_os_string();
            old.push(".1");
            std::fs::rename(&self.path, &old)?;
            self.file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            self.size = 0;
        }
        self.file.write_all(bytes)?;
        self.size += bytes.len() as u64;
        Ok(())
    }
}

/// Where events go.
#[derive(Clone, Debug)]
enum Target {
    Stderr,
    File(Arc<Mutex<Rotating>>),
}

/// Makes one `EventWriter` per event.
#[derive(Clone, Debug)]
struct Events(Target);

/// Collects one event and writes it, as one line, when dropped.
struct EventWriter {
    target: Target,
    buf: Vec<u8>,
}

impl Write for EventWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The event on one line: newlines inside it are written as `\n`.
fn one_line(event: &[u8]) -> Vec<u8> {
    let body = event.strip_suffix(b"\n").unwrap_or(event);
    let mut line = Vec::with_capacity(body.len() + 1);
    for &b in body {
        match b {
            b'\n' => line.extend_from_slice(b"\\n"),
            b'\r' => {}
            b => line.push(b),
        }
    }
    line.push(b'\n');
    line
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let line = one_line(&self.buf);
        match &self.target {
            Target::Stderr => {
                let _ = std::io::stderr().lock().write_all(&line);
            }
            Target::File(file) => {
                let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
                if file.write_event(&line).is_err() {
                    let _ = std::io::stderr().lock().write_all(&line);
                }
            }
        }
    }
}

impl<'a> MakeWriter<'a> for Events {
    type Writer = EventWriter;
    fn make_writer(&'a self) -> Self::Writer {
        EventWriter {
            target: self.0.clone(),
            buf: Vec::new(),
        }
    }
}

/// Installs paasd's log: `filter` in `tracing` syntax, to `file` (rotated at `max_bytes`)
/// when given, else to stderr. Colours only on a terminal.
pub fn init(filter: &str, file: Option<&Path>, max_bytes: u64) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let target = match file.map(|path| (path, Rotating::open(path, max_bytes))) {
        Some((_, Ok(rotating))) => Target::File(Arc::new(Mutex::new(rotating))),
        Some((path, Err(e))) => {
            eprintln!(
                "paasd: cannot write the log to {}: {e}; logging to stderr",
                path.display()
            );
            Target::Stderr
        }
        None => Target::Stderr,
    };
    let ansi = matches!(target, Target::Stderr) && std::io::stderr().is_terminal();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(Events(target))
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_one_line() {
        assert_eq!(one_line(b"a\nb\r\nc\n"), b"a\\nb\\nc\n");
        assert_eq!(one_line(b"plain"), b"plain\n");
    }

    #[test]
    fn the_file_is_rotated_and_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("paasd.log");
        let mut log = Rotating::open(&path, 1000).unwrap();
        for n in 0..500 {
            log.write_event(format!("event {n:04} with some words\n").as_bytes())
                .unwrap();
            let now = std::fs::metadata(&path).unwrap().len();
            assert!(now <= 1000, "{now} bytes");
        }
        let old = std::fs::read_to_string(dir.path().join("paasd.log.1")).unwrap();
        let new = std::fs::read_to_string(&path).unwrap();
        assert!(old.len() <= 1000 && !old.is_empty());
        assert!(new.ends_with("event 0499 with some words\n"));
        // The two files hold the newest events, contiguous.
        let first_new: usize = new[6..10].parse().unwrap();
        let last_old: usize = old.lines().last().unwrap()[6..10].parse().unwrap();
        assert_eq!(last_old + 1, first_new);
    }
}
