//! Parsing of a buildpack's `bin/release` output: the `default_process_types` map.

use crate::error::BuildError;
use std::collections::BTreeMap;

#[derive(serde::Deserialize, Default)]
struct ReleaseYaml {
    #[serde(default)]
    default_process_types: Option<BTreeMap<String, String>>,
}

/// The default process types declared in `bin/release` YAML (empty output means none).
pub fn parse_default_process_types(yaml: &str) -> Result<BTreeMap<String, String>, BuildError> {
    if yaml.trim().is_empty() || yaml.trim() == "---" {
        return Ok(BTreeMap::new());
    }
    let parsed: ReleaseYaml =
        serde_yaml::from_str(yaml).map_err(|e| BuildError::ReleaseYaml(e.to_string()))?;
    Ok(parsed.default_process_types.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_defaults() {
        let types =
            parse_default_process_types("---\ndefault_process_types:\n  web: python app.py\n")
                .unwrap();
        assert_eq!(types.get("web").map(String::as_str), Some("python app.py"));
        assert!(
            parse_default_process_types("---\ndefault_process_types: {}\n")
                .unwrap()
                .is_empty()
        );
        assert!(parse_default_process_types("").unwrap().is_empty());
        assert!(parse_default_process_types("default_process_types: [1, 2").is_err());
    }
}
