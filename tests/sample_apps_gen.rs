// Shared by the build scripts that generate one test per sample app folder
// (services/builder/build.rs: detection; tests/build.rs: deploys), through `include!`.

/// The sample app folders in `apps`, sorted.
fn sample_app_names(apps: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(apps)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Rust source with one `#[test] fn sample_<name><suffix>() { <call>("<name>"); }` per
/// folder, and `GENERATED_SAMPLES` listing them, written to `$OUT_DIR/<file>`.
fn write_sample_tests(names: &[String], suffix: &str, call: &str, file: &str) {
    use std::fmt::Write;
    let mut code = String::new();
    for name in names {
        let ident: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        writeln!(
            code,
            "#[test]\nfn sample_{ident}{suffix}() {{\n    {call}({name:?});\n}}\n"
        )
        .expect("write to a String");
    }
    writeln!(code, "const GENERATED_SAMPLES: &[&str] = &{names:?};").expect("write to a String");
    let out = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join(file);
    std::fs::write(out, code).expect("write generated tests");
}
