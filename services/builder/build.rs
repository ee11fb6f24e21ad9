//! Generates one detection test per sample app folder in `tests/apps/` (see tests/detect.rs),
//! so a new folder gets its test without anyone writing it. Also rebuilds the crate when the
//! built-in buildpacks (embedded with include_dir) change.

use std::path::Path;

include!("../../tests/sample_apps_gen.rs");

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest).join("../..");
    let apps = root.join("tests/apps");
    println!("cargo:rerun-if-changed={}", apps.display());
    println!(
        "cargo:rerun-if-changed={}",
        root.join("buildpacks").display()
    );
    write_sample_tests(
        &sample_app_names(&apps),
        "",
        "check_sample",
        "sample_apps.rs",
    );
}
