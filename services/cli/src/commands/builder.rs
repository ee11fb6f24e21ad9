//! `builder`, `builder:set dockerfile|buildpacks`, `builder:clear`: how the app's next push is
//! built: from its Dockerfile, with buildpacks only, or (unset) as detection decides, where a
//! Dockerfile comes after every language buildpack.

use super::{client, resolve_app};
use crate::cli::{AppArgs, BuilderArgs, ConfigArgs};
use crate::output;
use anyhow::Result;
use std::collections::BTreeMap;

type Body = BTreeMap<String, Option<String>>;

pub fn show(args: ConfigArgs) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let body: Body = client()?.get(&["api", "apps", &app, "builder"])?;
    if args.json {
        return output::json(&body);
    }
    say(&app, &body)
}

pub fn set(args: BuilderArgs) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let request: Body = BTreeMap::from([("builder".to_string(), Some(args.builder))]);
    let body: Body = client()?.patch(&["api", "apps", &app, "builder"], &request)?;
    say(&app, &body)?;
    output::line("The next push uses it.")
}

pub fn clear(target: AppArgs) -> Result<()> {
    let app = resolve_app(None, &target)?;
    let request: Body = BTreeMap::from([("builder".to_string(), None)]);
    let body: Body = client()?.patch(&["api", "apps", &app, "builder"], &request)?;
    say(&app, &body)
}

fn say(app: &str, body: &Body) -> Result<()> {
    match body.get("builder").cloned().flatten() {
        Some(builder) => output::line(format!("{app} is built with: {builder}")),
        None => output::line(format!(
            "{app} has no builder set: detection decides (a Dockerfile after every buildpack)."
        )),
    }
}
