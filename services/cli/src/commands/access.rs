//! `access`, `access:add` and `access:remove`: an app's collaborators.

use super::{client, email, resolve_app};
use crate::cli::{AccessArgs, AccessChangeArgs};
use crate::{output, progress, table};
use anyhow::Result;
use paas_domain::api::{AddCollaborator, Collaborator};

pub fn list(args: AccessArgs) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let client = client()?;
    let path = ["api", "apps", &app, "collaborators"];
    let collaborators: Vec<Collaborator> = client.get(&path)?;
    if args.json {
        return output::json(&collaborators);
    }
    output::line(table::header(&format!("{app} Access List")))?;
    let rows: Vec<Vec<String>> = collaborators
        .into_iter()
        .map(|c| vec![c.email, c.role])
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    output::block(&table::columns(&rows))
}

pub fn add(args: AccessChangeArgs) -> Result<()> {
    let email = email(&args.email)?;
    let app = resolve_app(None, &args.target)?;
    let client = client()?;
    let progress = progress::start(format!("Adding {email} access to the app {app}"));
    client.post_ignoring_body(
        &["api", "apps", &app, "collaborators"],
        &AddCollaborator { email },
    )?;
    progress.done();
    Ok(())
}

pub fn remove(args: AccessChangeArgs) -> Result<()> {
    let email = email(&args.email)?;
    let app = resolve_app(None, &args.target)?;
    let client = client()?;
    let progress = progress::start(format!("Removing {email} access from the app {app}"));
    client.delete(&["api", "apps", &app, "collaborators", &email])?;
    progress.done();
    Ok(())
}
