//! How an app is built (`paas builder:set dockerfile|buildpacks`): forced to its Dockerfile,
//! forced to buildpacks, or (unset) decided by detection, where a Dockerfile comes after
//! every language buildpack.

use std::fmt;

/// Label of a release image built from a Dockerfile that `EXPOSE`s a port: the port its web
/// processes listen on (their `PORT`), which the scheduler routes to and health-checks
/// instead of its default. Containers inherit it from the image.
pub const PORT_LABEL: &str = "paas.port";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BuildMethod {
    Dockerfile,
    Buildpacks,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown builder {0:?}: use dockerfile or buildpacks")]
pub struct BuildMethodError(pub String);

impl BuildMethod {
    pub fn parse(text: &str) -> Result<Self, BuildMethodError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "dockerfile" | "docker" => Ok(BuildMethod::Dockerfile),
            "buildpacks" | "buildpack" => Ok(BuildMethod::Buildpacks),
            _ => Err(BuildMethodError(text.to_string())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BuildMethod::Dockerfile => "dockerfile",
            BuildMethod::Buildpacks => "buildpacks",
        }
    }
}

impl fmt::Display for BuildMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_names_and_refuses_others() {
        assert_eq!(
            BuildMethod::parse("Dockerfile"),
            Ok(BuildMethod::Dockerfile)
        );
        assert_eq!(
            BuildMethod::parse("buildpacks"),
            Ok(BuildMethod::Buildpacks)
        );
        assert!(BuildMethod::parse("nix").is_err());
        assert_eq!(BuildMethod::Dockerfile.to_string(), "dockerfile");
    }
}
