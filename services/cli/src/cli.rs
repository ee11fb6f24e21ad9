//! Command-line arguments: Heroku-style `topic:command` subcommands and their flags.

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "paas",
    version,
    about = "Command-line client for paas, a self-hosted Heroku",
    after_help = "Log in with `paas login`, create an app with `paas apps:create`, then `git push paas main`."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in and store the API token in ~/.netrc (used by the CLI and by git)
    #[command(name = "login", alias = "auth:login")]
    Login(LoginArgs),
    /// Revoke the stored API token on the server and remove it from ~/.netrc
    #[command(name = "logout", alias = "auth:logout")]
    Logout,
    /// List your API tokens (the current one is marked with *)
    #[command(name = "authorizations", alias = "authorizations:list")]
    Authorizations(JsonArgs),
    /// Revoke one of your API tokens by its ID
    #[command(name = "authorizations:revoke")]
    AuthorizationsRevoke(IdArg),
    /// Show the email of the logged-in account
    #[command(name = "auth:whoami", visible_alias = "whoami")]
    Whoami,
    /// List the Swarm's nodes with the processes on each (admin only)
    #[command(name = "nodes", alias = "nodes:list")]
    Nodes(JsonArgs),
    /// Print the command that joins a new worker (or, with --manager, manager) to the Swarm (admin only)
    #[command(name = "nodes:add")]
    NodesAdd(NodesAddArgs),
    /// Move a node's processes to other nodes and place none there (admin only)
    #[command(name = "nodes:drain")]
    NodesDrain(NodeArg),
    /// Let the Swarm place processes on a drained node again (admin only)
    #[command(name = "nodes:activate")]
    NodesActivate(NodeArg),
    /// List your apps
    #[command(name = "apps", alias = "apps:list")]
    Apps(JsonArgs),
    /// Create an app (and add a `paas` git remote when run inside a git repository)
    #[command(name = "apps:create", visible_alias = "create")]
    AppsCreate(CreateArgs),
    /// Show an app's details
    #[command(name = "apps:info", visible_alias = "info")]
    AppsInfo(InfoArgs),
    /// Permanently destroy an app
    #[command(name = "apps:destroy", visible_alias = "destroy")]
    AppsDestroy(DestroyArgs),
    /// List users (admin only)
    #[command(name = "users", alias = "users:list")]
    Users(JsonArgs),
    /// Create a user (admin only); prints the generated password unless one is given
    #[command(name = "users:add")]
    UsersAdd(UsersAddArgs),
    /// Delete a user (admin only)
    #[command(name = "users:remove")]
    UsersRemove(EmailArg),
    /// Show the app's config vars
    #[command(name = "config", alias = "config:list")]
    Config(ConfigArgs),
    /// Print one config var's value
    #[command(name = "config:get")]
    ConfigGet(ConfigKeyArgs),
    /// Set config vars (KEY=VALUE ...): a new release, processes restart
    #[command(name = "config:set", alias = "config:add")]
    ConfigSet(ConfigSetArgs),
    /// Unset config vars (KEY ...): a new release, processes restart
    #[command(name = "config:unset", alias = "config:remove")]
    ConfigUnset(ConfigUnsetArgs),
    /// List the app's releases, newest first
    #[command(name = "releases", alias = "releases:list")]
    Releases(ReleasesArgs),
    /// Show one release
    #[command(name = "releases:info")]
    ReleasesInfo(ReleaseArg),
    /// Roll back to a release (default: the one before the current): a new release copying it
    #[command(name = "rollback", alias = "releases:rollback")]
    Rollback(RollbackArgs),
    /// Show the app's processes, grouped by type
    #[command(name = "ps", alias = "ps:list")]
    Ps(ConfigArgs),
    /// Restart processes one by one, new beside old (all, one TYPE, or replace one TYPE.N)
    #[command(name = "restart", alias = "ps:restart")]
    Restart(RestartArgs),
    /// Stop one process (e.g. web.1); a new one replaces it
    #[command(name = "ps:stop", alias = "stop")]
    PsStop(DynoArg),
    /// Run a one-off process in a new container of the current release: paas run bash
    #[command(name = "run")]
    Run(RunArgs),
    /// Show or change how many processes of each type run: web=3 worker+1 web-1
    #[command(name = "scale", alias = "ps:scale")]
    Scale(ScaleArgs),
    /// Show or change the memory (MiB) and CPU limits of process types: web=1024 or web=1024:0.5
    #[command(name = "ps:resize")]
    PsResize(ResizeArgs),
    /// List the app's buildpacks (they override BUILDPACK_URL, .buildpacks and detection)
    #[command(name = "buildpacks")]
    Buildpacks(ConfigArgs),
    /// Set the app's buildpacks (git URL with optional #ref, or a path on the server), in order
    #[command(name = "buildpacks:set")]
    BuildpacksSet(BuildpacksArgs),
    /// Add a buildpack after the app's others
    #[command(name = "buildpacks:add")]
    BuildpacksAdd(BuildpacksArgs),
    /// Clear the app's buildpacks: detection decides again
    #[command(name = "buildpacks:clear", alias = "buildpacks:remove")]
    BuildpacksClear(AppArgs),
    /// Say what the next push would build the app's current code with (its name, then why)
    #[command(name = "buildpacks:detect")]
    BuildpacksDetect(AppArgs),
    /// Show how the app is built: dockerfile, buildpacks, or (unset) as detection decides
    #[command(name = "builder")]
    Builder(ConfigArgs),
    /// Build the app's next pushes from its Dockerfile, or with buildpacks only
    #[command(name = "builder:set")]
    BuilderSet(BuilderArgs),
    /// Let detection decide again how the app is built
    #[command(name = "builder:clear")]
    BuilderClear(AppArgs),
    /// Show where the app's processes run: docker (paasd's engine) or swarm (the Swarm's nodes)
    #[command(name = "scheduler")]
    Scheduler(ConfigArgs),
    /// Run the app's processes on docker or swarm; they move at once
    #[command(name = "scheduler:set")]
    SchedulerSet(SchedulerArgs),
    /// Run the app's processes where the platform's default says again
    #[command(name = "scheduler:clear")]
    SchedulerClear(AppArgs),
    /// List the app's custom domains
    #[command(name = "domains")]
    Domains(ConfigArgs),
    /// Route a host name (or a wildcard *.example.com) to the app
    #[command(name = "domains:add")]
    DomainsAdd(DomainArgs),
    /// Stop routing a host name to the app
    #[command(name = "domains:remove")]
    DomainsRemove(DomainArgs),
    /// Say whether the app is in maintenance mode
    #[command(name = "maintenance")]
    Maintenance(AppArgs),
    /// Answer every request with a maintenance page (503), without stopping processes
    #[command(name = "maintenance:on")]
    MaintenanceOn(MaintenanceOnArgs),
    /// Serve the app's requests again
    #[command(name = "maintenance:off")]
    MaintenanceOff(AppArgs),
    /// Show the app's log (build output, router lines, process output, platform events)
    #[command(name = "logs")]
    Logs(LogsArgs),
    /// List the app's builds, newest first: status, commit and duration
    #[command(name = "builds", alias = "builds:list")]
    Builds(ConfigArgs),
    /// Print a build's output (default: the latest); a running build is followed until it ends
    #[command(name = "builds:output")]
    BuildsOutput(BuildOutputArgs),
    /// Show the app's last hour: requests by status class, latency percentiles, bytes, CPU
    /// and memory
    #[command(name = "metrics")]
    Metrics(ConfigArgs),
    /// List the app's log drains with what each delivered and lost
    #[command(name = "drains", alias = "drains:list")]
    Drains(ConfigArgs),
    /// Send the app's log to a drain: syslog+tcp://HOST:PORT or an https:// URL
    #[command(name = "drains:add")]
    DrainsAdd(DrainArgs),
    /// Stop sending the app's log to a drain
    #[command(name = "drains:remove")]
    DrainsRemove(DrainArgs),
    /// List the app's OpenTelemetry (OTLP/HTTP) exports
    #[command(name = "telemetry", alias = "telemetry:list")]
    Telemetry(ConfigArgs),
    /// Export the app's logs and metrics to an OTLP/HTTP collector (its base URL)
    #[command(name = "telemetry:add")]
    TelemetryAdd(DrainArgs),
    /// Stop exporting to an OTLP/HTTP collector
    #[command(name = "telemetry:remove")]
    TelemetryRemove(DrainArgs),
    /// List who has access to an app
    #[command(name = "access")]
    Access(AccessArgs),
    /// Give a user access to an app
    #[command(name = "access:add")]
    AccessAdd(AccessChangeArgs),
    /// Take away a user's access to an app
    #[command(name = "access:remove")]
    AccessRemove(AccessChangeArgs),
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// URL of the paas platform [default: PAAS_URL, the last login's URL, or http://127.0.0.1:8080]
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Account email (asked for when missing)
    #[arg(long, value_name = "EMAIL")]
    pub email: Option<String>,
    /// Read the password from the first line of standard input
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct JsonArgs {
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

/// How to find the app: `--app`, or the URL of a git remote of the current repository.
#[derive(Debug, Args)]
pub struct AppArgs {
    /// App to run the command against
    #[arg(short, long, value_name = "APP")]
    pub app: Option<String>,
    /// Git remote whose URL names the app [default: paas]
    #[arg(short, long, value_name = "REMOTE")]
    pub remote: Option<String>,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(flatten)]
    pub target: AppArgs,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ConfigKeyArgs {
    #[arg(value_name = "KEY")]
    pub key: String,
    #[command(flatten)]
    pub target: AppArgs,
}

#[derive(Debug, Args)]
pub struct ConfigSetArgs {
    /// KEY=VALUE pairs (the value may hold anything, `=` and spaces included)
    #[arg(value_name = "KEY=VALUE", required = true)]
    pub pairs: Vec<String>,
    #[command(flatten)]
    pub target: AppArgs,
}

#[derive(Debug, Args)]
pub struct ConfigUnsetArgs {
    #[arg(value_name = "KEY", required = true)]
    pub keys: Vec<String>,
    #[command(flatten)]
    pub target: AppArgs,
}

#[derive(Debug, Args)]
pub struct ReleasesArgs {
    /// How many releases to show
    #[arg(short = 'n', long = "num", value_name = "N")]
    pub num: Option<usize>,
    #[command(flatten)]
    pub target: AppArgs,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReleaseArg {
    /// Release version, e.g. v3
    #[arg(value_name = "VERSION")]
    pub version: String,
    #[command(flatten)]
    pub target: AppArgs,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Release to roll back to, e.g. v3 [default: the one before the current]
    #[arg(value_name = "VERSION")]
    pub version: Option<String>,
    #[command(flatten)]
    pub target: AppArgs,
}

#[derive(Debug, Args)]
pub struct RestartArgs {
    /// A process type (web) or one process (web.1); none restarts every type
    #[arg(value_name = "TYPE|TYPE.N")]
    pub target: Option<String>,
    #[command(flatten)]
    pub app: AppArgs,
}

#[derive(Debug, Args)]
pub struct DynoArg {
    /// The process, e.g. web.1
    #[arg(value_name = "TYPE.N")]
    pub dyno: String,
    #[command(flatten)]
    pub app: AppArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run in the background and print the process's name
    #[arg(short, long)]
    pub detach: bool,
    /// Memory (MiB) and CPU limits: MEMORY[:CPUS], e.g. 1024 or 512:0.5 [default: the platform's]
    #[arg(short, long, value_name = "SIZE")]
    pub size: Option<String>,
    /// An environment variable for the process (repeatable)
    #[arg(short, long, value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Never give the process a terminal (one is given when stdin and stdout are terminals)
    #[arg(long)]
    pub no_tty: bool,
    #[command(flatten)]
    pub target: AppArgs,
    /// The command; everything after its first word belongs to it (paas run echo -n hi)
    #[arg(
        value_name = "COMMAND",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// TYPE=N, TYPE+N or TYPE-N; none shows the formation
    #[arg(value_name = "TYPE=N")]
    pub changes: Vec<String>,
    #[command(flatten)]
    pub target: AppArgs,
}

#[derive(Debug, Args)]
pub struct DomainArgs {
    /// Host name, e.g. www.example.com or *.example.com
    #[arg(value_name = "HOST")]
    pub hostname: String,
    #[command(flatten)]
    pub target: AppArgs,
}

#[derive(Debug, Args)]
pub struct DrainArgs {
    /// Drain URL (syslog+tcp://HOST:PORT, https://...) or OTLP collector URL
    #[arg(value_name = "URL")]
    pub url: String,
    #[command(flatten)]
    pub target: AppArgs,
}

#[derive(Debug, Args)]
pub struct MaintenanceOnArgs {
    /// A page of yours (http:// or https:// URL) shown inside the maintenance page
    #[arg(long, value_name = "URL")]
    pub page_url: Option<String>,
    #[command(flatten)]
    pub target: AppArgs,
}

#[derive(Debug, Args)]
pub struct BuilderArgs {
    /// dockerfile or buildpacks
    #[arg(value_name = "BUILDER")]
    pub builder: String,
    #[command(flatten)]
    pub target: AppArgs,
}

#[derive(Debug, Args)]
pub struct SchedulerArgs {
    /// docker or swarm
    #[arg(value_name = "SCHEDULER")]
    pub scheduler: String,
    #[command(flatten)]
    pub target: AppArgs,
}

#[derive(Debug, Args)]
pub struct NodesAddArgs {
    /// Print the command for a manager instead of a worker
    #[arg(long)]
    pub manager: bool,
}

#[derive(Debug, Args)]
pub struct NodeArg {
    /// The node's hostname or id (see `paas nodes`)
    #[arg(value_name = "NODE")]
    pub node: String,
}

#[derive(Debug, Args)]
pub struct BuildpacksArgs {
    /// Git URL (with optional #ref) or absolute path on the server
    #[arg(value_name = "URL", required = true)]
    pub urls: Vec<String>,
    #[command(flatten)]
    pub target: AppArgs,
}

#[derive(Debug, Args)]
pub struct ResizeArgs {
    /// TYPE=MEMORY[:CPUS], e.g. web=1024 (MiB) or worker=512:0.5; none shows the sizes
    #[arg(value_name = "TYPE=SIZE")]
    pub changes: Vec<String>,
    #[command(flatten)]
    pub target: AppArgs,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Name of the app (the platform picks one when omitted)
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// Name of the git remote to add
    #[arg(short, long, value_name = "REMOTE", default_value = "paas")]
    pub remote: String,
    /// Do not add a git remote
    #[arg(long)]
    pub no_remote: bool,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// App to show (same as --app)
    #[arg(value_name = "APP")]
    pub name: Option<String>,
    #[command(flatten)]
    pub target: AppArgs,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// App to destroy (same as --app)
    #[arg(value_name = "APP")]
    pub name: Option<String>,
    #[command(flatten)]
    pub target: AppArgs,
    /// The app's name again, to confirm
    #[arg(short, long, value_name = "APP")]
    pub confirm: Option<String>,
}

#[derive(Debug, Args)]
pub struct UsersAddArgs {
    /// Email of the new user
    #[arg(value_name = "EMAIL")]
    pub email: String,
    /// Read the password from the first line of standard input instead of generating one
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct EmailArg {
    /// Email of the user
    #[arg(value_name = "EMAIL")]
    pub email: String,
}

#[derive(Debug, Args)]
pub struct IdArg {
    /// ID of the authorization (see `paas authorizations`)
    #[arg(value_name = "ID")]
    pub id: String,
}

#[derive(Debug, Args)]
pub struct AccessArgs {
    #[command(flatten)]
    pub target: AppArgs,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AccessChangeArgs {
    /// Email of the user
    #[arg(value_name = "EMAIL")]
    pub email: String,
    #[command(flatten)]
    pub target: AppArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_colon_commands_and_aliases() {
        let cli = Cli::try_parse_from(["paas", "apps:create", "hello"]).unwrap();
        assert!(
            matches!(cli.command, Some(Command::AppsCreate(a)) if a.name.as_deref() == Some("hello"))
        );
        let cli = Cli::try_parse_from(["paas", "destroy", "-a", "x", "--confirm", "x"]).unwrap();
        assert!(matches!(cli.command, Some(Command::AppsDestroy(_))));
        // The app flag may come after the changes.
        let cli = Cli::try_parse_from(["paas", "scale", "web=10", "worker-1", "-a", "x"]).unwrap();
        assert!(
            matches!(cli.command, Some(Command::Scale(s)) if s.changes == ["web=10", "worker-1"] && s.target.app.as_deref() == Some("x"))
        );
        let cli = Cli::try_parse_from(["paas", "authorizations:revoke", "abc"]).unwrap();
        assert!(matches!(cli.command, Some(Command::AuthorizationsRevoke(a)) if a.id == "abc"));
        let cli = Cli::try_parse_from(["paas", "authorizations", "--json"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Authorizations(a)) if a.json));
        let cli = Cli::try_parse_from([
            "paas",
            "run",
            "-a",
            "x",
            "-e",
            "A=1",
            "-d",
            "sh",
            "-c",
            "echo -n $A",
            "--app",
        ])
        .unwrap();
        assert!(matches!(cli.command, Some(Command::Run(r))
            if r.detach && r.env == ["A=1"] && r.target.app.as_deref() == Some("x")
                && r.command == ["sh", "-c", "echo -n $A", "--app"]));
        assert!(Cli::try_parse_from(["paas", "run", "-a", "x"]).is_err());
        let cli = Cli::try_parse_from(["paas", "access:add", "a@b.c", "--app", "x"]).unwrap();
        assert!(
            matches!(cli.command, Some(Command::AccessAdd(a)) if a.target.app.as_deref() == Some("x"))
        );
    }
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Number of lines to show
    #[arg(short = 'n', long = "num", default_value_t = 100)]
    pub num: usize,
    /// Keep printing new lines as they are written
    #[arg(short, long)]
    pub tail: bool,
    /// Only this process type (web) or process (web.1)
    #[arg(short = 'p', long = "process", alias = "dyno", value_name = "PROCESS")]
    pub process: Option<String>,
    /// Only lines from this source: app, router or paas
    #[arg(short = 's', long = "source", value_name = "SOURCE")]
    pub source: Option<String>,
    #[command(flatten)]
    pub target: AppArgs,
}

#[derive(Debug, Args)]
pub struct BuildOutputArgs {
    /// The build's ID (or its first characters) [default: the latest build]
    #[arg(value_name = "ID")]
    pub id: Option<String>,
    #[command(flatten)]
    pub target: AppArgs,
}
