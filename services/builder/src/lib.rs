//! The builder turns a pushed commit into a release image. It checks the commit out with
//! git2, reads its Procfile and buildpack choices with pure functions over the checked-out
//! directory, runs the buildpacks' `bin/detect` and `bin/compile` in a container of the build
//! stack (`driver.sh`),
//! and lays the compiled app (the slug) on the run stack as a new image. It knows nothing of
//! routes, releases or the store.

mod buildpacks;
mod checkout;
mod dockerfile;
mod error;
mod pipeline;
mod plan;
mod release_yaml;
mod repo;
mod slug;
mod sources;

pub use buildpacks::{
    builtin_available, builtin_buildpacks_tar, driver_script, BUILTIN_ORDER, DOCKERFILE_BUILDPACK,
};
pub use checkout::checkout;
pub use dockerfile::DOCKERFILE;
pub use error::BuildError;
pub use pipeline::{BuildOutput, BuildRequest, Builder, BuilderConfig, DetectRequest, Detected};
pub use plan::{parse_buildpacks_file, plan, BuildPlan, PlanError};
pub use release_yaml::parse_default_process_types;
pub use repo::{branch_head, head_commit, init_app_repo, set_default_branch};
pub use slug::human_size;
pub use sources::{split_ref, valid_buildpack_spec, BuildpackSource};
