//! Third-party classic buildpacks, chosen by `BUILDPACK_URL`, a `.buildpacks` file or the
//! app's buildpack list: an absolute path on the server (used as it is), or a git URL with an
//! optional `#ref`, fetched with the git CLI under the cache directory. A ref that cannot move
//! (a tag or a commit id) is checked out once and read from the cache ever after; a branch (or
//! no ref: the default branch) is fetched again at every build (a `git fetch` into a mirror of
//! the URL), and checked out once per commit. Either must hold `bin/compile`; anything else is
//! one clear error.
//!
//! Under the cache directory: `<url key>.git` (a mirror per URL), `<spec key>` (a pinned
//! ref's checkout), `<spec key>@<commit>` (a branch's checkout at that commit).

use crate::error::BuildError;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

/// Longest a clone or fetch of a buildpack may take.
const CLONE_TIMEOUT: Duration = Duration::from_secs(120);

/// A branch's checkouts at other commits are removed once unused for this long (a build that
/// resolved one copies it into its container within seconds).
const STALE_CHECKOUT: Duration = Duration::from_secs(600);

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

/// Resolves one buildpack: a path must exist; a URL is fetched into `cache_dir` (once for a
/// tag or commit id, at every call for a branch or the default branch).
pub async fn fetch(spec: &str, cache_dir: &Path) -> Result<BuildpackSource, BuildError> {
    let label = spec.to_string();
    let dir = if spec.starts_with('/') {
        PathBuf::from(spec)
    } else {
        fetch_cached(spec, cache_dir)
            .await
            .map_err(|e| BuildError::Rejected(format!("cannot fetch buildpack {spec}: {e}")))?
    };
    if !dir.join("bin/compile").is_file() {
        return Err(BuildError::Rejected(format!(
            "{label} is not a buildpack: it has no bin/compile"
        )));
    }
    Ok(BuildpackSource { label, dir })
}

/// A readable, collision-resistant folder name for `text` (a spec or a URL).
fn cache_key(text: &str) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    // "v2": checkouts cached before branches were fetched again are not taken for pinned ones.
    ("v2", text).hash(&mut hasher);
    let readable: String = text
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(40)
        .collect();
    format!("{readable}-{:016x}", hasher.finish())
}

/// One lock per URL mirror, so two builds never fetch into the same mirror at once.
fn mirror_lock(key: &str) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let mut locks = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    locks.entry(key.to_string()).or_default().clone()
}

/// What a ref names in the mirror: a commit, and whether it can move.
struct Resolved {
    commit: String,
    moving: bool,
}

async fn fetch_cached(spec: &str, cache_dir: &Path) -> Result<PathBuf, String> {
    let (url, reference) = split_ref(spec);
    let looks_like_url = url.contains("://") || url.starts_with("git@");
    if !looks_like_url || url.starts_with('-') {
        return Err("it is neither a git URL nor an absolute path".to_string());
    }
    if reference.is_some_and(|r| r.starts_with('-') || r.contains("..") || r.contains(':')) {
        return Err(format!(
            "{:?} is not a branch, tag or commit name",
            reference.unwrap_or_default()
        ));
    }
    let spec_key = cache_key(spec);
    let pinned = cache_dir.join(&spec_key);
    if pinned.join("bin").is_dir() {
        return Ok(pinned);
    }
    std::fs::create_dir_all(cache_dir).map_err(|e| e.to_string())?;
    let url_key = cache_key(url);
    let lock = mirror_lock(&url_key);
    let _held = lock.lock().await;
    let mirror = cache_dir.join(format!("{url_key}.git"));
    update_mirror(url, &mirror, cache_dir).await?;
    let resolved = resolve(&mirror, reference).await?;
    let dest = if resolved.moving {
        let short = &resolved.commit[..resolved.commit.len().min(12)];
        cache_dir.join(format!("{spec_key}@{short}"))
    } else {
        pinned
    };
    if !dest.join("bin").is_dir() {
        let tmp = cache_dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
        let checked_out = check_out(&mirror, &resolved.commit, &tmp).await;
        if let Err(e) = checked_out {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        // Another paasd sharing the cache may have made it meanwhile: keep the first.
        if std::fs::rename(&tmp, &dest).is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
    }
    if resolved.moving {
        // Its age counts from its last use, so a build about to copy it keeps it.
        let _ = std::fs::File::open(&dest).and_then(|d| d.set_modified(SystemTime::now()));
        remove_stale_checkouts(cache_dir, &spec_key, &dest);
    }
    Ok(dest)
}

/// Clones `url` as a mirror the first time, fetches into it (branches and tags, pruned) after.
async fn update_mirror(url: &str, mirror: &Path, cache_dir: &Path) -> Result<(), String> {
    if mirror.join("HEAD").is_file() {
        let mirror = mirror.to_string_lossy();
        return git(&[
            "-C", &mirror, "fetch", "--quiet", "--prune", "--force", "origin",
        ])
        .await;
    }
    let tmp = cache_dir.join(format!(".tmp-{}.git", uuid::Uuid::new_v4().simple()));
    let cloned = git(&[
        "clone",
        "--quiet",
        "--mirror",
        "--",
        url,
        &tmp.to_string_lossy(),
    ])
    .await;
    if let Err(e) = cloned {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if std::fs::rename(&tmp, mirror).is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    Ok(())
}

/// No ref: the default branch. A branch moves; a tag or a commit id does not.
async fn resolve(mirror: &Path, reference: Option<&str>) -> Result<Resolved, String> {
    let commit_of = |name: String| async move {
        let mirror = mirror.to_string_lossy();
        git_output(&[
            "-C",
            &mirror,
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{name}^{{commit}}"),
        ])
        .await
        .ok()
        .map(|out| out.trim().to_string())
        .filter(|c| !c.is_empty())
    };
    let Some(reference) = reference else {
        return commit_of("HEAD".to_string())
            .await
            .map(|commit| Resolved {
                commit,
                moving: true,
            })
            .ok_or_else(|| "the repository has no default branch".to_string());
    };
    if let Some(commit) = commit_of(format!("refs/heads/{reference}")).await {
        return Ok(Resolved {
            commit,
            moving: true,
        });
    }
    if let Some(commit) = commit_of(format!("refs/tags/{reference}")).await {
        return Ok(Resolved {
            commit,
            moving: false,
        });
    }
    let hex = reference.len() >= 4 && reference.chars().all(|c| c.is_ascii_hexdigit());
    if hex {
        if let Some(commit) = commit_of(reference.to_string()).await {
            return Ok(Resolved {
                commit,
                moving: false,
            });
        }
    }
    Err(format!(
        "it has no branch, tag or commit named {reference:?}"
    ))
}

/// A working copy of `commit` from the mirror (a local clone: hard links, no network).
async fn check_out(mirror: &Path, commit: &str, dest: &Path) -> Result<(), String> {
    let dest_text = dest.to_string_lossy();
    git(&[
        "clone",
        "--quiet",
        "--no-checkout",
        "--",
        &mirror.to_string_lossy(),
        &dest_text,
    ])
    .await?;
    git(&[
        "-C", &dest_text, "checkout", "--quiet", "--detach", commit, "--",
    ])
    .await
}

/// Removes the branch's checkouts at other commits once unused long enough that no build can
/// still be copying them.
fn remove_stale_checkouts(cache_dir: &Path, spec_key: &str, current: &Path) {
    let Ok(entries) = std::fs::read_dir(cache_dir) else {
        return;
    };
    let prefix = format!("{spec_key}@");
    for entry in entries.flatten() {
        let path = entry.path();
        let stale = entry.file_name().to_string_lossy().starts_with(&prefix)
            && path != current
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > STALE_CHECKOUT);
        if stale {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

async fn git(args: &[&str]) -> Result<(), String> {
    git_output(args).await.map(drop)
}

/// Runs git; its stdout, or the last line it printed on stderr.
async fn git_output(args: &[&str]) -> Result<String, String> {
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
        return Ok(String::from_utf8_lossy(&output.stdout).to_string());
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
    async fn a_tag_or_commit_is_fetched_once_and_a_branch_at_every_build() {
        let origin = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(origin.path().join("bin")).unwrap();
        let compile = |dir: &Path| std::fs::read_to_string(dir.join("bin/compile")).unwrap();
        let commit = |text: &str| {
            std::fs::write(origin.path().join("bin/compile"), text).unwrap();
            git_in(origin.path(), &["add", "-A"]);
            git_in(origin.path(), &["commit", "-q", "-m", text]);
        };
        git_in(origin.path(), &["init", "-q", "-b", "main"]);
        commit("#!/bin/sh\necho one\n");
        git_in(origin.path(), &["tag", "v1"]);
        let first = String::from_utf8(
            std::process::Command::new("git")
                .args(["rev-parse", "HEAD"])
                .current_dir(origin.path())
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        commit("#!/bin/sh\necho two\n");
        let url = format!("file://{}", origin.path().display());
        let by_id = format!("{url}#{}", first.trim());

        let v1 = fetch(&format!("{url}#v1"), cache.path()).await.unwrap();
        let pinned = fetch(&by_id, cache.path()).await.unwrap();
        let head = fetch(&url, cache.path()).await.unwrap();
        let main = fetch(&format!("{url}#main"), cache.path()).await.unwrap();
        assert_ne!(v1.dir, head.dir);
        assert!(compile(&v1.dir).contains("one"));
        assert!(compile(&pinned.dir).contains("one"));
        assert!(compile(&head.dir).contains("two"));
        assert!(compile(&main.dir).contains("two"));

        // A new commit on the branch: the default branch and #main see it at the next fetch;
        // the tag and the commit id stay where they were.
        commit("#!/bin/sh\necho three\n");
        let at_two = head.dir.clone();
        let head = fetch(&url, cache.path()).await.unwrap();
        let main = fetch(&format!("{url}#main"), cache.path()).await.unwrap();
        assert!(compile(&head.dir).contains("three"));
        assert!(compile(&main.dir).contains("three"));
        assert!(
            compile(&fetch(&format!("{url}#v1"), cache.path()).await.unwrap().dir).contains("one")
        );
        // The checkout at the older commit stays while recently used, and goes once unused.
        assert!(at_two.is_dir());
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::open(&at_two)
            .and_then(|d| d.set_modified(hour_ago))
            .unwrap();
        assert_eq!(fetch(&url, cache.path()).await.unwrap(), head);
        assert!(!at_two.exists());

        // With the origin gone, a tag and a commit id still come from the cache; a branch
        // cannot be fetched again, and says so.
        std::fs::remove_dir_all(origin.path()).unwrap();
        assert_eq!(fetch(&format!("{url}#v1"), cache.path()).await.unwrap(), v1);
        assert_eq!(fetch(&by_id, cache.path()).await.unwrap(), pinned);
        let err = fetch(&url, cache.path()).await.unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("cannot fetch buildpack {url}: ")),
            "{err}"
        );
        let err = fetch(&format!("{url}#nope"), cache.path())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("cannot fetch buildpack"), "{err}");
    }

    #[tokio::test]
    async fn an_unknown_ref_is_one_clear_error() {
        let origin = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(origin.path().join("bin")).unwrap();
        std::fs::write(origin.path().join("bin/compile"), "#!/bin/sh\n").unwrap();
        git_in(origin.path(), &["init", "-q", "-b", "main"]);
        git_in(origin.path(), &["add", "-A"]);
        git_in(origin.path(), &["commit", "-q", "-m", "one"]);
        let url = format!("file://{}", origin.path().display());
        let err = fetch(&format!("{url}#nope"), cache.path())
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!(
                "cannot fetch buildpack {url}#nope: it has no branch, tag or commit named \"nope\""
            )
        );
        let err = fetch(&format!("{url}#--upload-pack=x"), cache.path())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not a branch, tag or commit name"), "{err}");
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
