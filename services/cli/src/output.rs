//! Writing results to stdout. A closed pipe (`paas apps | head -1`) ends the program quietly
//! instead of panicking like `println!` would.

use anyhow::{anyhow, Result};
use std::io::{ErrorKind, Write};

/// Writes `text` and a newline to stdout.
pub fn line(text: impl AsRef<str>) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    let result = stdout
        .write_all(text.as_ref().as_bytes())
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush());
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(anyhow!("Cannot write output: {e}")),
    }
}

/// Writes already line-terminated text (e.g. a table) to stdout.
pub fn block(text: &str) -> Result<()> {
    line(text.strip_suffix('\n').unwrap_or(text))
}

/// Pretty-prints a value as JSON (`--json`).
pub fn json(value: &impl serde::Serialize) -> Result<()> {
    line(serde_json::to_string_pretty(value)?)
}
