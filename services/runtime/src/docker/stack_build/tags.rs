//! Stack image tags derived from the configuration: `paas/base:<suite>`,
//! `paas/stack-run:<suite>-<hash>` and `paas/stack-build:<suite>-<hash>`, where the hashes cover
//! the suite, the package lists (order and duplicates ignored) and the recipe version.

use crate::stacks::{StackConfig, StackImages};
use sha2::{Digest, Sha256};

/// Bump when the stack scripts change in a way that should rebuild existing stacks.
const RECIPE_VERSION: &str = "paas-stack-recipe-1";

pub(crate) fn stack_images(config: &StackConfig) -> StackImages {
    let suite = config.suite.trim();
    let run = normalized(&config.run_packages);
    let build = normalized(&config.build_packages);
    let run_hash = short_hash(
        [RECIPE_VERSION, "run", suite]
            .into_iter()
            .chain(run.iter().map(String::as_str)),
    );
    let build_hash = short_hash(
        [RECIPE_VERSION, "build", suite, "run-packages"]
            .into_iter()
            .chain(run.iter().map(String::as_str))
            .chain(["build-packages"])
            .chain(build.iter().map(String::as_str)),
    );
    StackImages {
        base: format!("paas/base:{suite}"),
        run: format!("paas/stack-run:{suite}-{run_hash}"),
        build: format!("paas/stack-build:{suite}-{build_hash}"),
    }
}

/// Sorted, deduplicated, trimmed, without empty entries.
pub(crate) fn normalized(packages: &[String]) -> Vec<String> {
    let mut out: Vec<String> = packages
        .iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

fn short_hash<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hex::encode(&hasher.finalize()[..6])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(run: &[&str], build: &[&str]) -> StackConfig {
        StackConfig {
            run_packages: run.iter().map(|s| s.to_string()).collect(),
            build_packages: build.iter().map(|s| s.to_string()).collect(),
            ..StackConfig::default()
        }
    }

    #[test]
    fn tags_encode_the_package_lists() {
        let a = stack_images(&config(&["python3", "ca-certificates"], &["git"]));
        assert_eq!(a.base, "paas/base:bookworm");
        assert!(a.run.starts_with("paas/stack-run:bookworm-"), "{}", a.run);
        assert!(
            a.build.starts_with("paas/stack-build:bookworm-"),
            "{}",
            a.build
        );
        assert_eq!(a.run.len(), "paas/stack-run:bookworm-".len() + 12);

        // Order and duplicates do not matter.
        let same = stack_images(&config(
            &["ca-certificates", "python3", "python3"],
            &["git"],
        ));
        assert_eq!(a, same);

        // A changed run list changes both stacks; a changed build list only the build stack.
        let run_changed = stack_images(&config(&["python3"], &["git"]));
        assert_ne!(a.run, run_changed.run);
        assert_ne!(a.build, run_changed.build);
        let build_changed = stack_images(&config(&["python3", "ca-certificates"], &["curl"]));
        assert_eq!(a.run, build_changed.run);
        assert_ne!(a.build, build_changed.build);

        // Moving a package from one list to the other changes the build stack.
        let moved = stack_images(&config(&["python3"], &["ca-certificates", "git"]));
        assert_ne!(a.build, moved.build);
    }
}
