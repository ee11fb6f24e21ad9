//! The app logs on disk: per app a folder of append-only segment files
//! (`<dir>/apps/<app>/<seq>.log`, one line per entry), the newest one written, the oldest
//! deleted once the folder holds more than the app's bound. Appends are one `write` to an
//! open file (no database round trip, no fsync: a line survives a paasd restart, not a power
//! cut); reading the last lines reads segments newest first.

use crate::entry::{Filter, LogEntry};
use crate::LogError;
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// How many segments an app's bound is cut into: the log holds between 3/4 of the bound and
/// the bound (plus one line).
const SEGMENTS: u64 = 4;

/// One app's log folder.
#[derive(Debug)]
pub(crate) struct AppSegments {
    dir: PathBuf,
    max_bytes: u64,
    /// (sequence number, size in bytes), oldest first; the last one is written.
    segments: VecDeque<(u64, u64)>,
    active: Option<File>,
}

/// The segments as they were at one moment, to be read without holding the app's lock:
/// each open file and how many bytes of it belong to the snapshot, newest first.
pub(crate) struct Snapshot {
    files: Vec<(File, u64)>,
}

impl AppSegments {
    /// Opens (creating) an app's folder and finds its segments.
    pub(crate) fn open(dir: PathBuf, max_bytes: u64) -> Result<Self, LogError> {
        std::fs::create_dir_all(&dir).map_err(|e| LogError::io(&dir, e))?;
        let mut segments = Vec::new();
        for item in std::fs::read_dir(&dir).map_err(|e| LogError::io(&dir, e))? {
            let item = item.map_err(|e| LogError::io(&dir, e))?;
            let name = item.file_name();
            let Some(seq) = name
                .to_str()
                .and_then(|n| n.strip_suffix(".log"))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            let size = item.metadata().map(|m| m.len()).unwrap_or(0);
            segments.push((seq, size));
        }
        segments.sort_unstable();
        Ok(Self {
            dir,
            max_bytes: max_bytes.max(1),
            segments: segments.into(),
            active: None,
        })
    }

    fn path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:012}.log"))
    }

    fn segment_bytes(&self) -> u64 {
        (self.max_bytes / SEGMENTS).max(1)
    }

    /// Appends one line (`line` without its newline).
    pub(crate) fn append(&mut self, line: &str) -> Result<(), LogError> {
        let mut text = String::with_capacity(line.len() + 1);
        text.push_str(line);
        text.push('\n');
        self.append_joined(&text, &[text.len()])
    }

    /// Appends the lines of `text`, each ending with its newline at an offset of `ends`
    /// (ascending, the last one `text.len()`), with one `write` per segment they land in,
    /// straight from `text`.
    pub(crate) fn append_joined(&mut self, text: &str, ends: &[usize]) -> Result<(), LogError> {
        let text = text.as_bytes();
        let mut written = 0;
        let mut start = 0;
        for &end in ends {
            let full = match self.segments.back() {
                None => true,
                Some((_, size)) => *size >= self.segment_bytes(),
            };
            if full {
                self.write(&text[written..start])?;
                written = start;
                let seq = self.segments.back().map(|(s, _)| s + 1).unwrap_or(1);
                self.segments.push_back((seq, 0));
                self.active = None;
                self.trim()?;
            }
            if let Some((_, size)) = self.segments.back_mut() {
                *size += (end - start) as u64;
            }
            start = end;
        }
        self.write(&text[written..start])?;
        self.trim()
    }

    /// Writes `bytes` to the newest segment (opening it when needed).
    fn write(&mut self, bytes: &[u8]) -> Result<(), LogError> {
        if bytes.is_empty() {
            return Ok(());
        }
        if self.active.is_none() {
            let seq = self.segments.back().map(|(s, _)| *s).unwrap_or(1);
            let path = self.path(seq);
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| LogError::io(&path, e))?;
            self.active = Some(file);
        }
        if let Some(file) = self.active.as_mut() {
            file.write_all(bytes)
                .map_err(|e| LogError::io(&self.dir, e))?;
        }
        Ok(())
    }

    /// Deletes the oldest segments while the folder holds more than the bound.
    fn trim(&mut self) -> Result<(), LogError> {
        while self.segments.len() > 1 && self.total_bytes() > self.max_bytes {
            if let Some((seq, _)) = self.segments.pop_front() {
                let path = self.path(seq);
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(LogError::io(&path, e)),
                }
            }
        }
        Ok(())
    }

    pub(crate) fn total_bytes(&self) -> u64 {
        self.segments.iter().map(|(_, size)| size).sum()
    }

    /// Opens every segment (newest first) with its current size.
    pub(crate) fn snapshot(&self) -> Result<Snapshot, LogError> {
        let mut files = Vec::new();
        for (seq, size) in self.segments.iter().rev() {
            let path = self.path(*seq);
            match File::open(&path) {
                Ok(file) => files.push((file, *size)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(LogError::io(&path, e)),
            }
        }
        Ok(Snapshot { files })
    }
}

impl Snapshot {
    /// The last `num` entries passing `filter`, oldest first.
    pub(crate) fn last(
        self,
        num: usize,
        filter: &Filter,
        dir: &Path,
    ) -> Result<Vec<LogEntry>, LogError> {
        let mut found: Vec<LogEntry> = Vec::new();
        if num == 0 {
            return Ok(found);
        }
        for (file, size) in self.files {
            let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            file.take(size)
                .read_to_end(&mut bytes)
                .map_err(|e| LogError::io(dir, e))?;
            let text = String::from_utf8_lossy(&bytes);
            for line in text.lines().rev() {
                if let Some(entry) = LogEntry::parse(line) {
                    if entry.matches(filter) {
                        found.push(entry);
                        if found.len() == num {
                            found.reverse();
                            return Ok(found);
                        }
                    }
                }
            }
        }
        found.reverse();
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::Source;

    fn line(n: usize) -> String {
        LogEntry {
            at_micros: n as i64,
            source: Source::App,
            process: Some(format!("web.{}", n % 2 + 1)),
            message: format!("line {n:05} {}", "x".repeat(40)),
        }
        .to_string()
    }

    #[test]
    fn the_size_bound_holds_and_the_oldest_lines_go_first() {
        let dir = tempfile::tempdir().unwrap();
        let max = 4096;
        let mut log = AppSegments::open(dir.path().join("a"), max).unwrap();
        for n in 0..1000 {
            log.append(&line(n)).unwrap();
            let on_disk: u64 = std::fs::read_dir(dir.path().join("a"))
                .unwrap()
                .map(|f| f.unwrap().metadata().unwrap().len())
                .sum();
            assert!(
                on_disk <= max + 100,
                "{on_disk} bytes on disk after line {n}"
            );
        }
        let all = log
            .snapshot()
            .unwrap()
            .last(usize::MAX, &Filter::default(), dir.path())
            .unwrap();
        // The newest lines are kept, contiguous, in order; the oldest are gone.
        assert_eq!(
            all.last().unwrap().message,
            LogEntry::parse(&line(999)).unwrap().message
        );
        assert!(
            all.len() > 25 && all.len() < 1000,
            "{} lines kept",
            all.len()
        );
        let first = all.len();
        for (i, entry) in all.iter().enumerate() {
            assert_eq!(entry.at_micros, (1000 - first + i) as i64);
        }
    }

    #[test]
    fn a_batch_keeps_the_bound_and_the_order() {
        let dir = tempfile::tempdir().unwrap();
        let max = 4096;
        let mut log = AppSegments::open(dir.path().join("a"), max).unwrap();
        for batch in 0..20 {
            let lines: Vec<String> = (batch * 50..(batch + 1) * 50).map(line).collect();
            let mut text = String::new();
            let mut ends = Vec::new();
            for l in &lines {
                text.push_str(l);
                text.push('\n');
                ends.push(text.len());
            }
            log.append_joined(&text, &ends).unwrap();
            let on_disk: u64 = std::fs::read_dir(dir.path().join("a"))
                .unwrap()
                .map(|f| f.unwrap().metadata().unwrap().len())
                .sum();
            assert!(
                on_disk <= max + 100,
                "{on_disk} bytes on disk after batch {batch}"
            );
            assert_eq!(on_disk, log.total_bytes());
        }
        let all = log
            .snapshot()
            .unwrap()
            .last(usize::MAX, &Filter::default(), dir.path())
            .unwrap();
        let first = all.len();
        for (i, entry) in all.iter().enumerate() {
            assert_eq!(entry.at_micros, (1000 - first + i) as i64);
        }
    }

    #[test]
    fn reopened_logs_keep_their_lines_and_last_filters() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut log = AppSegments::open(dir.path().join("a"), 1 << 20).unwrap();
            for n in 0..10 {
                log.append(&line(n)).unwrap();
            }
        }
        let mut log = AppSegments::open(dir.path().join("a"), 1 << 20).unwrap();
        log.append(&line(10)).unwrap();
        let web1 = Filter {
            process: Some("web.1".into()),
            source: None,
        };
        let last = log.snapshot().unwrap().last(3, &web1, dir.path()).unwrap();
        let times: Vec<i64> = last.iter().map(|e| e.at_micros).collect();
        assert_eq!(times, vec![6, 8, 10]);
    }
}
