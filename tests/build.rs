//! Generates one end-to-end test per sample app folder in `tests/apps/` (see e2e/samples.rs),
//! so a new folder gets its deploy test without anyone writing it.

use std::path::Path;

include!("sample_apps_gen.rs");

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let apps = Path::new(&manifest).join("apps");
    println!("cargo:rerun-if-changed={}", apps.display());
    write_sample_tests(
        &sample_app_names(&apps),
        "_deploys_as_its_expectation_says",
        "deploy_sample",
        "sample_deploys.rs",
    );
}
