//! `ps` and `scale`: the app's processes grouped by type, and the formation.

use super::{client, resolve_app};
use crate::cli::{ConfigArgs, DynoArg, RestartArgs, ScaleArgs};
use crate::{output, progress, table};
use anyhow::{anyhow, Result};
use paas_domain::api::{Dyno, FormationEntry, FormationUpdate};
use paas_domain::formation::{apply_scale, parse_scale};
use paas_domain::Formation;

pub fn ps(args: ConfigArgs) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let client = client()?;
    let dynos: Vec<Dyno> = client.get(&["api", "apps", &app, "dynos"])?;
    if args.json {
        return output::json(&dynos);
    }
    let formation: Vec<FormationEntry> = client.get(&["api", "apps", &app, "formation"])?;
    output::block(&ps_text(&formation, &dynos))
}

/// Heroku's layout: `=== web (2): python app.py` then one `web.1: up <created>` line each.
fn ps_text(formation: &[FormationEntry], dynos: &[Dyno]) -> String {
    let mut text = String::new();
    for entry in formation {
        let of_type: Vec<&Dyno> = dynos
            .iter()
            .filter(|d| d.process_type == entry.process_type)
            .collect();
        if of_type.is_empty() {
            continue;
        }
        text.push_str(&format!(
            "{} ({}): {}\n",
            table::header(&entry.process_type),
            of_type.len(),
            entry.command.as_deref().unwrap_or("")
        ));
        for dyno in of_type {
            let release = dyno.release.as_deref().unwrap_or("?");
            let cause = if dyno.out_of_memory {
                " (out of memory)"
            } else {
                ""
            };
            text.push_str(&format!(
                "{}: {}{cause} {} ({release})\n",
                dyno.name, dyno.state, dyno.created_at
            ));
        }
        text.push('\n');
    }
    if text.is_empty() {
        text.push_str("No processes are running.\n");
    }
    text
}

pub fn scale(args: ScaleArgs) -> Result<()> {
    let app = resolve_app(None, &args.target)?;
    let client = client()?;
    let current: Vec<FormationEntry> = client.get(&["api", "apps", &app, "formation"])?;
    if args.changes.is_empty() {
        return output::line(summary(&current, " "));
    }
    let changes = args
        .changes
        .iter()
        .map(|c| parse_scale(c).map_err(|e| anyhow!("{e}")))
        .collect::<Result<Vec<_>>>()?;
    let formation: Formation = current
        .iter()
        .map(|e| (e.process_type.clone(), e.quantity))
        .collect();
    let next = apply_scale(&formation, &changes).map_err(|e| anyhow!("{e}"))?;
    let updates: Vec<FormationEntry> = changes
        .iter()
        .map(|c| c.process_type())
        .map(|t| FormationEntry {
            process_type: t.to_string(),
            quantity: next.get(t).copied().unwrap_or(0),
            command: None,
        })
        .collect();
    let progress = progress::start("Scaling processes");
    let now: Vec<FormationEntry> = client.patch(
        &["api", "apps", &app, "formation"],
        &FormationUpdate { updates },
    )?;
    let changed: Vec<FormationEntry> = now
        .into_iter()
        .filter(|e| changes.iter().any(|c| c.process_type() == e.process_type))
        .collect();
    progress.done_with(&format!("done, now running {}", summary(&changed, ", ")));
    Ok(())
}

pub fn restart(args: RestartArgs) -> Result<()> {
    let app = resolve_app(None, &args.app)?;
    let client = client()?;
    let label = match &args.target {
        Some(target) => format!("Restarting {target} processes of {app}"),
        None => format!("Restarting processes of {app}"),
    };
    let progress = progress::start(label);
    match &args.target {
        Some(target) => client.delete(&["api", "apps", &app, "dynos", target])?,
        None => client.delete(&["api", "apps", &app, "dynos"])?,
    }
    progress.done();
    Ok(())
}

pub fn stop(args: DynoArg) -> Result<()> {
    let app = resolve_app(None, &args.app)?;
    let client = client()?;
    let progress = progress::start(format!("Stopping {} process on {app}", args.dyno));
    client.post_ignoring_body(
        &["api", "apps", &app, "dynos", &args.dyno, "actions", "stop"],
        &serde_json::json!({}),
    )?;
    progress.done();
    Ok(())
}

/// `web=3 worker=1` (or with another separator).
fn summary(entries: &[FormationEntry], separator: &str) -> String {
    entries
        .iter()
        .map(|e| format!("{}={}", e.process_type, e.quantity))
        .collect::<Vec<_>>()
        .join(separator)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ps_groups_by_type() {
        let formation = vec![FormationEntry {
            process_type: "web".into(),
            quantity: 2,
            command: Some("python app.py".into()),
        }];
        let dyno = |name: &str, state: &str| Dyno {
            name: name.into(),
            process_type: "web".into(),
            state: state.into(),
            out_of_memory: false,
            release: Some("v3".into()),
            created_at: "2026-11-25T10:00:00Z".into(),
        };
        let oom = Dyno {
            out_of_memory: true,
            ..dyno("web.3", "crashed")
        };
        let text = ps_text(
            &formation,
            &[dyno("web.1", "up"), dyno("web.2", "crashed"), oom],
        );
        assert_eq!(
            text,
            "=== web (3): python app.py\nweb.1: up 2026-11-25T10:00:00Z (v3)\nweb.2: crashed 2026-11-25T10:00:00Z (v3)\nweb.3: crashed (out of memory) 2026-11-25T10:00:00Z (v3)\n\n"
        );
        assert_eq!(ps_text(&formation, &[]), "No processes are running.\n");
    }
}
