//! `authorizations` and `authorizations:revoke`: the account's API tokens (ids, descriptions,
//! dates; never the tokens themselves), and revoking one.

use super::client;
use crate::cli::{IdArg, JsonArgs};
use crate::{output, progress, table};
use anyhow::Result;
use paas_domain::api::Authorization;

pub fn list(args: JsonArgs) -> Result<()> {
    let authorizations: Vec<Authorization> = client()?.get(&["api", "oauth", "authorizations"])?;
    if args.json {
        return output::json(&authorizations);
    }
    output::line(table::header("Authorizations"))?;
    if authorizations.is_empty() {
        return Ok(());
    }
    output::block(&table::columns(&rows(&authorizations)))
}

fn rows(authorizations: &[Authorization]) -> Vec<Vec<String>> {
    let mut rows = vec![vec![
        String::new(),
        "ID".to_string(),
        "Description".to_string(),
        "Created".to_string(),
        "Expires".to_string(),
        "Last used".to_string(),
    ]];
    rows.extend(authorizations.iter().map(|a| {
        vec![
            if a.current { "*" } else { "" }.to_string(),
            a.id.clone(),
            a.description.clone(),
            a.created_at.clone(),
            a.expires_at.clone(),
            a.last_used_at
                .clone()
                .unwrap_or_else(|| "never".to_string()),
        ]
    }));
    rows
}

pub fn revoke(args: IdArg) -> Result<()> {
    let client = client()?;
    let progress = progress::start(format!("Revoking authorization {}", args.id));
    client.delete(&["api", "oauth", "authorizations", &args.id])?;
    progress.done();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_the_current_token() {
        let a = |id: &str, current: bool| Authorization {
            id: id.to_string(),
            description: "paas login from box".to_string(),
            created_at: "2026-01-01T00:00:00Z".to_string(),
            expires_at: "2027-01-01T00:00:00Z".to_string(),
            last_used_at: None,
            current,
        };
        let text = table::columns(&rows(&[a("one", true), a("two", false)]));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].trim_start().starts_with("ID"), "{text}");
        assert!(
            lines[1].starts_with("*  one  paas login from box"),
            "{text}"
        );
        assert!(lines[2].starts_with("   two"), "{text}");
        assert!(lines[2].ends_with("never"), "{text}");
    }
}
