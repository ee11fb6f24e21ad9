//! Pure types and rules of paas: what an app name, a Procfile, a release version or a
//! formation is, and the JSON shapes the API and the CLI exchange. No IO, no async.

pub mod api;
pub mod app_name;
pub mod build_method;
pub mod builds;
pub mod config_vars;
pub mod email;
pub mod formation;
pub mod healthcheck;
pub mod hostname;
pub mod process_size;
pub mod procfile;
pub mod release;
pub mod run;
pub mod scheduler_kind;
pub mod telemetry;

pub use app_name::{AppName, AppNameError};
pub use build_method::{BuildMethod, BuildMethodError, PORT_LABEL};
pub use email::{Email, EmailError};
pub use formation::Formation;
pub use healthcheck::{HealthCheck, HealthCheckError, HEALTHCHECK_LABEL};
pub use hostname::{Hostname, HostnameError};
pub use process_size::{ProcessSize, ProcessSizeError};
pub use procfile::{Procfile, ProcfileError};
pub use release::{ReleaseVersion, ReleaseVersionError};
pub use scheduler_kind::{SchedulerKind, SchedulerKindError};
