//! Config vars: which keys are allowed, `K=V` arguments as `paas config:set` takes them, and
//! what a config change does to a release's config (a pure function, so the store can apply
//! it inside its transaction).

use std::collections::BTreeMap;

/// Keys the platform sets itself; a user cannot set them.
pub const RESERVED_KEYS: &[&str] = &["PORT", "DYNO"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigVarError {
    #[error("{0:?} is not a valid config var name: use letters, digits and _, not starting with a digit")]
    InvalidKey(String),
    #[error("{0} is set by the platform and cannot be changed")]
    Reserved(String),
    #[error("{0:?} is not KEY=VALUE")]
    NotAnAssignment(String),
    #[error("the value of {0} holds a NUL character, which an environment variable cannot")]
    NulInValue(String),
}

/// Checks a key: `[A-Za-z_][A-Za-z0-9_]*`, not reserved.
pub fn validate_key(key: &str) -> Result<(), ConfigVarError> {
    let mut bytes = key.bytes();
    let valid = matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        return Err(ConfigVarError::InvalidKey(key.to_string()));
    }
    if RESERVED_KEYS.contains(&key) {
        return Err(ConfigVarError::Reserved(key.to_string()));
    }
    Ok(())
}

/// Splits `KEY=VALUE` at the first `=` (the value may hold anything, `=` included).
pub fn parse_assignment(arg: &str) -> Result<(String, String), ConfigVarError> {
    let (key, value) = arg
        .split_once('=')
        .ok_or_else(|| ConfigVarError::NotAnAssignment(arg.to_string()))?;
    validate_key(key)?;
    if value.contains('\0') {
        return Err(ConfigVarError::NulInValue(key.to_string()));
    }
    Ok((key.to_string(), value.to_string()))
}

/// A change of config vars: `Some(value)` sets, `None` unsets.
pub type ConfigChange = BTreeMap<String, Option<String>>;

/// The config after `change`, and the release description (`Set A, B config vars`,
/// `Unset C config vars`, or both).
pub fn apply_config_change(
    current: &BTreeMap<String, String>,
    change: &ConfigChange,
) -> Result<(BTreeMap<String, String>, String), ConfigVarError> {
    let mut config = current.clone();
    let (mut set, mut unset) = (Vec::new(), Vec::new());
    for (key, value) in change {
        validate_key(key)?;
        match value {
            Some(value) if value.contains('\0') => {
                return Err(ConfigVarError::NulInValue(key.clone()))
            }
            Some(value) => {
                config.insert(key.clone(), value.clone());
                set.push(key.as_str());
            }
            None => {
                config.remove(key);
                unset.push(key.as_str());
            }
        }
    }
    let mut parts = Vec::new();
    if !set.is_empty() {
        parts.push(format!("Set {} config vars", set.join(", ")));
    }
    if !unset.is_empty() {
        parts.push(format!("Unset {} config vars", unset.join(", ")));
    }
    Ok((config, parts.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        for good in ["A", "_x", "DATABASE_URL", "a1"] {
            assert_eq!(validate_key(good), Ok(()), "{good}");
        }
        for bad in ["", "1A", "A-B", "A B", "É", "A=B"] {
            assert!(
                matches!(validate_key(bad), Err(ConfigVarError::InvalidKey(_))),
                "{bad}"
            );
        }
        assert_eq!(
            validate_key("PORT"),
            Err(ConfigVarError::Reserved("PORT".into()))
        );
    }

    #[test]
    fn assignments_keep_everything_after_the_first_equals() {
        assert_eq!(
            parse_assignment("URL=postgres://u:p@h/db?a=b").unwrap(),
            ("URL".into(), "postgres://u:p@h/db?a=b".into())
        );
        assert_eq!(parse_assignment("EMPTY=").unwrap().1, "");
        assert_eq!(
            parse_assignment("Q=it's \"quoted\"\nnext ✓").unwrap().1,
            "it's \"quoted\"\nnext ✓"
        );
        assert!(parse_assignment("NOVALUE").is_err());
        assert!(parse_assignment("DYNO=web.9").is_err());
    }

    #[test]
    fn changes_set_and_unset_with_a_description() {
        let current =
            BTreeMap::from([("A".to_string(), "1".to_string()), ("B".into(), "2".into())]);
        let change = ConfigChange::from([
            ("B".to_string(), None),
            ("C".to_string(), Some("3".to_string())),
        ]);
        let (config, description) = apply_config_change(&current, &change).unwrap();
        assert_eq!(
            config,
            BTreeMap::from([("A".to_string(), "1".to_string()), ("C".into(), "3".into())])
        );
        assert_eq!(description, "Set C config vars; Unset B config vars");
        let bad = ConfigChange::from([("PORT".to_string(), Some("1".to_string()))]);
        assert!(apply_config_change(&current, &bad).is_err());
        let nul = ConfigChange::from([("A".to_string(), Some("x\0y".to_string()))]);
        assert_eq!(
            apply_config_change(&current, &nul),
            Err(ConfigVarError::NulInValue("A".into()))
        );
        assert!(parse_assignment("A=x\0y").is_err());
    }
}
