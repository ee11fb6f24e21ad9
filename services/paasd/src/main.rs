//! paasd, the paas server. `paasd` (or `paasd serve`) runs every role in one process: API,
//! git, builds, scheduler and router on one HTTP port. `paasd stacks` only makes sure the stack
//! images exist. `paasd router` runs only the router, fed by a control plane. `paasd hook pre-receive` is run by app repositories during a push. `paasd
//! detect DIR` says which buildpack would build DIR.

mod config;
mod detect;
mod dispatch;
mod front_door;
mod hook;
mod interrupted;
mod own_log;
mod private_files;
mod record_keeper;
mod router_process;
mod router_records;
mod serve;
mod stacks;
mod swarm_check;
mod telemetry;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "paasd", version, about = "The paas server")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the platform (the default).
    Serve,
    /// Build the stack images if they are missing, then exit.
    Stacks,
    /// Run only the router, fed with route tables by a control plane (a `paasd serve`); it
    /// keeps serving its last table while the control plane is down.
    Router {
        /// Address to serve apps on.
        #[arg(long, default_value = "0.0.0.0:8081")]
        listen: String,
        /// The control plane's URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        control: String,
        /// The control plane's data directory (its router.token; the last table is kept
        /// there too). Default: PAAS_DATA's.
        #[arg(long)]
        data: Option<std::path::PathBuf>,
    },
    /// Print which buildpack would build the app in DIR (its name, then why), without building.
    Detect {
        /// The app's source directory.
        dir: std::path::PathBuf,
    },
    /// Git hooks of app repositories (run by git, not by people).
    Hook {
        #[command(subcommand)]
        hook: HookCommand,
    },
}

#[derive(Subcommand)]
enum HookCommand {
    /// Build and deploy the pushed main/master branch; fail to reject the push.
    PreReceive,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("paasd: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve::run().await.map(|()| ExitCode::SUCCESS),
            Command::Stacks => stacks::run().await.map(|()| ExitCode::SUCCESS),
            Command::Router {
                listen,
                control,
                data,
            } => router_process::run(router_process::RouterOptions {
                listen,
                control,
                data,
            })
            .await
            .map(|()| ExitCode::SUCCESS),
            Command::Detect { dir } => detect::run(&dir).await,
            Command::Hook {
                hook: HookCommand::PreReceive,
            } => hook::pre_receive().await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("paasd: {e:#}");
            ExitCode::FAILURE
        }
    }
}
