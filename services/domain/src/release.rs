//! Release versions: `v1`, `v2`, ... numbered per app.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReleaseVersion(pub i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a release version (expected e.g. v3)")]
pub struct ReleaseVersionError(pub String);

impl FromStr for ReleaseVersion {
    type Err = ReleaseVersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.strip_prefix('v').unwrap_or(s);
        match digits.parse::<i64>() {
            Ok(n) if n > 0 => Ok(Self(n)),
            _ => Err(ReleaseVersionError(s.to_string())),
        }
    }
}

impl fmt::Display for ReleaseVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!("v3".parse::<ReleaseVersion>().unwrap(), ReleaseVersion(3));
        assert_eq!("12".parse::<ReleaseVersion>().unwrap().to_string(), "v12");
        assert!("v0".parse::<ReleaseVersion>().is_err());
        assert!("vx".parse::<ReleaseVersion>().is_err());
    }
}
