//! `drains`, `drains:add`, `drains:remove` (log drains: syslog over TCP, HTTPS batches) and
//! `telemetry`, `telemetry:add`, `telemetry:remove` (OTLP/HTTP exports of logs and metrics).
//! Listings show each URL with its password hidden and what it delivered and lost since
//! paasd started.

use super::{client, resolve_app};
use crate::cli::{ConfigArgs, DrainArgs};
use crate::{output, progress, table};
use anyhow::Result;
use paas_domain::telemetry::{DrainInfo, DrainRequest};

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Log,
    Otlp,
}

impl Kind {
    fn resource(self) -> &'static str {
        match self {
            Kind::Log => "drains",
            Kind::Otlp => "telemetry",
        }
    }
}

pub fn list(args: ConfigArgs, kind: Kind) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let drains: Vec<DrainInfo> = client()?.get(&["api", "apps", &app, kind.resource()])?;
    if args.json {
        return output::json(&drains);
    }
    let (title, none) = match kind {
        Kind::Log => (
            format!("{app} Drains"),
            format!("{app} has no drains. Add one with paas drains:add URL."),
        ),
        Kind::Otlp => (
            format!("{app} Telemetry"),
            format!("{app} has no OpenTelemetry exports. Add one with paas telemetry:add URL."),
        ),
    };
    output::line(table::header(&title))?;
    if drains.is_empty() {
        return output::line(none);
    }
    let mut rows = vec![vec![
        "URL".to_string(),
        "DELIVERED".to_string(),
        "LOST".to_string(),
        "LAST ERROR".to_string(),
    ]];
    for d in &drains {
        rows.push(vec![
            d.url.clone(),
            d.delivered.to_string(),
            d.lost.to_string(),
            d.error.clone().unwrap_or_default(),
        ]);
    }
    output::block(&table::columns(&rows))
}

pub fn add(args: DrainArgs, kind: Kind) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let progress = progress::start(match kind {
        Kind::Log => format!("Adding a drain to {app}"),
        Kind::Otlp => format!("Adding an OpenTelemetry export to {app}"),
    });
    let added: DrainInfo = client()?.post(
        &["api", "apps", &app, kind.resource()],
        &DrainRequest { url: args.url },
    )?;
    progress.done();
    output::line(match kind {
        Kind::Log => format!("{app}'s log now also goes to {}.", added.url),
        Kind::Otlp => format!(
            "{app}'s logs and metrics now also go to {} (OTLP/HTTP JSON).",
            added.url
        ),
    })
}

pub fn remove(args: DrainArgs, kind: Kind) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let progress = progress::start(match kind {
        Kind::Log => format!("Removing a drain from {app}"),
        Kind::Otlp => format!("Removing an OpenTelemetry export from {app}"),
    });
    client()?.delete(&["api", "apps", &app, kind.resource(), &args.url])?;
    progress.done();
    Ok(())
}
