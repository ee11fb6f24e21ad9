//! `apps`, `apps:create`, `apps:info` and `apps:destroy`, including the `paas` git remote
//! bookkeeping in the current repository.

use super::{app_name, client, resolve_app};
use crate::cli::{CreateArgs, DestroyArgs, InfoArgs, JsonArgs};
use crate::git::{self, RemoteChange};
use crate::{output, progress, table};
use anyhow::{bail, Result};
use paas_domain::api::{Account, AppInfo, CreateApp};

pub fn list(args: JsonArgs) -> Result<()> {
    let client = client()?;
    let mut apps: Vec<AppInfo> = client.get(&["api", "apps"])?;
    if args.json {
        return output::json(&apps);
    }
    if apps.is_empty() {
        return output::line("You have no apps.");
    }
    apps.sort_by(|a, b| a.name.cmp(&b.name));
    let account: Account = client.get(&["api", "account"])?;
    let (mine, shared): (Vec<_>, Vec<_>) = apps
        .iter()
        .partition(|a| a.owner.eq_ignore_ascii_case(&account.email));
    let mut sections = Vec::new();
    if !mine.is_empty() {
        let names: String = mine.iter().map(|a| format!("{}\n", a.name)).collect();
        sections.push(format!("{}\n{names}", table::header("My Apps")));
    }
    if !shared.is_empty() {
        let rows: Vec<Vec<String>> = shared
            .iter()
            .map(|a| vec![a.name.clone(), a.owner.clone()])
            .collect();
        sections.push(format!(
            "{}\n{}",
            table::header("Collaborated Apps"),
            table::columns(&rows)
        ));
    }
    output::block(&sections.join("\n"))
}

pub fn create(args: CreateArgs) -> Result<()> {
    let name = args.name.as_deref().map(app_name).transpose()?;
    let progress = progress::start(match &name {
        Some(name) => format!("Creating {name}"),
        None => "Creating app".to_string(),
    });
    let app: AppInfo = client()?.post(&["api", "apps"], &CreateApp { name: name.clone() })?;
    match name {
        Some(_) => progress.done(),
        None => progress.done_with(&format!("done, {}", app.name)),
    }
    output::line(format!("{} | {}", app.web_url, app.git_url))?;
    if args.no_remote || !git::inside_work_tree() {
        return Ok(());
    }
    let remote = &args.remote;
    match git::set_remote(remote, &app.git_url) {
        Ok(RemoteChange::Added) => eprintln!("Git remote {remote} added"),
        Ok(RemoteChange::Updated) => eprintln!("Git remote {remote} updated"),
        Ok(RemoteChange::Unchanged) => {}
        Err(e) => eprintln!(" ›   Warning: could not set git remote {remote}: {e:#}"),
    }
    Ok(())
}

pub fn info(args: InfoArgs) -> Result<()> {
    let name = resolve_app(args.name.as_deref(), &args.target)?;
    let client = client()?;
    let app: AppInfo = client.get(&["api", "apps", &name])?;
    if args.json {
        return output::json(&app);
    }
    output::line(table::header(&app.name))?;
    output::block(&table::key_values(&info_rows(&app)))
}

/// The `apps:info` lines, in display order.
fn info_rows(app: &AppInfo) -> Vec<(&'static str, String)> {
    let dynos = if app.formation.is_empty() {
        "none".to_string()
    } else {
        app.formation
            .iter()
            .map(|(kind, n)| format!("{kind}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    vec![
        ("Git URL", app.git_url.clone()),
        ("Owner", app.owner.clone()),
        (
            "Release",
            app.release.clone().unwrap_or_else(|| "none".to_string()),
        ),
        ("Web URL", app.web_url.clone()),
        ("Dynos", dynos),
        ("Created", app.created_at.clone()),
    ]
}

pub fn destroy(args: DestroyArgs) -> Result<()> {
    let name = resolve_app(args.name.as_deref(), &args.target)?;
    match args.confirm.as_deref() {
        Some(confirm) if confirm == name => {}
        Some(confirm) => bail!(
            "Confirmation {confirm} did not match {name}. To destroy it, run this command again with --confirm {name}."
        ),
        None => bail!(
            "This will permanently destroy {name}. To proceed, run this command again with --confirm {name}."
        ),
    }
    let client = client()?;
    let app: AppInfo = client.get(&["api", "apps", &name])?;
    let progress = progress::start(format!("Destroying {name}"));
    client.delete(&["api", "apps", &name])?;
    progress.done();
    for remote in git::remotes() {
        let points_here =
            git::remote_url(&remote).is_some_and(|url| git::same_url(&url, &app.git_url));
        if points_here {
            match git::remove_remote(&remote) {
                Ok(()) => eprintln!("Git remote {remote} removed"),
                Err(e) => eprintln!(" ›   Warning: could not remove git remote {remote}: {e:#}"),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn info_shows_none_for_missing_release_and_dynos() {
        let app = AppInfo {
            name: "hello".into(),
            owner: "me@x.io".into(),
            web_url: "http://hello.localhost:8080/".into(),
            git_url: "http://127.0.0.1:8080/hello.git".into(),
            created_at: "2024-05-01T10:00:00Z".into(),
            release: None,
            formation: BTreeMap::new(),
        };
        assert_eq!(
            table::key_values(&info_rows(&app)),
            "Git URL: http://127.0.0.1:8080/hello.git\n\
             Owner:   me@x.io\n\
             Release: none\n\
             Web URL: http://hello.localhost:8080/\n\
             Dynos:   none\n\
             Created: 2024-05-01T10:00:00Z\n"
        );
        let app = AppInfo {
            release: Some("v3".into()),
            formation: BTreeMap::from([("web".into(), 1), ("worker".into(), 2)]),
            ..app
        };
        let rows = info_rows(&app);
        assert_eq!(rows[2].1, "v3");
        assert_eq!(rows[4].1, "web: 1, worker: 2");
    }
}
