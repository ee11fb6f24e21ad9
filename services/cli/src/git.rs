//! The few git operations the CLI needs, done by running the `git` command in the current
//! directory: is this a work tree, read/add/update/remove a remote, and which app a
//! remote URL (`http://host:8080/<app>.git`) points at.

use anyhow::{anyhow, bail, Result};
use std::process::{Command, Stdio};

/// The remote `apps:create` adds and app resolution reads.
pub const DEFAULT_REMOTE: &str = "paas";

/// Runs `git args...`; returns trimmed stdout, or git's own complaint as the error.
fn git(args: &[&str]) -> Result<String> {
    let output = Command::new("git")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| anyhow!("Cannot run git: {e}"))?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).trim().to_string());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let complaint = stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| {
            l.trim_start_matches("fatal: ")
                .trim_start_matches("error: ")
                .to_string()
        })
        .unwrap_or_else(|| format!("exited with {}", output.status));
    bail!(
        "git {}: {complaint}",
        args.first().copied().unwrap_or_default()
    )
}

/// Whether the current directory is inside a git work tree (false when git is missing).
pub fn inside_work_tree() -> bool {
    git(&["rev-parse", "--is-inside-work-tree"]).is_ok_and(|out| out == "true")
}

/// The URL of remote `name`, if the current directory is a repository that has it.
pub fn remote_url(name: &str) -> Option<String> {
    git(&["remote", "get-url", name])
        .ok()
        .filter(|u| !u.is_empty())
}

/// The names of all remotes of the current repository.
pub fn remotes() -> Vec<String> {
    git(&["remote"])
        .map(|out| out.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// What `set_remote` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteChange {
    Added,
    Updated,
    Unchanged,
}

/// Points remote `name` at `url`, adding it or changing its URL.
pub fn set_remote(name: &str, url: &str) -> Result<RemoteChange> {
    match remote_url(name) {
        Some(existing) if existing == url => Ok(RemoteChange::Unchanged),
        Some(_) => git(&["remote", "set-url", name, url]).map(|_| RemoteChange::Updated),
        None => git(&["remote", "add", name, url]).map(|_| RemoteChange::Added),
    }
}

pub fn remove_remote(name: &str) -> Result<()> {
    git(&["remote", "remove", name]).map(drop)
}

/// The app a git URL points at: the last path segment without `.git`. Handles
/// `http(s)://host[:port]/[prefix/]app[.git][/]`, scp-like `host:app.git` and local paths.
pub fn app_from_git_url(url: &str) -> Option<String> {
    let url = url.trim();
    let url = url.split(['?', '#']).next().unwrap_or(url);
    let path = if let Some((_, rest)) = url.split_once("://") {
        rest.split_once('/').map(|(_, path)| path)?
    } else if let Some((_, path)) = url.split_once(':') {
        path
    } else {
        url
    };
    let last = path.trim_end_matches('/').rsplit('/').next()?;
    let name = last.strip_suffix(".git").unwrap_or(last);
    (!name.is_empty()).then(|| name.to_string())
}

/// Whether two git URLs are the same remote, ignoring a trailing slash.
pub fn same_url(a: &str, b: &str) -> bool {
    a.trim().trim_end_matches('/') == b.trim().trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_app_names_from_remote_urls() {
        let app = |u: &str| app_from_git_url(u);
        assert_eq!(app("http://h:8080/hello.git").as_deref(), Some("hello"));
        assert_eq!(app("http://h:8080/hello").as_deref(), Some("hello"));
        assert_eq!(app("http://h:8080/hello.git/").as_deref(), Some("hello"));
        assert_eq!(app("http://h:8080/hello/").as_deref(), Some("hello"));
        assert_eq!(app("https://h/base/my-app.git").as_deref(), Some("my-app"));
        assert_eq!(app(" http://h:8080/hello.git\n").as_deref(), Some("hello"));
        assert_eq!(app("http://h:8080/hello.git?x=1").as_deref(), Some("hello"));
        assert_eq!(app("git@h:hello.git").as_deref(), Some("hello"));
        assert_eq!(app("/srv/git/hello.git").as_deref(), Some("hello"));
        assert_eq!(app("http://h:8080"), None);
        assert_eq!(app("http://h:8080/"), None);
        assert_eq!(app("http://h:8080/.git"), None);
        assert_eq!(app(""), None);
    }

    #[test]
    fn compares_urls_ignoring_trailing_slash() {
        assert!(same_url("http://h/a.git", "http://h/a.git/"));
        assert!(!same_url("http://h/a.git", "http://h/b.git"));
    }
}
