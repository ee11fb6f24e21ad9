//! Tar archives going into and out of build containers, and slug sizes.

use std::io::Read;

/// The unprivileged user apps and buildpacks run as inside containers.
pub const APP_UID: u64 = 1000;

/// Builds a tar archive (in memory by default, or into any writer such as a file); every
/// entry is owned by the app user.
pub struct TarWriter<W: std::io::Write = Vec<u8>> {
    inner: tar::Builder<W>,
}

impl TarWriter {
    pub fn new() -> Self {
        Self::to_writer(Vec::new())
    }
}

impl<W: std::io::Write> TarWriter<W> {
    pub fn to_writer(writer: W) -> Self {
        Self {
            inner: tar::Builder::new(writer),
        }
    }

    fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_uid(APP_UID);
        header.set_gid(APP_UID);
        header.set_size(size);
        header.set_mtime(0);
        header
    }

    pub fn dir(&mut self, path: &str) -> std::io::Result<()> {
        let mut header = Self::header(tar::EntryType::Directory, 0o755, 0);
        self.inner.append_data(&mut header, path, std::io::empty())
    }

    pub fn file(&mut self, path: &str, mode: u32, data: &[u8]) -> std::io::Result<()> {
        let mut header = Self::header(tar::EntryType::Regular, mode, data.len() as u64);
        self.inner.append_data(&mut header, path, data)
    }

    pub fn symlink(&mut self, path: &str, target: &str) -> std::io::Result<()> {
        let mut header = Self::header(tar::EntryType::Symlink, 0o777, 0);
        self.inner.append_link(&mut header, path, target)
    }

    /// Adds the host directory `dir` under `prefix` (e.g. `buildpacks/.ext/0`), recursively:
    /// regular files with their permission bits, symlinks as links, `.git` folders skipped.
    /// Files are streamed from disk.
    pub fn host_dir(&mut self, prefix: &str, dir: &std::path::Path) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        self.dir(&format!("{prefix}/"))?;
        let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name();
            if name == ".git" {
                continue;
            }
            let path = format!("{prefix}/{}", name.to_string_lossy());
            let meta = std::fs::symlink_metadata(entry.path())?;
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(entry.path())?;
                self.symlink(&path, &target.to_string_lossy())?;
            } else if meta.is_dir() {
                self.host_dir(&path, &entry.path())?;
            } else if meta.is_file() {
                let mode = meta.permissions().mode() & 0o777;
                let mut header = Self::header(tar::EntryType::Regular, mode, meta.len());
                let file = std::fs::File::open(entry.path())?;
                self.inner.append_data(&mut header, &path, file)?;
            }
        }
        Ok(())
    }

    pub fn finish(self) -> std::io::Result<W> {
        self.inner.into_inner()
    }
}

impl Default for TarWriter {
    fn default() -> Self {
        Self::new()
    }
}

/// Total size of the regular files in a tar archive.
pub fn tar_content_size(archive: impl Read) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in tar::Archive::new(archive).entries()? {
        let entry = entry?;
        if entry.header().entry_type().is_file() {
            total += entry.header().size()?;
        }
    }
    Ok(total)
}

/// The contents of the first regular file in a tar archive (as `download_tar` of one file).
pub fn first_file(archive: &[u8]) -> std::io::Result<Vec<u8>> {
    for entry in tar::Archive::new(archive).entries()? {
        let mut entry = entry?;
        if entry.header().entry_type().is_file() {
            let mut data = Vec::new();
            entry.read_to_end(&mut data)?;
            return Ok(data);
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        "archive holds no file",
    ))
}

/// Sizes the way Heroku prints slug sizes: `24.1M`, `512K`.
pub fn human_size(bytes: u64) -> String {
    const K: f64 = 1024.0;
    let b = bytes as f64;
    if b >= K * K * K {
        format!("{:.1}G", b / (K * K * K))
    } else if b >= K * K {
        format!("{:.1}M", b / (K * K))
    } else if b >= K {
        format!("{:.0}K", b / K)
    } else {
        format!("{bytes}B")
    }
}

/// Path and mode of every entry of a tar archive, in order (for tests).
#[cfg(test)]
pub(crate) fn tar_entries(archive: impl std::io::Read) -> Vec<(String, u32)> {
    tar::Archive::new(archive)
        .entries()
        .expect("a tar archive")
        .map(|e| {
            let e = e.expect("a tar entry");
            let path = e.path().expect("an entry path").display().to_string();
            (path, e.header().mode().expect("an entry mode"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human_size(512), "512B");
        assert_eq!(human_size(2048), "2K");
        assert_eq!(human_size(25_270_000), "24.1M");
    }

    #[test]
    fn tar_round_trip() {
        let mut w = TarWriter::new();
        w.dir("app/").unwrap();
        w.file("app/a.txt", 0o644, b"hello").unwrap();
        w.symlink("app/link", "a.txt").unwrap();
        let data = w.finish().unwrap();
        assert_eq!(tar_content_size(&data[..]).unwrap(), 5);
        assert_eq!(first_file(&data).unwrap(), b"hello");
    }

    #[test]
    fn host_dir_keeps_modes_and_skips_git() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("bin")).unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join(".git/HEAD"), "x").unwrap();
        std::fs::write(dir.path().join("bin/compile"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(
            dir.path().join("bin/compile"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        let mut w = TarWriter::new();
        w.host_dir("bp", dir.path()).unwrap();
        let data = w.finish().unwrap();
        let entries = tar_entries(data.as_slice());
        assert!(entries.contains(&("bp/bin/compile".to_string(), 0o755)));
        assert!(!entries.iter().any(|(p, _)| p.contains(".git")));
    }
}
