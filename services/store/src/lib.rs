//! The store: the only crate that speaks SQL. It keeps the platform's desired state (users,
//! API tokens, apps, collaborators, builds, releases, formation, settings) in SQLite by default
//! or PostgreSQL when the URL says `postgres://`. Migrations come from `/migrations`.

mod error;
mod models;
mod sql_store;

pub use error::StoreError;
pub use models::{
    ApiToken, App, Build, BuildStatus, DrainKind, NewRelease, NewToken, PendingPush, PushRelease,
    Release, ReleaseChange, ReleaseStatus, User,
};
pub use sql_store::SqlStore;

use async_trait::async_trait;
use paas_domain::{AppName, Email, Formation, ProcessSize};
use std::collections::BTreeMap;
use uuid::Uuid;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything the platform persists. `SqlStore` is the real implementation.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // --- settings (small key/value facts such as this instance's id)
    async fn setting(&self, key: &str) -> Result<Option<String>>;
    /// Insert or replace.
    async fn put_setting(&self, key: &str, value: &str) -> Result<()>;

    // --- users
    async fn count_users(&self) -> Result<i64>;
    /// `StoreError::Conflict` when the e-mail is taken.
    async fn create_user(&self, email: &Email, password_hash: &str, admin: bool) -> Result<User>;
    async fn user_by_email(&self, email: &Email) -> Result<Option<User>>;
    async fn user_by_id(&self, id: Uuid) -> Result<Option<User>>;
    /// Ordered by e-mail.
    async fn list_users(&self) -> Result<Vec<User>>;
    /// Deletes the user with their tokens and collaborations. `StoreError::Conflict` when the
    /// user still owns apps. `StoreError::NotFound` when there is no such user.
    async fn delete_user(&self, id: Uuid) -> Result<()>;

    // --- API tokens
    /// Stores a new API token by its hash (the token itself is never stored), with a new id.
    /// `StoreError::Conflict` when the hash is stored already, `StoreError::NotFound` when there
    /// is no such user.
    async fn create_token(&self, new: NewToken) -> Result<ApiToken>;
    /// The token with this hash and its user, expired or not (the caller decides what an
    /// expired token gets).
    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<(ApiToken, User)>>;
    /// The user's tokens, newest first, expired ones included.
    async fn list_tokens(&self, user_id: Uuid) -> Result<Vec<ApiToken>>;
    /// Deletes the token if it is the user's; returns whether one was deleted (another user's
    /// token is left alone and reported like a missing one).
    async fn delete_token(&self, user_id: Uuid, token_id: Uuid) -> Result<bool>;
    /// Records a use of the token at `at` (unix ms). Callers keep this rare (once a minute).
    async fn touch_token(&self, token_id: Uuid, at: i64) -> Result<()>;
    /// Deletes every token that expired before `now` (unix ms); returns how many.
    async fn delete_expired_tokens(&self, now: i64) -> Result<u64>;

    // --- apps and access
    /// `StoreError::Conflict` when the name is taken. The owner is not a collaborator row.
    /// `StoreError::NotFound` when there is no such owner.
    async fn create_app(&self, name: &AppName, owner_id: Uuid) -> Result<App>;
    async fn app_by_name(&self, name: &AppName) -> Result<Option<App>>;
    /// Every app, ordered by name (for the scheduler).
    async fn list_apps(&self) -> Result<Vec<App>>;
    /// Apps the user owns or collaborates on, ordered by name.
    async fn list_apps_for_user(&self, user_id: Uuid) -> Result<Vec<App>>;
    /// Deletes the app and everything that belongs to it (collaborators, builds, releases,
    /// formation). `StoreError::NotFound` when there is no such app.
    async fn delete_app(&self, app_id: Uuid) -> Result<()>;
    /// `StoreError::Conflict` when the user is already a collaborator. `StoreError::NotFound`
    /// when there is no such app or user.
    async fn add_collaborator(&self, app_id: Uuid, user_id: Uuid) -> Result<()>;
    /// Returns whether a row was removed.
    async fn remove_collaborator(&self, app_id: Uuid, user_id: Uuid) -> Result<bool>;
    /// Collaborators (not the owner), ordered by e-mail.
    async fn list_collaborators(&self, app_id: Uuid) -> Result<Vec<User>>;
    async fn is_collaborator(&self, app_id: Uuid, user_id: Uuid) -> Result<bool>;

    // --- builds
    /// A new build in status `Pending`. `StoreError::NotFound` when there is no such app.
    async fn create_build(&self, app_id: Uuid, user_id: Uuid, commit: &str) -> Result<Build>;
    /// Sets the build's status and release; `finished_at` becomes now (unless the status is
    /// `Pending`). `StoreError::NotFound` when there is no such build or release.
    async fn finish_build(
        &self,
        build_id: Uuid,
        status: BuildStatus,
        release_id: Option<Uuid>,
    ) -> Result<()>;
    /// Marks every `Pending` build `Failed` (builds interrupted by a restart); returns how many.
    async fn fail_pending_builds(&self) -> Result<u64>;
    /// Newest first.
    async fn list_builds(&self, app_id: Uuid) -> Result<Vec<Build>>;

    // --- releases
    /// Creates the app's next release (version = previous highest + 1, atomically) in status
    /// `Pending`. It does not become current until `set_current_release`.
    /// `StoreError::NotFound` when there is no such app (or user).
    async fn create_release(&self, new: NewRelease) -> Result<Release>;
    /// `StoreError::NotFound` when there is no such release.
    async fn set_release_status(&self, release_id: Uuid, status: ReleaseStatus) -> Result<()>;
    /// `StoreError::NotFound` when there is no such app or the release is not one of its own.
    async fn set_current_release(&self, app_id: Uuid, release_id: Option<Uuid>) -> Result<()>;
    async fn release_by_id(&self, release_id: Uuid) -> Result<Option<Release>>;
    /// Newest first.
    async fn list_releases(&self, app_id: Uuid) -> Result<Vec<Release>>;

    /// In one transaction: creates the app's next release from `change` applied to the current
    /// release and makes it current. A release without an image (config set before the first
    /// deploy) is `Succeeded` at once; others are `Pending` until their processes answer.
    /// `StoreError::NotFound` when there is no such app or rollback target,
    /// `StoreError::Invalid` for a bad config key or a rollback to a release without an image.
    async fn change_release(
        &self,
        app_id: Uuid,
        user_id: Option<Uuid>,
        change: ReleaseChange,
    ) -> Result<Release>;

    // --- pushes (release recorded, branch not yet known to have moved)
    /// In one transaction: creates the app's next release (`Pending`), marks the build
    /// `Succeeded` with it, sets `initial_formation` when the app has none, makes the release
    /// current and records the push as pending. `StoreError::NotFound` when there is no such
    /// app or build.
    async fn record_push_release(&self, push: PushRelease) -> Result<Release>;
    /// Every pending push, oldest first.
    async fn pending_pushes(&self) -> Result<Vec<PendingPush>>;
    async fn pending_push(&self, build_id: Uuid) -> Result<Option<PendingPush>>;
    /// In one transaction: when `ref_moved`, forgets the pending push (it is done); otherwise
    /// undoes it: the release and build become `Failed` and, if the release is still current,
    /// the previous release is current again. `StoreError::NotFound` when it is not pending.
    async fn settle_push(&self, build_id: Uuid, ref_moved: bool) -> Result<()>;

    // --- process sizes
    /// Process type -> memory and CPU limits set with `ps:resize`; types not listed use the
    /// platform's defaults.
    async fn process_sizes(&self, app_id: Uuid) -> Result<BTreeMap<String, ProcessSize>>;
    /// Sets the sizes of the given types (others keep theirs). `StoreError::NotFound` when
    /// there is no such app.
    async fn set_process_sizes(
        &self,
        app_id: Uuid,
        sizes: &BTreeMap<String, ProcessSize>,
    ) -> Result<()>;

    /// Process type -> how many times it was restarted (`paas restart`); absent = never.
    async fn restart_generations(&self, app_id: Uuid) -> Result<BTreeMap<String, u64>>;
    /// Raises the restart generation of each type by one. `StoreError::NotFound` when there is
    /// no such app.
    async fn bump_restarts(&self, app_id: Uuid, types: &[String]) -> Result<()>;

    // --- routing
    /// The app's custom domains, sorted.
    async fn domains(&self, app_id: Uuid) -> Result<Vec<String>>;
    /// Every custom domain with its app.
    async fn all_domains(&self) -> Result<Vec<(String, Uuid)>>;
    /// `StoreError::Conflict` when the host belongs to an app already, `NotFound` when there
    /// is no such app. The host must be normalised by the caller (`paas_domain::hostname`).
    async fn add_domain(&self, app_id: Uuid, hostname: &str) -> Result<()>;
    /// `StoreError::NotFound` when the app has no such domain.
    async fn remove_domain(&self, app_id: Uuid, hostname: &str) -> Result<()>;
    /// `Some(page URL, if any)` when the app is in maintenance mode.
    async fn maintenance(&self, app_id: Uuid) -> Result<Option<Option<String>>>;
    /// Every app in maintenance mode, with its page URL.
    async fn all_maintenance(&self) -> Result<Vec<(Uuid, Option<String>)>>;
    /// `Some(page URL)` turns maintenance mode on, `None` off. `StoreError::NotFound` when
    /// there is no such app.
    async fn set_maintenance(&self, app_id: Uuid, on: Option<Option<&str>>) -> Result<()>;

    // --- log drains and OTLP exports
    /// The app's drains of `kind`, in the order they were added. URLs may hold credentials:
    /// callers never log them.
    async fn drains(&self, app_id: Uuid, kind: DrainKind) -> Result<Vec<String>>;
    /// Every drain: (app name, kind, URL), by app, then kind (log before otlp), then in the
    /// order they were added (by URL within one millisecond).
    async fn all_drains(&self) -> Result<Vec<(String, DrainKind, String)>>;
    /// `StoreError::Conflict` when the app has this drain already, `NotFound` when there is
    /// no such app.
    async fn add_drain(&self, app_id: Uuid, kind: DrainKind, url: &str) -> Result<()>;
    /// `StoreError::NotFound` when the app has no such drain.
    async fn remove_drain(&self, app_id: Uuid, kind: DrainKind, url: &str) -> Result<()>;

    // --- buildpacks
    /// The buildpacks the app chose (`paas buildpacks:set`), in the order they run; empty
    /// when it chose none.
    async fn app_buildpacks(&self, app_id: Uuid) -> Result<Vec<String>>;
    /// Replaces the app's buildpack list (empty clears it). `StoreError::NotFound` when there
    /// is no such app.
    async fn set_app_buildpacks(&self, app_id: Uuid, urls: &[String]) -> Result<()>;
    /// Appends one buildpack to the app's list and returns the list. `StoreError::NotFound`
    /// when there is no such app.
    async fn add_app_buildpack(&self, app_id: Uuid, url: &str) -> Result<Vec<String>>;
    /// How the app is built when `paas builder:set` forced it; `None` when detection decides.
    async fn app_build_method(&self, app_id: Uuid) -> Result<Option<paas_domain::BuildMethod>>;
    /// Forces (or, with `None`, leaves to detection) how the app is built.
    /// `StoreError::NotFound` when there is no such app.
    async fn set_app_build_method(
        &self,
        app_id: Uuid,
        method: Option<paas_domain::BuildMethod>,
    ) -> Result<()>;

    // --- scheduler
    /// Where the app's processes run when `paas scheduler:set` chose it; `None` when the
    /// platform's default applies.
    async fn app_scheduler(&self, app_id: Uuid) -> Result<Option<paas_domain::SchedulerKind>>;
    /// Chooses (or, with `None`, leaves to the platform's default) where the app's processes
    /// run. `StoreError::NotFound` when there is no such app.
    async fn set_app_scheduler(
        &self,
        app_id: Uuid,
        kind: Option<paas_domain::SchedulerKind>,
    ) -> Result<()>;
    /// Every app that chose its scheduler, ordered by app id.
    async fn all_app_schedulers(&self) -> Result<Vec<(Uuid, paas_domain::SchedulerKind)>>;

    // --- formation
    /// Process type -> quantity; empty when never set.
    async fn formation(&self, app_id: Uuid) -> Result<Formation>;
    /// Replaces the whole formation of the app. `StoreError::NotFound` when there is no such app.
    async fn set_formation(&self, app_id: Uuid, formation: &Formation) -> Result<()>;
}
