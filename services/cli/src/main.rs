//! `paas`: the command-line client of paas, a self-hosted Heroku. It talks to the platform's
//! JSON API over HTTP and to git through the `git` command. Every failure ends as exactly
//! one ` !    message` line on stderr: exit code 1 for runtime errors, 2 for usage errors.

mod cli;
mod client;
mod commands;
mod config;
mod git;
mod netrc;
mod output;
mod progress;
mod session;
mod table;
mod usage;

use clap::{CommandFactory, Parser};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage::report(&e),
    };
    let Some(command) = cli.command else {
        // A bare `paas` shows the help, like `heroku`.
        let help = cli::Cli::command().render_help().to_string();
        return match output::block(&help) {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::FAILURE,
        };
    };
    match commands::run(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(" !    {}", usage::one_line(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}
