//! `paasd hook pre-receive`: run by git inside an app repository during a push. For each pushed
//! ref it reads `<old> <new> <ref>` from stdin; for `main` or `master` it asks paasd (over
//! HTTP, with the push grant from its environment) to build and deploy, and copies the output
//! to stdout so git shows it as `remote:` lines. A non-zero exit rejects the push.

use anyhow::Context;
use futures_util::StreamExt;
use paas_api::{HookRequest, HOOK_RESULT_PREFIX};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

const ZERO_OID: &str = "0000000000000000000000000000000000000000";

pub async fn pre_receive() -> anyhow::Result<ExitCode> {
    let url =
        std::env::var("PAAS_HOOK_URL").context("PAAS_HOOK_URL is not set: push through paas")?;
    let token = std::env::var("PAAS_HOOK_TOKEN")
        .context("PAAS_HOOK_TOKEN is not set: push through paas")?;
    let object_dirs = quarantine_object_dirs();
    let mut lines = Vec::new();
    for line in std::io::stdin().lock().lines() {
        lines.push(line?);
    }
    let mut ok = true;
    for line in lines {
        let mut parts = line.split_whitespace();
        let (Some(old), Some(new), Some(ref_name)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let branch = ref_name.strip_prefix("refs/heads/").unwrap_or(ref_name);
        if new == ZERO_OID {
            println!(" !     Deleting {branch} is not allowed.");
            ok = false;
            continue;
        }
        if branch != "main" && branch != "master" {
            println!("-----> Pushed to {branch}: only main or master is deployed.");
            continue;
        }
        let request = HookRequest {
            token: token.clone(),
            old: old.to_string(),
            new: new.to_string(),
            ref_name: ref_name.to_string(),
            object_dirs: object_dirs.clone(),
        };
        ok &= deploy(&url, &request).await?;
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Streams the deploy output to stdout; returns whether it succeeded.
async fn deploy(url: &str, request: &HookRequest) -> anyhow::Result<bool> {
    let client = reqwest::Client::new();
    let response = client
        .post(url)
        .json(request)
        .send()
        .await
        .context("cannot reach paasd to build this push")?;
    if !response.status().is_success() {
        println!(" !     paasd refused the build ({}).", response.status());
        return Ok(false);
    }
    let mut stream = response.bytes_stream();
    let mut pending = String::new();
    let mut result = None;
    let mut stdout = std::io::stdout();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.context("the build output stream broke")?;
        pending.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(newline) = pending.find('\n') {
            let line: String = pending.drain(..=newline).collect();
            let line = line.trim_end_matches(['\n', '\r']);
            if let Some(verdict) = line.strip_prefix(HOOK_RESULT_PREFIX) {
                result = Some(verdict == "ok");
            } else {
                writeln!(stdout, "{line}")?;
                stdout.flush()?;
            }
        }
    }
    match result {
        Some(ok) => Ok(ok),
        None => {
            println!(" !     The build was interrupted.");
            Ok(false)
        }
    }
}

/// Where git keeps the pushed objects while the hook runs (absolute paths).
fn quarantine_object_dirs() -> Vec<String> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut dirs = Vec::new();
    if let Ok(dir) = std::env::var("GIT_OBJECT_DIRECTORY") {
        dirs.push(dir);
    }
    if let Ok(alternates) = std::env::var("GIT_ALTERNATE_OBJECT_DIRECTORIES") {
        dirs.extend(
            alternates
                .split(':')
                .filter(|d| !d.is_empty())
                .map(str::to_string),
        );
    }
    dirs.into_iter()
        .map(|d| cwd.join(PathBuf::from(d)).display().to_string())
        .collect()
}
