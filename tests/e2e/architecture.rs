//! The crate dependency rules of ARCHITECTURE.md, checked from `cargo metadata`: only `runtime`
//! depends on bollard, only `store` on sqlx, only `builder` on git2; `domain` depends on no IO
//! crate; `cli` depends on none of store, runtime or builder; the router on neither Docker nor
//! SQL. Each rule is checked on the workspace's direct normal dependencies.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Workspace package name -> its direct (non-dev) dependency names.
fn workspace_dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(paas_e2e::workspace())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let mut deps = BTreeMap::new();
    for package in metadata["packages"].as_array().expect("packages") {
        let name = package["name"].as_str().expect("name").to_string();
        let names: BTreeSet<String> = package["dependencies"]
            .as_array()
            .expect("dependencies")
            .iter()
            .filter(|d| d["kind"].is_null())
            .map(|d| d["name"].as_str().expect("dependency name").to_string())
            .collect();
        deps.insert(name, names);
    }
    deps
}

/// Crates that depend on `dependency`, among the workspace's.
fn users_of(deps: &BTreeMap<String, BTreeSet<String>>, dependency: &str) -> Vec<String> {
    deps.iter()
        .filter(|(_, d)| d.contains(dependency))
        .map(|(name, _)| name.clone())
        .collect()
}

#[test]
fn only_the_boundary_crates_import_their_libraries() {
    let deps = workspace_dependencies();
    assert!(deps.contains_key("paas-runtime"), "{deps:?}");
    assert_eq!(users_of(&deps, "bollard"), ["paas-runtime"]);
    assert_eq!(users_of(&deps, "sqlx"), ["paas-store"]);
    assert_eq!(users_of(&deps, "git2"), ["paas-builder"]);
}

#[test]
fn domain_does_no_io_and_cli_and_router_stay_off_the_boundaries() {
    let deps = workspace_dependencies();
    let io = [
        "tokio", "sqlx", "bollard", "git2", "reqwest", "hyper", "axum",
    ];
    let domain = &deps["paas-domain"];
    for crate_name in io {
        assert!(
            !domain.contains(crate_name),
            "domain depends on {crate_name}"
        );
    }
    let cli = &deps["paas-cli"];
    for crate_name in [
        "paas-store",
        "paas-runtime",
        "paas-builder",
        "paas-scheduler",
    ] {
        assert!(!cli.contains(crate_name), "cli depends on {crate_name}");
    }
    let router = &deps["paas-router"];
    for crate_name in ["paas-store", "paas-runtime", "bollard", "sqlx"] {
        assert!(
            !router.contains(crate_name),
            "router depends on {crate_name}"
        );
    }
}
