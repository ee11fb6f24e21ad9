//! App repositories: one bare git repository per app, whose `pre-receive` hook hands every
//! push to paasd (`paasd hook pre-receive`), so the build runs while the client waits.

use crate::error::BuildError;
use git2::Repository;
use std::path::Path;

const PRE_RECEIVE: &str = r#"#!/bin/sh
# paas: builds and deploys the pushed commit; a failed build rejects the push.
: "${PAAS_HOOK_BIN:?pushes to this repository must go through paas}"
exec "$PAAS_HOOK_BIN" hook pre-receive
"#;

/// Creates the bare repository at `path` with paas's hook, or refreshes the hook when the
/// repository already exists.
pub fn init_app_repo(path: &Path) -> Result<(), BuildError> {
    let repo = match Repository::open_bare(path) {
        Ok(repo) => repo,
        Err(_) => Repository::init_bare(path)
            .map_err(|e| BuildError::Checkout(e.message().to_string()))?,
    };
    let mut config = repo
        .config()
        .map_err(|e| BuildError::Checkout(e.message().to_string()))?;
    // Like Heroku, accept force pushes; never let a push delete the deploy branch silently.
    // Check every pushed object (malformed trees, `..` or `.git` names) before any hook runs.
    config
        .set_bool("receive.denyNonFastForwards", false)
        .and_then(|_| config.set_bool("receive.denyDeletes", true))
        .and_then(|_| config.set_bool("receive.fsckObjects", true))
        .map_err(|e| BuildError::Checkout(e.message().to_string()))?;
    // A clone checks out the deploy branch once it exists (main unless master was pushed).
    if repo.head().is_err() && repo.find_reference("refs/heads/master").is_err() {
        repo.set_head("refs/heads/main")
            .map_err(|e| BuildError::Checkout(e.message().to_string()))?;
    }
    let hooks = path.join("hooks");
    std::fs::create_dir_all(&hooks)?;
    let hook = hooks.join("pre-receive");
    std::fs::write(&hook, PRE_RECEIVE)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// The commit `ref_name` points at in the bare repository, `None` when the branch does not exist.
pub fn branch_head(path: &Path, ref_name: &str) -> Result<Option<String>, BuildError> {
    let err = |e: git2::Error| BuildError::Checkout(e.message().to_string());
    let repo = Repository::open_bare(path).map_err(err)?;
    let head = match repo.find_reference(ref_name) {
        Ok(reference) => Ok(reference.target().map(|oid| oid.to_string())),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(err(e)),
    };
    head
}

/// The commit the repository's HEAD (the deploy branch) points at; `None` before any push.
pub fn head_commit(path: &Path) -> Result<Option<String>, BuildError> {
    let err = |e: git2::Error| BuildError::Checkout(e.message().to_string());
    let repo = Repository::open_bare(path).map_err(err)?;
    let head = match repo.head() {
        Ok(head) => Ok(head.target().map(|oid| oid.to_string())),
        Err(e)
            if matches!(
                e.code(),
                git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(err(e)),
    };
    head
}

/// Points the repository's HEAD at `ref_name`, so a clone checks that branch out.
pub fn set_default_branch(path: &Path, ref_name: &str) -> Result<(), BuildError> {
    let err = |e: git2::Error| BuildError::Checkout(e.message().to_string());
    let repo = Repository::open_bare(path).map_err(err)?;
    repo.set_head(ref_name).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_bare_repo_with_executable_hook() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hello.git");
        init_app_repo(&path).unwrap();
        init_app_repo(&path).unwrap();
        let repo = Repository::open_bare(&path).unwrap();
        assert!(repo.is_bare());
        let hook = std::fs::read_to_string(path.join("hooks/pre-receive")).unwrap();
        assert!(hook.contains("paasd") || hook.contains("PAAS_HOOK_BIN"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path.join("hooks/pre-receive"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111);
        let config = repo.config().unwrap();
        assert!(config.get_bool("receive.fsckObjects").unwrap());
        assert_eq!(branch_head(&path, "refs/heads/main").unwrap(), None);
        assert_eq!(
            repo.find_reference("HEAD").unwrap().symbolic_target(),
            Some("refs/heads/main")
        );
    }
}
