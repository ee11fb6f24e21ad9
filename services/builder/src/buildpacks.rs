//! The built-in buildpacks (the repo's `buildpacks/` folder, embedded at compile time) and the
//! driver script that runs them inside a build container.

use crate::slug::TarWriter;
use include_dir::{include_dir, Dir, DirEntry};

static BUILDPACKS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../buildpacks");

/// Runs as root in the build container: prepares ownership, then runs the buildpack's compile
/// and release steps as the unprivileged `app` user.
const DRIVER: &str = include_str!("driver.sh");

/// Detection order of the built-in buildpacks: folders under `buildpacks/`. Compiled
/// ecosystems come before a generic `package.json` (design.md §3); a folder that does not
/// exist (yet) is skipped. A Dockerfile comes after every language buildpack but before the
/// Procfile-only one (which claims any repo with a Procfile), so a Dockerfile app with a
/// Procfile is built from its Dockerfile.
pub const BUILTIN_ORDER: &[&str] = &[
    "ruby",
    "go",
    "rust",
    "php",
    "python",
    "nodejs",
    "static",
    "dockerfile",
    "procfile",
];

/// The built-in folder whose detection means "build from the Dockerfile".
pub const DOCKERFILE_BUILDPACK: &str = "dockerfile";

/// Where the built-in buildpacks are extracted in a build container.
pub const BUILDPACKS_ROOT: &str = "/buildpacks";

/// The folders of [`BUILTIN_ORDER`] that exist, in order.
pub fn builtin_available() -> Vec<&'static str> {
    BUILTIN_ORDER
        .iter()
        .copied()
        .filter(|name| BUILDPACKS.get_file(format!("{name}/bin/detect")).is_some())
        .collect()
}

/// The build driver script (`/buildpacks/.driver` in a build container).
pub fn driver_script() -> &'static str {
    DRIVER
}

/// A tar archive holding `buildpacks/<name>/...` for every built-in buildpack plus
/// `buildpacks/.driver`, to be extracted at `/` in a build container.
pub fn builtin_buildpacks_tar() -> std::io::Result<Vec<u8>> {
    let mut tar = TarWriter::new();
    tar.dir("buildpacks/")?;
    tar.file("buildpacks/.driver", 0o755, DRIVER.as_bytes())?;
    add_dir(&mut tar, &BUILDPACKS)?;
    tar.finish()
}

fn add_dir(tar: &mut TarWriter, dir: &Dir<'_>) -> std::io::Result<()> {
    for entry in dir.entries() {
        let path = format!("buildpacks/{}", entry.path().display());
        match entry {
            DirEntry::Dir(sub) => {
                tar.dir(&format!("{path}/"))?;
                add_dir(tar, sub)?;
            }
            DirEntry::File(file) => {
                let in_bin = file
                    .path()
                    .parent()
                    .and_then(|p| p.file_name())
                    .is_some_and(|n| n == "bin");
                let mode = if in_bin { 0o755 } else { 0o644 };
                tar.file(&path, mode, file.contents())?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_holds_every_builtin_with_executable_bins() {
        let data = builtin_buildpacks_tar().unwrap();
        let entries = crate::slug::tar_entries(data.as_slice());
        assert!(builtin_available().contains(&"python"));
        for bp in builtin_available() {
            for step in ["detect", "compile", "release"] {
                let path = format!("buildpacks/{bp}/bin/{step}");
                let mode = entries.iter().find(|(p, _)| *p == path).map(|(_, m)| *m);
                assert_eq!(mode, Some(0o755), "{path}");
            }
        }
    }
}
