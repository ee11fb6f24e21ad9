//! One function per command; this module dispatches and holds what several share: the
//! API client of the logged-in session, app resolution and input validation.

mod access;
mod apps;
mod auth;
mod authorizations;
mod builder;
mod buildpacks;
mod config_vars;
mod drains;
mod logs;
mod metrics;
mod nodes;
mod processes;
mod releases;
mod routing;
mod run;
mod scheduler;
mod sizes;
mod users;

use crate::cli::{AppArgs, Command};
use crate::client::Client;
use crate::{git, session};
use anyhow::{anyhow, bail, Result};
use paas_domain::{AppName, Email};

pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Login(args) => auth::login(args),
        Command::Logout => auth::logout(),
        Command::Whoami => auth::whoami(),
        Command::Authorizations(args) => authorizations::list(args),
        Command::AuthorizationsRevoke(args) => authorizations::revoke(args),
        Command::Apps(args) => apps::list(args),
        Command::AppsCreate(args) => apps::create(args),
        Command::AppsInfo(args) => apps::info(args),
        Command::AppsDestroy(args) => apps::destroy(args),
        Command::Users(args) => users::list(args),
        Command::UsersAdd(args) => users::add(args),
        Command::UsersRemove(args) => users::remove(args),
        Command::Nodes(args) => nodes::list(args),
        Command::NodesAdd(args) => nodes::add(args),
        Command::NodesDrain(args) => nodes::drain(args),
        Command::NodesActivate(args) => nodes::activate(args),
        Command::PsResize(args) => sizes::resize(args),
        Command::Domains(args) => routing::list_domains(args),
        Command::DomainsAdd(args) => routing::add_domain(args),
        Command::DomainsRemove(args) => routing::remove_domain(args),
        Command::Maintenance(args) => routing::maintenance(args),
        Command::MaintenanceOn(args) => routing::maintenance_on(args),
        Command::MaintenanceOff(args) => routing::maintenance_off(args),
        Command::Ps(args) => processes::ps(args),
        Command::Run(args) => run::run(args),
        Command::Scale(args) => processes::scale(args),
        Command::Restart(args) => processes::restart(args),
        Command::PsStop(args) => processes::stop(args),
        Command::Config(args) => config_vars::list(args),
        Command::ConfigGet(args) => config_vars::get(args),
        Command::ConfigSet(args) => config_vars::set(args),
        Command::ConfigUnset(args) => config_vars::unset(args),
        Command::Releases(args) => releases::list(args),
        Command::ReleasesInfo(args) => releases::info(args),
        Command::Rollback(args) => releases::rollback(args),
        Command::Buildpacks(args) => buildpacks::list(args),
        Command::BuildpacksSet(args) => buildpacks::set(args),
        Command::BuildpacksAdd(args) => buildpacks::add(args),
        Command::BuildpacksClear(args) => buildpacks::clear(args),
        Command::BuildpacksDetect(args) => buildpacks::detect(args),
        Command::Builder(args) => builder::show(args),
        Command::BuilderSet(args) => builder::set(args),
        Command::BuilderClear(args) => builder::clear(args),
        Command::Scheduler(args) => scheduler::show(args),
        Command::SchedulerSet(args) => scheduler::set(args),
        Command::SchedulerClear(args) => scheduler::clear(args),
        Command::Logs(args) => logs::logs(args),
        Command::Builds(args) => logs::builds(args),
        Command::BuildsOutput(args) => logs::build_output(args),
        Command::Metrics(args) => metrics::show(args),
        Command::Drains(args) => drains::list(args, drains::Kind::Log),
        Command::DrainsAdd(args) => drains::add(args, drains::Kind::Log),
        Command::DrainsRemove(args) => drains::remove(args, drains::Kind::Log),
        Command::Telemetry(args) => drains::list(args, drains::Kind::Otlp),
        Command::TelemetryAdd(args) => drains::add(args, drains::Kind::Otlp),
        Command::TelemetryRemove(args) => drains::remove(args, drains::Kind::Otlp),
        Command::Access(args) => access::list(args),
        Command::AccessAdd(args) => access::add(args),
        Command::AccessRemove(args) => access::remove(args),
    }
}

/// A client authenticated as the logged-in user.
fn client() -> Result<Client> {
    Client::for_session(&session::load()?)
}

const NO_APP: &str = "No app specified. Run this command from an app folder or specify which app to use with --app APP.";

/// The app a command is about: the positional name or `--app`, else the app named by the
/// URL of the git remote (`--remote`, default `paas`) of the current repository.
fn resolve_app(positional: Option<&str>, target: &AppArgs) -> Result<String> {
    let explicit = match (positional, target.app.as_deref()) {
        (Some(a), Some(b)) if a != b => {
            bail!("Two different apps given: {a} and {b}. Specify only one.")
        }
        (Some(a), _) | (None, Some(a)) => Some(a),
        (None, None) => None,
    };
    if let Some(name) = explicit {
        return app_name(name);
    }
    let remote = target.remote.as_deref().unwrap_or(git::DEFAULT_REMOTE);
    match git::remote_url(remote)
        .as_deref()
        .map(git::app_from_git_url)
    {
        Some(Some(name)) => Ok(name),
        Some(None) => {
            bail!("Cannot tell the app from the URL of git remote {remote}. Use --app APP.")
        }
        None if target.remote.is_some() => {
            bail!("Git remote {remote} not found in the current directory. Use --app APP.")
        }
        None => bail!(NO_APP),
    }
}

/// Validates an app name given on the command line.
fn app_name(raw: &str) -> Result<String> {
    AppName::parse(raw)
        .map(|n| n.to_string())
        .map_err(|e| anyhow!("Invalid app name {raw:?}: {e}."))
}

/// Validates and lowercases an email given on the command line.
fn email(raw: &str) -> Result<String> {
    Email::parse(raw)
        .map(|e| e.to_string())
        .map_err(|e| anyhow!("{e}."))
}

/// The first line of standard input, without its line break (for `--password-stdin`).
fn read_stdin_line(what: &str) -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| anyhow!("Cannot read the {what} from standard input: {e}"))?;
    let line = line.trim_end_matches(['\n', '\r']).to_string();
    if line.is_empty() {
        bail!("No {what} on standard input.");
    }
    Ok(line)
}
