//! Third-party classic buildpacks, chosen by `BUILDPACK_URL`, a `.buildpacks` file or the
//! app's buildpack list: an absolute path on the server (used as it is), or a git URL with an
//! optional `#ref`, cloned once with the git CLI and cached per URL and ref under the cache
//! directory. Either must hold `bin/compile`; anything else is one clear error.

use crate::error::BuildError;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Longest a clone of a buildpack may take.
const CLONE_TIMEOUT: Duration = Duration::from_secs(120);

/// A buildpack ready to be copied into a build container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildpackSource {
    /// As the user wrote it (URL, `#ref` included, or path): used in messages.
    pub label: String,
    /// Its directory on the server.
    pub dir: PathBuf,
}

/// `url#ref` -> (`url`, `ref`).
pub fn split_ref(spec: &str) -> (&str, Option<&str>) {
    match spec.rsplit_once('#') {
        Some((url, r)) if !r.is_empty() => (url, Some(r)),
        Some((url, _)) => (url, None),
        None => (spec, None),
    }
}

/// Whether `spec` can name a buildpack: an absolute path, or a git URL (`scheme://...` or
/// `git@host:...`) with an optional `#ref`; one line, no spaces. The error says why not.
pub fn valid_buildpack_spec(spec: &str) -> Result<(), String> {
    let (url, _) = split_ref(spec);
    if spec.is_empty()
        || spec.len() > 2048
        || spec.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "{spec:?} is not a buildpack URL or path (one line, no spaces)"
        ));
    }
    if url.starts_with('/')
        || (url.contains("://") || url.starts_with("git@")) && !url.starts_with('-')
    {
        return Ok(());
    }
    Err(format!(
        "{spec:?} is neither a git URL (https://..., file://..., git@host:...) nor an absolute path"
    ))
}

/// Resolves one buildpack: a path must exist, a URL is cloned into `cache_dir` once per
/// URL and ref.
pub async fn fetch(spec: &str, cache_dir: &Path) -> Result<BuildpackSource, BuildError> {
    let label = spec.to_string();
    let dir = if spec.starts_with('/') {
        PathBuf::from(spec)
    } else {
        clone_cached(spec, cache_dir).await?
    };
    if !dir.join("bin/compile").is_file() {
        return Err(BuildError::Rejected(format!(
            "{label} is not a buildpack: it has no bin/compile"
        )));
    }
    Ok(BuildpackSource { label, dir })
}

fn cache_key(spec: &str) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    spec.hash(&mut hasher);
    let readable: String = spec
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(40)
        .collect();
    format!("{readable}-{:016x}", hasher.finish())
}

async fn clone_cached(spec: &str, cache_dir: &Path) -> Result<PathBuf, BuildError> {
    let (url, reference) = split_ref(spec);
    let looks_like_url = url.contains("://") || url.starts_with("git@");
    if !looks_like_url || url.starts_with('-') {
        return Err(BuildError::Rejected(format!(
            "buildpack {spec:?} is neither a git URL nor an absolute path"
        )));
    }
    let dest = cache_dir.join(cache_key(spec));
    if dest.join("bin").is_dir() {
        return Ok(dest);
    }
    std::fs::create_dir_all(cache_dir)?;
    let tmp = cache_dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
    let result = clone(url, reference, &tmp).await;
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(BuildError::Rejected(format!(
            "cannot fetch buildpack {spec}: {e}"
        )));
    }
    // Another build may have cached the same buildpack meanwhile: keep the first.
    if std::fs::rename(&tmp, &dest).is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    Ok(dest)
}

async fn clone(url: &str, reference: Option<&str>, dest: &Path) -> Result<(), String> {
    git(&["clone", "--quiet", "--", url, &dest.to_string_lossy()]).await?;
    if let Some(reference) = reference {
        git(&[
            "-C",
            &dest.to_string_lossy(),
            "checkout",
            "--quiet",
            "--detach",
            reference,
            "--",
        ])
        .await?;
    }
    Ok(())
}

async fn git(args: &[&str]) -> Result<(), String> {
    let mut command = tokio::process::Command::new("git");
    command
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(CLONE_TIMEOUT, command.output())
        .await
        .map_err(|_| format!("git took longer than {} s", CLONE_TIMEOUT.as_secs()))?
        .map_err(|e| format!("cannot run git: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("git failed")
        .trim_start_matches("fatal: ")
        .to_string();
    Err(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_are_split_off() {
        assert_eq!(
            split_ref("https://x/a.git#v1"),
            ("https://x/a.git", Some("v1"))
        );
        assert_eq!(split_ref("https://x/a.git"), ("https://x/a.git", None));
        assert_eq!(split_ref("https://x/a.git#"), ("https://x/a.git", None));
    }

    #[test]
    fn specs_are_urls_or_absolute_paths() {
        assert!(
            valid_buildpack_spec("https://github.com/heroku/heroku-buildpack-python#v1").is_ok()
        );
        assert!(valid_buildpack_spec("/srv/buildpacks/go").is_ok());
        assert!(valid_buildpack_spec("git@github.com:me/bp.git").is_ok());
        for bad in [
            "",
            "relative/path",
            "https://x/a b",
            "--upload-pack=x",
            "a\nb",
        ] {
            assert!(valid_buildpack_spec(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_path_without_bin_compile_is_not_a_buildpack() {
        let dir = tempfile::tempdir().unwrap();
        let err = fetch(&dir.path().display().to_string(), dir.path())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("is not a buildpack"), "{err}");
    }

    fn git_in(dir: &Path, args: &[&str]) {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    #[tokio::test]
    async fn a_git_url_is_cloned_once_per_ref_and_then_read_from_the_cache() {
        let origin = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(origin.path().join("bin")).unwrap();
        std::fs::write(origin.path().join("bin/compile"), "#!/bin/sh\necho one\n").unwrap();
        git_in(origin.path(), &["init", "-q", "-b", "main"]);
        git_in(origin.path(), &["add", "-A"]);
        git_in(origin.path(), &["commit", "-q", "-m", "one"]);
        git_in(origin.path(), &["tag", "v1"]);
        std::fs::write(origin.path().join("bin/compile"), "#!/bin/sh\necho two\n").unwrap();
        git_in(origin.path(), &["commit", "-q", "-am", "two"]);
        let url = format!("file://{}", origin.path().display());

        let v1 = fetch(&format!("{url}#v1"), cache.path()).await.unwrap();
        let head = fetch(&url, cache.path()).await.unwrap();
        assert_ne!(v1.dir, head.dir);
        let compile = |dir: &Path| std::fs::read_to_string(dir.join("bin/compile")).unwrap();
        assert!(compile(&v1.dir).contains("one"));
        assert!(compile(&head.dir).contains("two"));
        // With the origin gone, both still come from the cache.
        std::fs::remove_dir_all(origin.path()).unwrap();
        assert_eq!(fetch(&format!("{url}#v1"), cache.path()).await.unwrap(), v1);
        assert_eq!(fetch(&url, cache.path()).await.unwrap(), head);
    }

    #[tokio::test]
    async fn an_unreachable_url_is_one_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = fetch("file:///nonexistent/buildpack.git", dir.path())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("cannot fetch buildpack"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }
}
