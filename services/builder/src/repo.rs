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
    config
        .set_bool("receive.denyNonFastForwards", false)
        .and_then(|_| config.set_bool("receive.denyDeletes", true))
        .map_err(|e| BuildError::Checkout(e.message().to_string()))?;
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
    }
}
