//! Reading a pushed commit with git2: the commit's tree is written to a work directory (for
//! planning) and into a tar archive file rooted at `app/` (for the build container). During a
//! `pre-receive` hook the pushed objects are still in git's quarantine directory, so callers
//! pass the extra object directories to read from.
//!
//! The tree comes from an untrusted push. Every path is checked component by component
//! (`safe_component`) before anything is written, and the whole tree is checked before the
//! first file is written, so a crafted tree (`..`, `.git`, `/` or NUL inside a name) is
//! rejected with nothing written at all. Symlinks go only into the tar archive, never onto the
//! host, so no later write can follow one out of the work directory.

use crate::error::BuildError;
use crate::slug::TarWriter;
use git2::{ObjectType, Oid, Repository, Tree};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

const MODE_EXECUTABLE: i32 = 0o100755;
const MODE_SYMLINK: i32 = 0o120000;

/// Whether `name` may be one component of a path written from a pushed tree.
pub fn safe_component(name: &[u8]) -> bool {
    !name.is_empty()
        && name != b"."
        && name != b".."
        && !name.eq_ignore_ascii_case(b".git")
        && !name.iter().any(|b| matches!(b, b'/' | b'\\' | 0))
}

/// One entry of the tree, with its path checked.
enum Entry {
    Dir(String),
    File {
        path: String,
        id: Oid,
        executable: bool,
    },
    Symlink {
        path: String,
        id: Oid,
    },
}

/// Writes the tree of `commit` from the bare repository `repo` into `dest` (regular files only)
/// and a tar archive of the whole tree under `app/`, owned by the app user, into `tar_path`.
pub fn checkout(
    repo: &Path,
    object_dirs: &[PathBuf],
    commit: &str,
    dest: &Path,
    tar_path: &Path,
) -> Result<(), BuildError> {
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

    let mut entries = Vec::new();
    collect(&repository, &tree, "", &mut entries)?;

    std::fs::create_dir_all(dest)?;
    let mut tar = TarWriter::to_writer(BufWriter::new(File::create(tar_path)?));
    tar.dir("app/")?;
    for entry in entries {
        match entry {
            Entry::Dir(path) => {
                std::fs::create_dir_all(dest.join(&path))?;
                tar.dir(&format!("app/{path}/"))?;
            }
            Entry::File {
                path,
                id,
                executable,
            } => {
                let blob = repository.find_blob(id).map_err(err)?;
                std::fs::write(dest.join(&path), blob.content())?;
                let mode = if executable { 0o755 } else { 0o644 };
                tar.file(&format!("app/{path}"), mode, blob.content())?;
            }
            Entry::Symlink { path, id } => {
                let blob = repository.find_blob(id).map_err(err)?;
                let target = String::from_utf8_lossy(blob.content()).to_string();
                tar.symlink(&format!("app/{path}"), &target)?;
            }
        }
    }
    let mut file = tar.finish()?;
    std::io::Write::flush(&mut file)?;
    Ok(())
}

/// Lists the tree depth first, parents before children, rejecting any unsafe name.
fn collect(
    repository: &Repository,
    tree: &Tree<'_>,
    prefix: &str,
    out: &mut Vec<Entry>,
) -> Result<(), BuildError> {
    let err = |e: git2::Error| BuildError::Checkout(e.message().to_string());
    for entry in tree.iter() {
        let raw = entry.name_bytes();
        if !safe_component(raw) {
            return Err(BuildError::UnsafePath(format!(
                "{prefix}{}",
                String::from_utf8_lossy(raw)
            )));
        }
        let Ok(name) = std::str::from_utf8(raw) else {
            return Err(BuildError::UnsafePath(format!(
                "{prefix}{}",
                String::from_utf8_lossy(raw)
            )));
        };
        let path = format!("{prefix}{name}");
        match entry.kind() {
            Some(ObjectType::Tree) => {
                let subtree = repository.find_tree(entry.id()).map_err(err)?;
                out.push(Entry::Dir(path.clone()));
                collect(repository, &subtree, &format!("{path}/"), out)?;
            }
            Some(ObjectType::Blob) if entry.filemode() == MODE_SYMLINK => {
                out.push(Entry::Symlink {
                    path,
                    id: entry.id(),
                })
            }
            Some(ObjectType::Blob) => out.push(Entry::File {
                path,
                id: entry.id(),
                executable: entry.filemode() == MODE_EXECUTABLE,
            }),
            // Submodules (commits) and anything else are not part of the slug.
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_components_are_refused() {
        for bad in [
            &b""[..],
            b".",
            b"..",
            b".git",
            b".GIT",
            b"a/b",
            b"a\\b",
            b"a\0b",
        ] {
            assert!(!safe_component(bad), "{bad:?}");
        }
        for good in [&b"app.py"[..], b".profile.d", b"..hidden", b"git", b"a..b"] {
            assert!(safe_component(good), "{good:?}");
        }
    }
}
