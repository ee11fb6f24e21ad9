//! The builder turns a pushed commit into a release image. It checks the commit out with
//! git2, plans the build (which buildpack, which process types) with pure functions over the
//! checked-out directory, runs the buildpack's `bin/compile` in a container of the build stack,
//! and lays the compiled app (the slug) on the run stack as a new image. It knows nothing of
//! routes, releases or the store.

mod buildpacks;
mod checkout;
mod error;
mod pipeline;
mod plan;
mod release_yaml;
mod repo;
mod slug;

pub use buildpacks::{builtin_buildpacks_tar, BUILTIN_ORDER};
pub use checkout::checkout;
pub use error::BuildError;
pub use pipeline::{BuildOutput, BuildRequest, Builder, BuilderConfig};
pub use plan::{plan, BuildPlan, Buildpack, PlanError};
pub use release_yaml::parse_default_process_types;
pub use repo::{branch_head, init_app_repo, set_default_branch};
pub use slug::human_size;
