//! Formation: how many processes of each type an app should run.

use std::collections::BTreeMap;

/// Process type -> quantity, ordered by type name.
pub type Formation = BTreeMap<String, u32>;

/// The formation a first release starts with: one `web` process when the app declares one,
/// nothing else (like Heroku).
pub fn initial_formation<'a>(process_types: impl IntoIterator<Item = &'a String>) -> Formation {
    process_types
        .into_iter()
        .filter(|t| t.as_str() == "web")
        .map(|t| (t.clone(), 1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_starts() {
        let types = ["web".to_string(), "worker".to_string()];
        let f = initial_formation(types.iter());
        assert_eq!(f.get("web"), Some(&1));
        assert_eq!(f.get("worker"), None);
        assert!(initial_formation(["worker".to_string()].iter()).is_empty());
    }
}

/// Most processes of one type an app may ask for.
pub const MAX_QUANTITY: u32 = 100;

/// One `paas scale` argument: `web=3`, `web+2` or `web-1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScaleChange {
    Set(String, u32),
    Add(String, u32),
    Remove(String, u32),
}

impl ScaleChange {
    pub fn process_type(&self) -> &str {
        match self {
            Self::Set(t, _) | Self::Add(t, _) | Self::Remove(t, _) => t,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScaleError {
    #[error("{0:?} is not TYPE=N, TYPE+N or TYPE-N (e.g. web=3)")]
    Syntax(String),
    #[error("{0} processes of one type is more than the limit of {MAX_QUANTITY}")]
    TooMany(u64),
}

/// Parses one `paas scale` argument.
pub fn parse_scale(arg: &str) -> Result<ScaleChange, ScaleError> {
    let syntax = || ScaleError::Syntax(arg.to_string());
    // A type may itself hold `-` (`web-api=2`): an `=` anywhere wins, else the last `+`/`-`.
    let at = arg
        .find('=')
        .or_else(|| arg.rfind(['+', '-']))
        .ok_or_else(syntax)?;
    let op = arg[at..].chars().next().ok_or_else(syntax)?;
    let (process_type, amount) = (&arg[..at], &arg[at + 1..]);
    if !crate::process_size::valid_process_type(process_type) {
        return Err(syntax());
    }
    let n: u64 = amount.parse().map_err(|_| syntax())?;
    let n32 = u32::try_from(n).map_err(|_| ScaleError::TooMany(n))?;
    let t = process_type.to_string();
    Ok(match op {
        '=' => ScaleChange::Set(t, n32),
        '+' => ScaleChange::Add(t, n32),
        _ => ScaleChange::Remove(t, n32),
    })
}

/// The formation after `changes`; types that end at 0 are kept at 0.
pub fn apply_scale(
    formation: &Formation,
    changes: &[ScaleChange],
) -> Result<Formation, ScaleError> {
    let mut next = formation.clone();
    for change in changes {
        let current = u64::from(next.get(change.process_type()).copied().unwrap_or(0));
        let wanted = match change {
            ScaleChange::Set(_, n) => u64::from(*n),
            ScaleChange::Add(_, n) => current + u64::from(*n),
            ScaleChange::Remove(_, n) => current.saturating_sub(u64::from(*n)),
        };
        if wanted > u64::from(MAX_QUANTITY) {
            return Err(ScaleError::TooMany(wanted));
        }
        next.insert(change.process_type().to_string(), wanted as u32);
    }
    Ok(next)
}

#[cfg(test)]
mod scale_tests {
    use super::*;

    #[test]
    fn parses_set_add_remove() {
        assert_eq!(parse_scale("web=3"), Ok(ScaleChange::Set("web".into(), 3)));
        assert_eq!(parse_scale("web+2"), Ok(ScaleChange::Add("web".into(), 2)));
        assert_eq!(
            parse_scale("web-1"),
            Ok(ScaleChange::Remove("web".into(), 1))
        );
        assert_eq!(
            parse_scale("web-api=2"),
            Ok(ScaleChange::Set("web-api".into(), 2))
        );
        assert_eq!(
            parse_scale("web-api+1"),
            Ok(ScaleChange::Add("web-api".into(), 1))
        );
        for bad in [
            "web",
            "=3",
            "web=",
            "web=x",
            "web=-1",
            "+1",
            "web=99999999999",
            "w b=1",
        ] {
            assert!(parse_scale(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn applies_changes_in_order_within_the_limit() {
        let f = Formation::from([("web".to_string(), 1)]);
        let changes = [
            parse_scale("web+2").unwrap(),
            parse_scale("worker=1").unwrap(),
            parse_scale("web-1").unwrap(),
        ];
        let next = apply_scale(&f, &changes).unwrap();
        assert_eq!(next["web"], 2);
        assert_eq!(next["worker"], 1);
        assert_eq!(
            apply_scale(&f, &[parse_scale("web-5").unwrap()]).unwrap()["web"],
            0
        );
        assert!(apply_scale(&f, &[parse_scale("web=101").unwrap()]).is_err());
        assert!(apply_scale(&f, &[parse_scale("web+100").unwrap()]).is_err());
    }
}
