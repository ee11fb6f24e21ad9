//! `login`, `logout` and `auth:whoami`: the token goes to `~/.netrc` under the platform's
//! host name (so `git push` uses it too) and the URL to the config file; `logout` revokes it on
//! the server before removing it.

use super::{client, email, read_stdin_line};
use crate::cli::LoginArgs;
use crate::client::{Client, HttpError};
use crate::{config, netrc, output, progress, session};
use anyhow::{anyhow, bail, Result};
use paas_domain::api::{Account, LoginRequest, LoginResponse};
use std::io::Write;

pub fn login(args: LoginArgs) -> Result<()> {
    let config_path = config::default_path()?;
    let raw_url = match args.url {
        Some(url) => url,
        None => match std::env::var("PAAS_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
        {
            Some(url) => url,
            None => {
                let default = config::load(&config_path)?
                    .url
                    .unwrap_or_else(|| session::DEFAULT_URL.to_string());
                if args.password_stdin {
                    default
                } else {
                    let answer = prompt(&format!("paas URL [{default}]: "))?;
                    if answer.is_empty() {
                        default
                    } else {
                        answer
                    }
                }
            }
        },
    };
    let url = session::parse_url(&raw_url)?;
    let host = session::netrc_host(&url)?;

    let raw_email = match args.email {
        Some(e) => e,
        None if args.password_stdin => bail!("--password-stdin needs --email EMAIL."),
        None => prompt("Email: ")?,
    };
    let email = email(&raw_email)?;
    let password = if args.password_stdin {
        read_stdin_line("password")?
    } else {
        rpassword::prompt_password("Password: ").map_err(|e| {
            anyhow!("Cannot read the password from the terminal ({e}). Use --password-stdin.")
        })?
    };
    if password.is_empty() {
        bail!("No password given.");
    }

    let progress = progress::start("Logging in");
    let response: LoginResponse = Client::new(url.clone(), None)?.post(
        &["api", "login"],
        &LoginRequest {
            email,
            password,
            description: Some(format!("paas login from {}", hostname())),
        },
    )?;
    let netrc_path = netrc::default_path()?;
    let mut netrc = netrc::load(&netrc_path)?;
    netrc.upsert(&host, &response.email, &response.token);
    netrc::save(&netrc_path, &netrc)?;
    config::save(
        &config_path,
        &config::Config {
            url: Some(session::display_url(&url)),
        },
    )?;
    progress.done();
    if std::env::var("PAAS_API_KEY").is_ok_and(|k| !k.trim().is_empty()) {
        eprintln!(" ›   Warning: PAAS_API_KEY is set and takes precedence over the stored token.");
    }
    output::line(format!("Logged in as {}", response.email))
}

/// Revokes the token stored for the platform's host (not `PAAS_API_KEY`: logout is about the
/// stored login), then removes it from `~/.netrc` even when the server cannot be reached.
pub fn logout() -> Result<()> {
    let url = session::parse_url(&session::configured_url()?)?;
    let host = session::netrc_host(&url)?;
    let progress = progress::start("Logging out");
    let path = netrc::default_path()?;
    let mut netrc = netrc::load(&path)?;
    let token = netrc
        .get(&host)
        .and_then(|c| c.password)
        .filter(|t| !t.is_empty());
    let revoked = match token {
        Some(token) => revoke_current(&url, token),
        None => Ok(()),
    };
    if netrc.remove(&host) {
        netrc::save(&path, &netrc)?;
    }
    revoked.map_err(|e| {
        anyhow!("Removed the token from ~/.netrc, but could not revoke it on the server: {e:#}")
    })?;
    progress.done();
    Ok(())
}

/// Revokes `token` with itself; a token the server refuses already is as good as revoked.
fn revoke_current(url: &reqwest::Url, token: String) -> Result<()> {
    let client = Client::new(url.clone(), Some(token))?;
    match client.delete(&["api", "oauth", "authorizations", "~"]) {
        Ok(()) => Ok(()),
        Err(e)
            if e.downcast_ref::<HttpError>()
                .is_some_and(|h| h.status == reqwest::StatusCode::UNAUTHORIZED) =>
        {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// This machine's name, for the token's description.
fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "an unknown host".to_string())
}

pub fn whoami() -> Result<()> {
    let account: Account = client()?.get(&["api", "account"])?;
    output::line(account.email)
}

/// Asks on stderr and reads one line from stdin (trimmed); end of input is an error.
fn prompt(question: &str) -> Result<String> {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let read = std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| anyhow!("Cannot read standard input: {e}"))?;
    if read == 0 {
        eprintln!();
        bail!(
            "No input. Pass --url and --email (and --password-stdin) to log in non-interactively."
        );
    }
    Ok(answer.trim().to_string())
}
