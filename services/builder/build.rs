//! Generates one detection test per sample app folder in `tests/apps/` (see tests/detect.rs),
//! so a new folder gets its test without anyone writing it. Also rebuilds the crate when the
//! built-in buildpacks (embedded with include_dir) change.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest).join("../..");
    let apps = root.join("tests/apps");
    println!("cargo:rerun-if-changed={}", apps.display());
    println!(
        "cargo:rerun-if-changed={}",
        root.join("buildpacks").display()
    );
    let mut names: Vec<String> = std::fs::read_dir(&apps)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut code = String::new();
    for name in &names {
        let ident: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        writeln!(
            code,
            "#[test]\nfn sample_{ident}() {{\n    check_sample({name:?});\n}}\n"
        )
        .expect("write to a String");
    }
    writeln!(code, "const GENERATED_SAMPLES: &[&str] = &{names:?};").expect("write to a String");
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("sample_apps.rs");
    std::fs::write(out, code).expect("write generated tests");
}
