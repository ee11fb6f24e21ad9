//! The data directory and the SQLite database hold password and token hashes: the directory is
//! made 0700 and the database file (with its `-wal`/`-shm` companions) 0600 at every start,
//! also when they exist already with looser modes.

use anyhow::Context;
use std::fs::{self, OpenOptions};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;

/// Sets `dir` to 0700.
pub fn restrict_dir(dir: &Path) -> anyhow::Result<()> {
    set_mode(dir, DIR_MODE)
}

/// Creates the database file with mode 0600 when it is missing, before SQLite opens it (SQLite
/// gives its `-wal` and `-shm` files the database file's mode).
pub fn create_private(database: &Path) -> anyhow::Result<()> {
    if let Some(parent) = database.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(FILE_MODE)
        .open(database)
        .with_context(|| format!("cannot create {}", database.display()))?;
    Ok(())
}

/// Sets the database file and its `-wal`/`-shm`/`-journal` files, where present, to 0600.
pub fn restrict_database(database: &Path) -> anyhow::Result<()> {
    for path in companions(database) {
        match fs::metadata(&path) {
            Ok(_) => set_mode(&path, FILE_MODE)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }
    Ok(())
}

fn companions(database: &Path) -> Vec<PathBuf> {
    let mut paths = vec![database.to_path_buf()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = database.as_os_str().to_os_string();
        name.push(suffix);
        paths.push(PathBuf::from(name));
    }
    paths
}

fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {} to {mode:o}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn tightens_existing_modes() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        fs::create_dir(&data).unwrap();
        set_mode(&data, 0o755).unwrap();
        let db = data.join("paas.db");
        for path in [db.clone(), data.join("paas.db-wal")] {
            fs::write(&path, b"x").unwrap();
            set_mode(&path, 0o644).unwrap();
        }
        restrict_dir(&data).unwrap();
        create_private(&db).unwrap();
        restrict_database(&db).unwrap();
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&data.join("paas.db-wal")), 0o600);
        assert_eq!(fs::read(&db).unwrap(), b"x", "an existing file is kept");
    }

    #[test]
    fn creates_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("sub").join("new.db");
        create_private(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
    }
}
