//! `Doing something... done` lines on stderr. On a terminal the label shows while the
//! request runs (and ends with `!` if it fails); otherwise the whole line is printed only
//! on success, so a failing command writes nothing but its one error line.

use std::io::{IsTerminal, Write};

pub struct Progress {
    label: String,
    live: bool,
    finished: bool,
}

/// Starts `label... `.
pub fn start(label: impl Into<String>) -> Progress {
    let label = label.into();
    let live = std::io::stderr().is_terminal();
    if live {
        eprint!("{label}... ");
        let _ = std::io::stderr().flush();
    }
    Progress {
        label,
        live,
        finished: false,
    }
}

impl Progress {
    /// Ends the line with `done`.
    pub fn done(self) {
        self.done_with("done");
    }

    /// Ends the line with `suffix`, e.g. `done, hello`.
    pub fn done_with(mut self, suffix: &str) {
        self.finished = true;
        if self.live {
            eprintln!("{suffix}");
        } else {
            eprintln!("{}... {suffix}", self.label);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.live && !self.finished {
            eprintln!("!");
        }
    }
}
