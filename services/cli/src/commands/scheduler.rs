//! `scheduler`, `scheduler:set docker|swarm`, `scheduler:clear`: where the app's processes
//! run: on paasd's own Docker engine, or as Swarm services over the Swarm's nodes; unset, the
//! platform's default.

use super::{client, resolve_app};
use crate::cli::{AppArgs, ConfigArgs, SchedulerArgs};
use crate::{output, table};
use anyhow::{anyhow, Result};
use paas_domain::api::{SchedulerInfo, SetScheduler};
use paas_domain::SchedulerKind;

pub fn show(args: ConfigArgs) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let info: SchedulerInfo = client()?.get(&["api", "apps", &app, "scheduler"])?;
    if args.json {
        return output::json(&info);
    }
    output::block(&describe(&app, &info))
}

pub fn set(args: SchedulerArgs) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let kind = SchedulerKind::parse(&args.scheduler)
        .map_err(|e| anyhow!("{}.", capitalized(&e.to_string())))?;
    let request = SetScheduler {
        scheduler: Some(kind.as_str().to_string()),
    };
    let info: SchedulerInfo = client()?.patch(&["api", "apps", &app, "scheduler"], &request)?;
    output::line(format!(
        "{app} now runs on {}: its processes move there now.",
        info.scheduler
    ))
}

pub fn clear(target: AppArgs) -> Result<()> {
    let app = resolve_app(None, &target)?;
    let request = SetScheduler { scheduler: None };
    let info: SchedulerInfo = client()?.patch(&["api", "apps", &app, "scheduler"], &request)?;
    output::line(format!(
        "{app} runs on the platform's default again: {}.",
        info.scheduler
    ))
}

fn describe(app: &str, info: &SchedulerInfo) -> String {
    let default = if info.default {
        " (the platform's default)"
    } else {
        ""
    };
    format!(
        "{}\n{}{default}\n",
        table::header(&format!("{app} scheduler")),
        info.scheduler
    )
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_the_choice_and_says_when_it_is_the_default() {
        let chosen = SchedulerInfo {
            scheduler: "swarm".into(),
            default: false,
        };
        assert_eq!(describe("myapp", &chosen), "=== myapp scheduler\nswarm\n");
        let default = SchedulerInfo {
            scheduler: "docker".into(),
            default: true,
        };
        assert_eq!(
            describe("myapp", &default),
            "=== myapp scheduler\ndocker (the platform's default)\n"
        );
    }
}
