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
