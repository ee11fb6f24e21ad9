//! Turning clap's multi-line usage errors into the CLI's one-line ` !    ` format, while
//! `--help` and `--version` print normally.

use clap::error::ErrorKind;
use std::process::ExitCode;

/// Prints a parse outcome: help/version as clap renders them, real errors as one line
/// (exit code 2).
pub fn report(e: &clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(2)
        }
        _ => {
            eprintln!(" !    {}", summarize(&e.to_string()));
            ExitCode::from(2)
        }
    }
}

/// Collapses any text to one line.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// clap's message without `error: `, with an argument list that follows a trailing colon,
/// any `tip:` and the usage line folded in.
pub fn summarize(message: &str) -> String {
    let lines: Vec<&str> = message.lines().collect();
    let first = lines.first().copied().unwrap_or("invalid arguments");
    let mut summary = first.trim().trim_start_matches("error:").trim().to_string();
    let rest = lines.get(1..).unwrap_or_default();
    if summary.ends_with(':') {
        let listed: Vec<&str> = rest
            .iter()
            .take_while(|l| !l.trim().is_empty())
            .map(|l| l.trim())
            .collect();
        if !listed.is_empty() {
            summary = format!("{} {}", summary, listed.join(", "));
        }
    }
    if let Some(tip) = rest.iter().find_map(|l| l.trim().strip_prefix("tip:")) {
        summary = format!("{summary} ({})", tip.trim());
    }
    match rest.iter().find_map(|l| l.trim().strip_prefix("Usage:")) {
        // The top-level usage (`paas [COMMAND]`) says nothing the help would not.
        Some(usage) if usage.trim() != "paas [COMMAND]" => {
            summary = format!("{summary}. Usage: {}", usage.trim());
        }
        _ => summary.push_str(". See paas --help."),
    }
    one_line(&summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn parse_error(args: &[&str]) -> String {
        summarize(&Cli::try_parse_from(args).unwrap_err().to_string())
    }

    #[test]
    fn unknown_command_is_one_line() {
        let line = parse_error(&["paas", "frobnicate"]);
        assert!(!line.contains('\n'));
        assert_eq!(
            line,
            "unrecognized subcommand 'frobnicate'. See paas --help."
        );
    }

    #[test]
    fn missing_argument_names_it() {
        let line = parse_error(&["paas", "users:add"]);
        assert!(!line.contains('\n'));
        assert!(line.contains("<EMAIL>"), "{line}");
        assert!(line.contains("Usage: paas users:add"), "{line}");
    }
}
