//! App names: 3-30 characters of lowercase letters, digits and dashes, starting with a letter.
//! The name is also the app's host label (`<app>.<domain>`) and part of container names.

use std::fmt;
use std::str::FromStr;

/// Names that would clash with the platform's own host or paths.
const RESERVED: &[&str] = &["paas", "api", "www"];

/// A validated app name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AppName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppNameError {
    #[error("app name must be between 3 and 30 characters, got {0}")]
    Length(usize),
    #[error("app name must start with a lowercase letter")]
    Start,
    #[error("app name may only contain lowercase letters, digits and dashes")]
    Characters,
    #[error("app name must not end with a dash")]
    TrailingDash,
    #[error("app name {0:?} is reserved")]
    Reserved(String),
}

impl AppName {
    pub fn parse(raw: &str) -> Result<Self, AppNameError> {
        Self::check(raw)?;
        Ok(Self(raw.to_string()))
    }

    /// Whether `raw` is a valid app name (`parse` without making one).
    pub fn is_valid(raw: &str) -> bool {
        Self::check(raw).is_ok()
    }

    fn check(raw: &str) -> Result<(), AppNameError> {
        let len = raw.chars().count();
        if !(3..=30).contains(&len) {
            return Err(AppNameError::Length(len));
        }
        let mut chars = raw.chars();
        if !chars.next().is_some_and(|c| c.is_ascii_lowercase()) {
            return Err(AppNameError::Start);
        }
        if !raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(AppNameError::Characters);
        }
        if raw.ends_with('-') {
            return Err(AppNameError::TrailingDash);
        }
        if RESERVED.contains(&raw) {
            return Err(AppNameError::Reserved(raw.to_string()));
        }
        Ok(())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AppName {
    type Err = AppNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for AppName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for AppName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_names() {
        for name in ["abc", "hello", "my-app-2", "a23456789012345678901234567890"] {
            assert_eq!(AppName::parse(name).unwrap().as_str(), name);
        }
    }

    #[test]
    fn rejects_bad_names() {
        assert_eq!(AppName::parse("ab"), Err(AppNameError::Length(2)));
        assert_eq!(
            AppName::parse("a234567890123456789012345678901"),
            Err(AppNameError::Length(31))
        );
        assert_eq!(AppName::parse("1abc"), Err(AppNameError::Start));
        assert_eq!(AppName::parse("-abc"), Err(AppNameError::Start));
        assert_eq!(AppName::parse("Hello"), Err(AppNameError::Start));
        assert_eq!(AppName::parse("heLlo"), Err(AppNameError::Characters));
        assert_eq!(AppName::parse("he_llo"), Err(AppNameError::Characters));
        assert_eq!(AppName::parse("he.llo"), Err(AppNameError::Characters));
        assert_eq!(AppName::parse("héllo"), Err(AppNameError::Characters));
        assert_eq!(AppName::parse("hello-"), Err(AppNameError::TrailingDash));
        assert!(matches!(
            AppName::parse("paas"),
            Err(AppNameError::Reserved(_))
        ));
    }
}
