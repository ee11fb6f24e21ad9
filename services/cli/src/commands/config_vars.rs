//! `config`, `config:get`, `config:set`, `config:unset`: the app's config vars. Every change is
//! a new release; the processes restart with it.

use super::{client, resolve_app};
use crate::cli::{ConfigArgs, ConfigKeyArgs, ConfigSetArgs, ConfigUnsetArgs};
use crate::{output, progress, table};
use anyhow::{anyhow, bail, Result};
use paas_domain::api::ConfigVarsChanged;
use paas_domain::config_vars::{parse_assignment, validate_key, ConfigChange};
use std::collections::BTreeMap;

pub fn list(args: ConfigArgs) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let config: BTreeMap<String, String> = client()?.get(&["api", "apps", &app, "config-vars"])?;
    if args.json {
        return output::json(&config);
    }
    output::line(table::header(&format!("{app} Config Vars")))?;
    let rows: Vec<(&str, String)> = config
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    output::block(&table::key_values(&rows))
}

pub fn get(args: ConfigKeyArgs) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let config: BTreeMap<String, String> = client()?.get(&["api", "apps", &app, "config-vars"])?;
    match config.get(&args.key) {
        Some(value) => output::line(value),
        None => bail!("{} has no config var {}.", app, args.key),
    }
}

pub fn set(args: ConfigSetArgs) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let mut change = ConfigChange::new();
    for pair in &args.pairs {
        let (key, value) = parse_assignment(pair).map_err(|e| anyhow!("{e}"))?;
        change.insert(key, Some(value));
    }
    apply(&app, "Setting", change)
}

pub fn unset(args: ConfigUnsetArgs) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let mut change = ConfigChange::new();
    for key in &args.keys {
        validate_key(key).map_err(|e| anyhow!("{e}"))?;
        change.insert(key.clone(), None);
    }
    apply(&app, "Unsetting", change)
}

fn apply(app: &str, verb: &str, change: ConfigChange) -> Result<()> {
    let keys: Vec<&str> = change.keys().map(String::as_str).collect();
    let client = client()?;
    let progress = progress::start(format!("{verb} {} and restarting {app}", keys.join(", ")));
    let changed: ConfigVarsChanged = client.patch(&["api", "apps", app, "config-vars"], &change)?;
    progress.done_with(&format!("done, {}", changed.release.version));
    Ok(())
}
