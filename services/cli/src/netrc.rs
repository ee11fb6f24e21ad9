//! `~/.netrc`: where `paas login` keeps the API token, as `machine <host> login <email>
//! password <token>`, so that `git push` (libcurl reads `~/.netrc` by host name) and the CLI
//! share one credential. Edits are surgical: only the tokens of our own entry change; every
//! other entry, comment, macro and the file's layout are kept byte for byte.

use anyhow::{Context, Result};
use std::fs;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The file at `$HOME/.netrc`.
pub fn default_path() -> Result<PathBuf> {
    crate::config::home_dir().map(|home| home.join(".netrc"))
}

/// Reads the file; a missing file is an empty netrc.
pub fn load(path: &Path) -> Result<Netrc> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Netrc::parse(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Netrc::parse("")),
        Err(e) => Err(e).with_context(|| format!("Cannot read {}", path.display())),
    }
}

/// Writes the file with mode 0600 (it holds secrets), replacing it atomically. A symlinked
/// `~/.netrc` (dotfile managers) is followed, so the link stays a link.
pub fn save(path: &Path, netrc: &Netrc) -> Result<()> {
    let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = target.parent().unwrap_or(Path::new("."));
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| ".netrc".to_string());
    let tmp = dir.join(format!(".{file_name}.paas-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(netrc.as_str().as_bytes())?;
        file.sync_all()?;
        fs::rename(&tmp, &target)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        anyhow::anyhow!("Cannot write {}: {e}", target.display())
    })
}

/// A login/password pair found for a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub login: Option<String>,
    pub password: Option<String>,
}

/// A parsed netrc that remembers where each token sits in the original text.
#[derive(Debug, Clone)]
pub struct Netrc {
    text: String,
    entries: Vec<Entry>,
}

/// One `machine` (or `default`) entry: the token positions we may need to edit.
#[derive(Debug, Clone)]
struct Entry {
    /// `None` for the `default` entry.
    host: Option<String>,
    /// Byte range of the host name token (or of the `default` keyword).
    host_token: Range<usize>,
    login: Option<Range<usize>>,
    password: Option<Range<usize>>,
    login_value: Option<String>,
    password_value: Option<String>,
    /// From the `machine`/`default` keyword to the end of the entry's last token.
    span: Range<usize>,
}

impl Entry {
    fn is_host(&self, host: &str) -> bool {
        self.host
            .as_deref()
            .is_some_and(|h| h.eq_ignore_ascii_case(host))
    }
}

impl Netrc {
    pub fn parse(text: &str) -> Self {
        Self {
            text: text.to_string(),
            entries: parse_entries(text),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The credentials of the first `machine` entry for `host` (`default` is not used).
    pub fn get(&self, host: &str) -> Option<Credentials> {
        self.entries
            .iter()
            .find(|e| e.is_host(host))
            .map(|e| Credentials {
                login: e.login_value.clone(),
                password: e.password_value.clone(),
            })
    }

    /// Sets login and password for `host`: edits the first entry for it in place (and drops
    /// any later duplicates), or adds a one-line entry before `default` or at the end.
    pub fn upsert(&mut self, host: &str, login: &str, password: &str) {
        let mut matching = self.entries.iter().filter(|e| e.is_host(host));
        let mut edits: Vec<(Range<usize>, String)> = Vec::new();
        if let Some(first) = matching.next() {
            match (&first.login, &first.password) {
                (Some(l), Some(p)) => {
                    edits.push((l.clone(), quote(login)));
                    edits.push((p.clone(), quote(password)));
                }
                (Some(l), None) => {
                    edits.push((l.clone(), quote(login)));
                    edits.push((l.end..l.end, format!(" password {}", quote(password))));
                }
                (None, Some(p)) => {
                    edits.push((p.clone(), quote(password)));
                    let at = first.host_token.end;
                    edits.push((at..at, format!(" login {}", quote(login))));
                }
                (None, None) => {
                    let at = first.host_token.end;
                    let text = format!(" login {} password {}", quote(login), quote(password));
                    edits.push((at..at, text));
                }
            }
            for duplicate in matching {
                edits.push((removal_range(&self.text, &duplicate.span), String::new()));
            }
        } else {
            let line = format!(
                "machine {} login {} password {}",
                quote(host),
                quote(login),
                quote(password)
            );
            match self.entries.iter().find(|e| e.host.is_none()) {
                Some(default) => {
                    let start = default.span.start;
                    let line_start = line_start(&self.text, start);
                    if self.text[line_start..start].trim().is_empty() {
                        edits.push((line_start..line_start, format!("{line}\n")));
                    } else {
                        edits.push((start..start, format!("{line} ")));
                    }
                }
                None => {
                    let end = self.text.len();
                    let sep = if self.text.is_empty() || self.text.ends_with('\n') {
                        ""
                    } else {
                        "\n"
                    };
                    edits.push((end..end, format!("{sep}{line}\n")));
                }
            }
        }
        self.apply(edits);
    }

    /// Removes every `machine` entry for `host`; returns whether there was one.
    pub fn remove(&mut self, host: &str) -> bool {
        let edits: Vec<_> = self
            .entries
            .iter()
            .filter(|e| e.is_host(host))
            .map(|e| (removal_range(&self.text, &e.span), String::new()))
            .collect();
        let removed = !edits.is_empty();
        self.apply(edits);
        removed
    }

    /// Applies non-overlapping edits from the back so earlier offsets stay valid.
    fn apply(&mut self, mut edits: Vec<(Range<usize>, String)>) {
        edits.sort_by_key(|(range, _)| std::cmp::Reverse((range.start, range.end)));
        for (range, replacement) in edits {
            self.text.replace_range(range, &replacement);
        }
        self.entries = parse_entries(&self.text);
    }
}

/// Quotes a value when it would not survive as a bare netrc token.
fn quote(value: &str) -> String {
    let bare = !value.is_empty()
        && !value.starts_with('"')
        && !value.starts_with('#')
        && !value.chars().any(|c| c.is_whitespace() || c == '\\');
    if bare {
        return value.to_string();
    }
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// What to delete to remove an entry: its own lines when it has them to itself (with their
/// indentation and newline), otherwise just its tokens and the blanks after them.
fn removal_range(text: &str, span: &Range<usize>) -> Range<usize> {
    let ls = line_start(text, span.start);
    let start = if text[ls..span.start].trim().is_empty() {
        ls
    } else {
        span.start
    };
    let bytes = text.as_bytes();
    let mut end = span.end;
    while end < bytes.len() && matches!(bytes[end], b' ' | b'\t' | b'\r') {
        end += 1;
    }
    if end < bytes.len() && bytes[end] == b'\n' {
        end += 1;
    }
    start..end
}

/// A token and where it sits.
struct Token {
    value: String,
    range: Range<usize>,
}

/// Splits netrc text into tokens: blanks separate them, `"..."` quotes with backslash
/// escapes, and a line whose first non-blank character is `#` is a comment.
struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn next_token(&mut self) -> Option<Token> {
        let bytes = self.text.as_bytes();
        loop {
            while self.pos < bytes.len() && bytes[self.pos].is_ascii_whitespace() {
                self.pos += 1;
            }
            if self.pos >= bytes.len() {
                return None;
            }
            let at_line_start = self.text[line_start(self.text, self.pos)..self.pos]
                .trim()
                .is_empty();
            if bytes[self.pos] == b'#' && at_line_start {
                self.skip_line();
                continue;
            }
            break;
        }
        let start = self.pos;
        let mut value = String::new();
        let mut chars = self.text[start..].char_indices();
        if bytes[start] == b'"' {
            chars.next();
            let mut end = self.text.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        end = start + i + 1;
                        break;
                    }
                    '\\' => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, 'r')) => value.push('\r'),
                        Some((_, 't')) => value.push('\t'),
                        Some((_, other)) => value.push(other),
                        None => {}
                    },
                    c => value.push(c),
                }
            }
            self.pos = end;
        } else {
            let mut end = self.text.len();
            for (i, c) in chars {
                if c.is_whitespace() {
                    end = start + i;
                    break;
                }
                value.push(c);
            }
            self.pos = end;
        }
        Some(Token {
            value,
            range: start..self.pos,
        })
    }

    fn skip_line(&mut self) {
        self.pos = self.text[self.pos..]
            .find('\n')
            .map_or(self.text.len(), |i| self.pos + i + 1);
    }

    /// A `macdef` body runs from the line after its name up to the first empty line.
    fn skip_macro_body(&mut self) {
        self.skip_line();
        self.pos = self.text[self.pos..]
            .find("\n\n")
            .map_or(self.text.len(), |i| self.pos + i + 1);
    }
}

fn parse_entries(text: &str) -> Vec<Entry> {
    let mut lexer = Lexer { text, pos: 0 };
    let mut entries: Vec<Entry> = Vec::new();
    while let Some(token) = lexer.next_token() {
        match token.value.as_str() {
            "machine" => {
                let host = lexer.next_token();
                let (host, host_token) = match host {
                    Some(h) => (h.value, h.range),
                    None => (String::new(), token.range.clone()),
                };
                entries.push(Entry {
                    host: Some(host),
                    span: token.range.start..host_token.end,
                    host_token,
                    login: None,
                    password: None,
                    login_value: None,
                    password_value: None,
                });
            }
            "default" => entries.push(Entry {
                host: None,
                host_token: token.range.clone(),
                span: token.range,
                login: None,
                password: None,
                login_value: None,
                password_value: None,
            }),
            keyword @ ("login" | "password" | "account") => {
                let value = lexer.next_token();
                let Some(entry) = entries.last_mut() else {
                    continue;
                };
                let end = value.as_ref().map_or(token.range.end, |v| v.range.end);
                entry.span.end = end;
                if let Some(value) = value {
                    match keyword {
                        "login" => {
                            entry.login = Some(value.range);
                            entry.login_value = Some(value.value);
                        }
                        "password" => {
                            entry.password = Some(value.range);
                            entry.password_value = Some(value.value);
                        }
                        _ => {}
                    }
                }
            }
            "macdef" => {
                let _name = lexer.next_token();
                lexer.skip_macro_body();
                if let Some(entry) = entries.last_mut() {
                    // The body ends just after the line break before the blank line.
                    entry.span.end = lexer.pos.saturating_sub(1).max(entry.span.end);
                }
            }
            _ => {
                if let Some(entry) = entries.last_mut() {
                    entry.span.end = token.range.end;
                }
            }
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# my credentials\n\
machine github.com\n  login octocat\n  password gh-secret\n\n\
machine 127.0.0.1 login old@example.com password oldtoken\n\
machine example.org login me password pw\n\
default\n  login anonymous\n  password guest\n";

    #[test]
    fn reads_entries_by_host() {
        let netrc = Netrc::parse(SAMPLE);
        let creds = netrc.get("127.0.0.1").unwrap();
        assert_eq!(creds.login.as_deref(), Some("old@example.com"));
        assert_eq!(creds.password.as_deref(), Some("oldtoken"));
        let gh = netrc.get("GitHub.com").unwrap();
        assert_eq!(gh.password.as_deref(), Some("gh-secret"));
        assert!(netrc.get("unknown.host").is_none(), "default is not used");
    }

    #[test]
    fn replaces_only_our_tokens() {
        let mut netrc = Netrc::parse(SAMPLE);
        netrc.upsert("127.0.0.1", "new@example.com", "newtoken");
        let expected = SAMPLE.replace(
            "machine 127.0.0.1 login old@example.com password oldtoken",
            "machine 127.0.0.1 login new@example.com password newtoken",
        );
        assert_eq!(netrc.as_str(), expected);
    }

    #[test]
    fn replaces_multi_line_entry_in_place() {
        let mut netrc = Netrc::parse(SAMPLE);
        netrc.upsert("github.com", "someone", "tok");
        let expected = SAMPLE.replace(
            "login octocat\n  password gh-secret",
            "login someone\n  password tok",
        );
        assert_eq!(netrc.as_str(), expected);
    }

    #[test]
    fn adds_new_entry_before_default() {
        let mut netrc = Netrc::parse(SAMPLE);
        netrc.upsert("paas.example.com", "a@b.c", "t0k");
        let expected = SAMPLE.replace(
            "default\n",
            "machine paas.example.com login a@b.c password t0k\ndefault\n",
        );
        assert_eq!(netrc.as_str(), expected);
        assert_eq!(
            netrc.get("paas.example.com").unwrap().password.as_deref(),
            Some("t0k")
        );
    }

    #[test]
    fn appends_to_file_without_default() {
        let mut netrc = Netrc::parse("machine a login x password y");
        netrc.upsert("b", "l", "p");
        assert_eq!(
            netrc.as_str(),
            "machine a login x password y\nmachine b login l password p\n"
        );
        let mut empty = Netrc::parse("");
        empty.upsert("h", "l", "p");
        assert_eq!(empty.as_str(), "machine h login l password p\n");
    }

    #[test]
    fn fills_missing_login_or_password() {
        let mut netrc = Netrc::parse("machine h\nmachine i login x\n");
        netrc.upsert("h", "l", "p");
        netrc.upsert("i", "l2", "p2");
        assert_eq!(
            netrc.as_str(),
            "machine h login l password p\nmachine i login l2 password p2\n"
        );
    }

    #[test]
    fn removes_entry_and_keeps_others() {
        let mut netrc = Netrc::parse(SAMPLE);
        assert!(netrc.remove("127.0.0.1"));
        let expected = SAMPLE.replace(
            "machine 127.0.0.1 login old@example.com password oldtoken\n",
            "",
        );
        assert_eq!(netrc.as_str(), expected);
        assert!(!netrc.remove("127.0.0.1"));
    }

    #[test]
    fn removes_multi_line_entry() {
        let mut netrc = Netrc::parse(SAMPLE);
        assert!(netrc.remove("github.com"));
        let expected = SAMPLE.replace(
            "machine github.com\n  login octocat\n  password gh-secret\n",
            "",
        );
        assert_eq!(netrc.as_str(), expected);
        assert!(netrc.get("example.org").is_some());
        assert!(netrc.get("github.com").is_none());
    }

    #[test]
    fn removes_entry_sharing_a_line() {
        let mut netrc = Netrc::parse("machine a login x password y machine b login u password v\n");
        assert!(netrc.remove("a"));
        assert_eq!(netrc.as_str(), "machine b login u password v\n");
        let mut netrc = Netrc::parse("machine a login x machine b login u\nmachine c login w\n");
        assert!(netrc.remove("b"));
        assert_eq!(netrc.as_str(), "machine a login x machine c login w\n");
    }

    #[test]
    fn drops_duplicate_entries_on_upsert() {
        let mut netrc = Netrc::parse(
            "machine h login a password 1\nmachine x login q\nmachine h login b password 2\n",
        );
        netrc.upsert("h", "c", "3");
        assert_eq!(
            netrc.as_str(),
            "machine h login c password 3\nmachine x login q\n"
        );
    }

    #[test]
    fn keeps_macros_and_comments() {
        let text = "machine ftp.example.com login u password p\nmacdef init\ncd /pub\nbin\n\n# note\nmachine h login a password b\n";
        let mut netrc = Netrc::parse(text);
        assert!(netrc.get("cd").is_none());
        netrc.upsert("h", "a2", "b2");
        assert_eq!(
            netrc.as_str(),
            text.replace("login a password b", "login a2 password b2")
        );
        assert!(netrc.remove("ftp.example.com"));
        assert_eq!(netrc.as_str(), "\n# note\nmachine h login a2 password b2\n");
    }

    #[test]
    fn handles_quoted_values() {
        let mut netrc = Netrc::parse("machine h login \"a b\" password \"x\\\"y\"\n");
        let creds = netrc.get("h").unwrap();
        assert_eq!(creds.login.as_deref(), Some("a b"));
        assert_eq!(creds.password.as_deref(), Some("x\"y"));
        netrc.upsert("h", "plain", "with space");
        assert_eq!(
            netrc.as_str(),
            "machine h login plain password \"with space\"\n"
        );
    }

    #[test]
    fn saves_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".netrc");
        let mut netrc = load(&path).unwrap();
        netrc.upsert("h", "l", "p");
        save(&path, &netrc).unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "machine h login l password p\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
