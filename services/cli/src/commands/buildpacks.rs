//! `buildpacks`, `buildpacks:set`, `buildpacks:add`, `buildpacks:clear`: the app's own
//! buildpack list, which the next push uses over `BUILDPACK_URL`, a `.buildpacks` file and
//! detection. `buildpacks:detect`: what the next push would build the app's current code with
//! (the builder set, the chosen buildpacks, else the built-in buildpack that detects it).

use super::{client, resolve_app};
use crate::cli::{AppArgs, BuildpacksArgs, ConfigArgs};
use crate::{output, table};
use anyhow::Result;
use std::collections::BTreeMap;

pub fn list(args: ConfigArgs) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let list: Vec<String> = client()?.get(&["api", "apps", &app, "buildpacks"])?;
    if args.json {
        return output::json(&list);
    }
    show(&app, &list)
}

pub fn set(args: BuildpacksArgs) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let list: Vec<String> = client()?.patch(&["api", "apps", &app, "buildpacks"], &args.urls)?;
    show(&app, &list)?;
    output::line("Next release on this app will use these buildpacks.")
}

pub fn add(args: BuildpacksArgs) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let list: Vec<String> = client()?.post(&["api", "apps", &app, "buildpacks"], &args.urls)?;
    show(&app, &list)?;
    output::line("Next release on this app will use these buildpacks.")
}

pub fn clear(target: AppArgs) -> Result<()> {
    let app = resolve_app(None, &target)?;
    client()?.delete(&["api", "apps", &app, "buildpacks"])?;
    output::line(format!(
        "Buildpacks cleared. Next release on {app} will detect its buildpack."
    ))
}

pub fn detect(target: AppArgs) -> Result<()> {
    let app = resolve_app(None, &target)?;
    let found: BTreeMap<String, String> =
        client()?.get(&["api", "apps", &app, "buildpacks", "detect"])?;
    output::line(found.get("name").map(String::as_str).unwrap_or_default())?;
    match found.get("reason").filter(|r| !r.is_empty()) {
        Some(reason) => output::line(reason),
        None => Ok(()),
    }
}

fn show(app: &str, list: &[String]) -> Result<()> {
    if list.is_empty() {
        return output::line(format!(
            "{app} has no buildpacks set: BUILDPACK_URL, a .buildpacks file or detection decides."
        ));
    }
    output::line(table::header(&format!("{app} Buildpack URLs")))?;
    let lines: Vec<String> = list
        .iter()
        .enumerate()
        .map(|(i, url)| format!("{}. {url}", i + 1))
        .collect();
    output::block(&lines.join("\n"))
}
