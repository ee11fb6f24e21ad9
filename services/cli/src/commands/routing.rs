//! `domains`, `domains:add`, `domains:remove`, `maintenance`, `maintenance:on` and
//! `maintenance:off`: what the router does for an app beyond its processes.

use super::{client, resolve_app};
use crate::cli::{AppArgs, ConfigArgs, DomainArgs, MaintenanceOnArgs};
use crate::{output, progress, table};
use anyhow::Result;
use paas_domain::api::{DomainInfo, MaintenanceInfo};

pub fn list_domains(args: ConfigArgs) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let domains: Vec<DomainInfo> = client()?.get(&["api", "apps", &app, "domains"])?;
    if args.json {
        return output::json(&domains);
    }
    output::line(table::header(&format!("{app} Custom Domains")))?;
    if domains.is_empty() {
        return output::line(format!(
            "{app} has no custom domains. Add one with paas domains:add HOST."
        ));
    }
    let text: String = domains
        .iter()
        .map(|d| format!("{}\n", d.hostname))
        .collect();
    output::block(&text)
}

pub fn add_domain(args: DomainArgs) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let progress = progress::start(format!("Adding {} to {app}", args.hostname));
    let added: DomainInfo = client()?.post(
        &["api", "apps", &app, "domains"],
        &DomainInfo {
            hostname: args.hostname.clone(),
        },
    )?;
    progress.done();
    output::line(format!(
        "Point {}'s DNS at this platform's address; requests for it then reach {app}.",
        added.hostname
    ))
}

pub fn remove_domain(args: DomainArgs) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let progress = progress::start(format!("Removing {} from {app}", args.hostname));
    client()?.delete(&["api", "apps", &app, "domains", &args.hostname])?;
    progress.done();
    Ok(())
}

pub fn maintenance(args: AppArgs) -> Result<()> {
    let app = resolve_app(None, &args)?;
    let info: MaintenanceInfo = client()?.get(&["api", "apps", &app, "maintenance"])?;
    output::line(if info.maintenance { "on" } else { "off" })
}

pub fn maintenance_on(args: MaintenanceOnArgs) -> Result<()> {
    set(&args.target, true, args.page_url)
}

pub fn maintenance_off(args: AppArgs) -> Result<()> {
    set(&args, false, None)
}

fn set(target: &AppArgs, on: bool, page_url: Option<String>) -> Result<()> {
    let app = resolve_app(None, target)?;
    let progress = progress::start(format!(
        "{} maintenance mode for {app}",
        if on { "Enabling" } else { "Disabling" }
    ));
    let _: MaintenanceInfo = client()?.patch(
        &["api", "apps", &app, "maintenance"],
        &MaintenanceInfo {
            maintenance: on,
            page_url,
        },
    )?;
    progress.done();
    Ok(())
}
