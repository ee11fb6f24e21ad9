//! Procfile parsing: one `type: command` per line, as on Heroku. Blank lines and `#` comments
//! are skipped; anything else that does not fit is refused with its line number.

use std::collections::BTreeMap;

/// Process types declared by an app, type -> command, ordered by type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Procfile {
    pub processes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcfileError {
    #[error(
        "Procfile line {line}: merge conflict marker found; resolve the conflict and push again"
    )]
    ConflictMarker { line: usize },
    #[error("Procfile line {line}: expected `type: command`")]
    MissingColon { line: usize },
    #[error(
        "Procfile line {line}: process type {name:?} may only contain letters, digits, '-' and '_'"
    )]
    BadType { line: usize, name: String },
    #[error("Procfile line {line}: process type {name:?} has no command")]
    EmptyCommand { line: usize, name: String },
    #[error("Procfile line {line}: process type {name:?} is declared twice")]
    Duplicate { line: usize, name: String },
}

impl Procfile {
    pub fn parse(text: &str) -> Result<Self, ProcfileError> {
        let mut processes = BTreeMap::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if ["<<<<<<<", "=======", ">>>>>>>"]
                .iter()
                .any(|m| trimmed.starts_with(m))
            {
                return Err(ProcfileError::ConflictMarker { line });
            }
            let Some((name, command)) = trimmed.split_once(':') else {
                return Err(ProcfileError::MissingColon { line });
            };
            let name = name.trim();
            let command = command.trim();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(ProcfileError::BadType {
                    line,
                    name: name.to_string(),
                });
            }
            if command.is_empty() {
                return Err(ProcfileError::EmptyCommand {
                    line,
                    name: name.to_string(),
                });
            }
            if processes
                .insert(name.to_string(), command.to_string())
                .is_some()
            {
                return Err(ProcfileError::Duplicate {
                    line,
                    name: name.to_string(),
                });
            }
        }
        Ok(Self { processes })
    }

    /// Process types that run as long-lived processes (everything but the `release` phase).
    pub fn process_types(&self) -> impl Iterator<Item = (&String, &String)> {
        self.processes
            .iter()
            .filter(|(name, _)| name.as_str() != "release")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_types_and_skips_comments() {
        let p = Procfile::parse(
            "# comment\nweb: gunicorn app:app --bind 0.0.0.0:$PORT\n\nworker:python worker.py\r\n",
        )
        .unwrap();
        assert_eq!(
            p.processes.get("web").map(String::as_str),
            Some("gunicorn app:app --bind 0.0.0.0:$PORT")
        );
        assert_eq!(
            p.processes.get("worker").map(String::as_str),
            Some("python worker.py")
        );
    }

    #[test]
    fn release_is_not_a_process_type() {
        let p = Procfile::parse("web: a\nrelease: b\n").unwrap();
        let types: Vec<_> = p.process_types().map(|(t, _)| t.as_str()).collect();
        assert_eq!(types, ["web"]);
    }

    #[test]
    fn rejects_conflict_markers_with_line() {
        let text = "web: a\n<<<<<<< HEAD\nweb: b\n=======\nweb: c\n>>>>>>> x\n";
        assert_eq!(
            Procfile::parse(text),
            Err(ProcfileError::ConflictMarker { line: 2 })
        );
    }

    #[test]
    fn rejects_malformed_lines() {
        assert_eq!(
            Procfile::parse("web python app.py"),
            Err(ProcfileError::MissingColon { line: 1 })
        );
        assert!(matches!(
            Procfile::parse("web:\n"),
            Err(ProcfileError::EmptyCommand { line: 1, .. })
        ));
        assert!(matches!(
            Procfile::parse("w eb: x"),
            Err(ProcfileError::BadType { line: 1, .. })
        ));
        assert!(matches!(
            Procfile::parse("web: a\nweb: b"),
            Err(ProcfileError::Duplicate { line: 2, .. })
        ));
    }
}
