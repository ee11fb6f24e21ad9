//! Reading a pushed commit with git2: the commit's tree is written to a work directory (for
//! planning) and into a tar archive rooted at `app/` (for the build container). During a
//! `pre-receive` hook the pushed objects are still in git's quarantine directory, so callers
//! pass the extra object directories to read from.

use crate::error::BuildError;
use crate::slug::TarWriter;
use git2::{ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};
use std::path::{Path, PathBuf};

const MODE_EXECUTABLE: i32 = 0o100755;
const MODE_SYMLINK: i32 = 0o120000;

/// Writes the tree of `commit` from the bare repository `repo` into `dest` (regular files only;
/// symlinks are kept out of the host directory) and returns a tar archive of the whole tree
/// under `app/`, owned by the app user.
pub fn checkout(
    repo: &Path,
    object_dirs: &[PathBuf],
    commit: &str,
    dest: &Path,
) -> Result<Vec<u8>, BuildError> {
    let err = |e: git2::Error| BuildError::Checkout(e.message().to_string());
    let repository = Repository::open_bare(repo).map_err(err)?;
    let odb = repository.odb().map_err(err)?;
    for dir in object_dirs {
        if dir.is_dir() {
            odb.add_disk_alternate(&dir.to_string_lossy())
                .map_err(err)?;
        }
    }
    let oid = Oid::from_str(commit).map_err(err)?;
    let tree = repository
        .find_commit(oid)
        .and_then(|c| c.tree())
        .map_err(err)?;

    std::fs::create_dir_all(dest)?;
    let mut tar = TarWriter::new();
    tar.dir("app/")?;
    let mut failure: Option<BuildError> = None;
    tree.walk(TreeWalkMode::PreOrder, |root, entry| {
        let Some(name) = entry.name() else {
            return TreeWalkResult::Skip;
        };
        let relative = format!("{root}{name}");
        let result = write_entry(&repository, entry, &relative, dest, &mut tar);
        match result {
            Ok(walk) => walk,
            Err(e) => {
                failure = Some(e);
                TreeWalkResult::Abort
            }
        }
    })
    .or_else(|e| if failure.is_some() { Ok(()) } else { Err(e) })
    .map_err(err)?;
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(tar.finish()?)
}

fn write_entry(
    repository: &Repository,
    entry: &git2::TreeEntry<'_>,
    relative: &str,
    dest: &Path,
    tar: &mut TarWriter,
) -> Result<TreeWalkResult, BuildError> {
    let err = |e: git2::Error| BuildError::Checkout(e.message().to_string());
    match entry.kind() {
        Some(ObjectType::Tree) => {
            std::fs::create_dir_all(dest.join(relative))?;
            tar.dir(&format!("app/{relative}/"))?;
            Ok(TreeWalkResult::Ok)
        }
        Some(ObjectType::Blob) => {
            let blob = repository.find_blob(entry.id()).map_err(err)?;
            if entry.filemode() == MODE_SYMLINK {
                let target = String::from_utf8_lossy(blob.content()).to_string();
                tar.symlink(&format!("app/{relative}"), &target)?;
            } else {
                let mode = if entry.filemode() == MODE_EXECUTABLE {
                    0o755
                } else {
                    0o644
                };
                std::fs::write(dest.join(relative), blob.content())?;
                tar.file(&format!("app/{relative}"), mode, blob.content())?;
            }
            Ok(TreeWalkResult::Ok)
        }
        // Submodules (commits) and anything else are not part of the slug.
        _ => Ok(TreeWalkResult::Skip),
    }
}
