//! `SqlStore`: the `Store` on SQLite or PostgreSQL through sqlx's `Any` driver. This file holds
//! the handle and the trait impl, which only dispatches to the per-area modules below; connecting
//! and migrating live in `connect`.

mod accounts;
mod app_settings;
mod apps;
mod builders;
mod buildpacks;
mod builds;
mod changes;
mod codec;
mod connect;
mod drains;
mod numbering;
mod pushes;
mod releases;
mod routing;
mod schedulers;
mod sizes;
mod tokens;

use crate::{
    ApiToken, App, Build, BuildStatus, DrainKind, NewRelease, NewToken, PendingPush, PushRelease,
    Release, ReleaseChange, ReleaseStatus, Result, Store, User,
};
use async_trait::async_trait;
use paas_domain::{AppName, BuildMethod, Email, Formation, ProcessSize, SchedulerKind};
use sqlx::{Any, AnyPool, Transaction};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Which database is behind the `Any` pool; only connecting and transactions care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// The SQL implementation of [`Store`]. Cheap to clone (the pool is shared).
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
}

impl SqlStore {
    /// Closes the pool: waits for checked-out connections to come back and closes them all.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`, waiting up to the busy timeout) so that a transaction that reads before
    /// it writes cannot fail with `SQLITE_BUSY` when another connection committed in between.
    async fn begin_write(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn setting(&self, key: &str) -> Result<Option<String>> {
        accounts::setting(self, key).await
    }

    async fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        accounts::put_setting(self, key, value).await
    }

    async fn count_users(&self) -> Result<i64> {
        accounts::count_users(self).await
    }

    async fn create_user(&self, email: &Email, password_hash: &str, admin: bool) -> Result<User> {
        accounts::create_user(self, email, password_hash, admin).await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>> {
        accounts::user_by_email(self, email).await
    }

    async fn user_by_id(&self, id: Uuid) -> Result<Option<User>> {
        accounts::user_by_id(self, id).await
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        accounts::list_users(self).await
    }

    async fn delete_user(&self, id: Uuid) -> Result<()> {
        accounts::delete_user(self, id).await
    }

    async fn create_token(&self, new: NewToken) -> Result<ApiToken> {
        tokens::create_token(self, new).await
    }

    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<(ApiToken, User)>> {
        tokens::token_by_hash(self, token_hash).await
    }

    async fn list_tokens(&self, user_id: Uuid) -> Result<Vec<ApiToken>> {
        tokens::list_tokens(self, user_id).await
    }

    async fn delete_token(&self, user_id: Uuid, token_id: Uuid) -> Result<bool> {
        tokens::delete_token(self, user_id, token_id).await
    }

    async fn touch_token(&self, token_id: Uuid, at: i64) -> Result<()> {
        tokens::touch_token(self, token_id, at).await
    }

    async fn delete_expired_tokens(&self, now: i64) -> Result<u64> {
        tokens::delete_expired_tokens(self, now).await
    }

    async fn create_app(&self, name: &AppName, owner_id: Uuid) -> Result<App> {
        apps::create_app(self, name, owner_id).await
    }

    async fn app_by_name(&self, name: &AppName) -> Result<Option<App>> {
        apps::app_by_name(self, name).await
    }

    async fn list_apps(&self) -> Result<Vec<App>> {
        apps::list_apps(self).await
    }

    async fn list_apps_for_user(&self, user_id: Uuid) -> Result<Vec<App>> {
        apps::list_apps_for_user(self, user_id).await
    }

    async fn delete_app(&self, app_id: Uuid) -> Result<()> {
        apps::delete_app(self, app_id).await
    }

    async fn add_collaborator(&self, app_id: Uuid, user_id: Uuid) -> Result<()> {
        apps::add_collaborator(self, app_id, user_id).await
    }

    async fn remove_collaborator(&self, app_id: Uuid, user_id: Uuid) -> Result<bool> {
        apps::remove_collaborator(self, app_id, user_id).await
    }

    async fn list_collaborators(&self, app_id: Uuid) -> Result<Vec<User>> {
        apps::list_collaborators(self, app_id).await
    }

    async fn is_collaborator(&self, app_id: Uuid, user_id: Uuid) -> Result<bool> {
        apps::is_collaborator(self, app_id, user_id).await
    }

    async fn create_build(&self, app_id: Uuid, user_id: Uuid, commit: &str) -> Result<Build> {
        builds::create_build(self, app_id, user_id, commit).await
    }

    async fn finish_build(
        &self,
        build_id: Uuid,
        status: BuildStatus,
        release_id: Option<Uuid>,
    ) -> Result<()> {
        builds::finish_build(self, build_id, status, release_id).await
    }

    async fn fail_pending_builds(&self) -> Result<u64> {
        builds::fail_pending_builds(self).await
    }

    async fn list_builds(&self, app_id: Uuid) -> Result<Vec<Build>> {
        builds::list_builds(self, app_id).await
    }

    async fn create_release(&self, new: NewRelease) -> Result<Release> {
        releases::create_release(self, new).await
    }

    async fn set_release_status(&self, release_id: Uuid, status: ReleaseStatus) -> Result<()> {
        releases::set_release_status(self, release_id, status).await
    }

    async fn set_current_release(&self, app_id: Uuid, release_id: Option<Uuid>) -> Result<()> {
        releases::set_current_release(self, app_id, release_id).await
    }

    async fn release_by_id(&self, release_id: Uuid) -> Result<Option<Release>> {
        releases::release_by_id(self, release_id).await
    }

    async fn list_releases(&self, app_id: Uuid) -> Result<Vec<Release>> {
        releases::list_releases(self, app_id).await
    }

    async fn change_release(
        &self,
        app_id: Uuid,
        user_id: Option<Uuid>,
        change: ReleaseChange,
    ) -> Result<Release> {
        changes::change_release(self, app_id, user_id, change).await
    }

    async fn record_push_release(&self, push: PushRelease) -> Result<Release> {
        pushes::record_push_release(self, push).await
    }

    async fn pending_pushes(&self) -> Result<Vec<PendingPush>> {
        pushes::pending_pushes(self).await
    }

    async fn pending_push(&self, build_id: Uuid) -> Result<Option<PendingPush>> {
        pushes::pending_push(self, build_id).await
    }

    async fn settle_push(&self, build_id: Uuid, ref_moved: bool) -> Result<()> {
        pushes::settle_push(self, build_id, ref_moved).await
    }

    async fn process_sizes(&self, app_id: Uuid) -> Result<BTreeMap<String, ProcessSize>> {
        sizes::process_sizes(self, app_id).await
    }

    async fn set_process_sizes(
        &self,
        app_id: Uuid,
        sizes: &BTreeMap<String, ProcessSize>,
    ) -> Result<()> {
        sizes::set_process_sizes(self, app_id, sizes).await
    }

    async fn restart_generations(&self, app_id: Uuid) -> Result<BTreeMap<String, u64>> {
        sizes::restart_generations(self, app_id).await
    }

    async fn bump_restarts(&self, app_id: Uuid, types: &[String]) -> Result<()> {
        sizes::bump_restarts(self, app_id, types).await
    }

    async fn app_buildpacks(&self, app_id: Uuid) -> Result<Vec<String>> {
        buildpacks::app_buildpacks(self, app_id).await
    }

    async fn set_app_buildpacks(&self, app_id: Uuid, urls: &[String]) -> Result<()> {
        buildpacks::set_app_buildpacks(self, app_id, urls).await
    }

    async fn add_app_buildpack(&self, app_id: Uuid, url: &str) -> Result<Vec<String>> {
        buildpacks::add_app_buildpack(self, app_id, url).await
    }

    async fn app_build_method(&self, app_id: Uuid) -> Result<Option<BuildMethod>> {
        builders::app_build_method(self, app_id).await
    }

    async fn set_app_build_method(&self, app_id: Uuid, method: Option<BuildMethod>) -> Result<()> {
        builders::set_app_build_method(self, app_id, method).await
    }

    async fn app_scheduler(&self, app_id: Uuid) -> Result<Option<SchedulerKind>> {
        schedulers::app_scheduler(self, app_id).await
    }

    async fn set_app_scheduler(&self, app_id: Uuid, kind: Option<SchedulerKind>) -> Result<()> {
        schedulers::set_app_scheduler(self, app_id, kind).await
    }

    async fn all_app_schedulers(&self) -> Result<Vec<(Uuid, SchedulerKind)>> {
        schedulers::all_app_schedulers(self).await
    }

    async fn domains(&self, app_id: Uuid) -> Result<Vec<String>> {
        routing::domains(self, app_id).await
    }

    async fn all_domains(&self) -> Result<Vec<(String, Uuid)>> {
        routing::all_domains(self).await
    }

    async fn add_domain(&self, app_id: Uuid, hostname: &str) -> Result<()> {
        routing::add_domain(self, app_id, hostname).await
    }

    async fn remove_domain(&self, app_id: Uuid, hostname: &str) -> Result<()> {
        routing::remove_domain(self, app_id, hostname).await
    }

    async fn maintenance(&self, app_id: Uuid) -> Result<Option<Option<String>>> {
        routing::maintenance(self, app_id).await
    }

    async fn all_maintenance(&self) -> Result<Vec<(Uuid, Option<String>)>> {
        routing::all_maintenance(self).await
    }

    async fn set_maintenance(&self, app_id: Uuid, on: Option<Option<&str>>) -> Result<()> {
        routing::set_maintenance(self, app_id, on).await
    }

    async fn drains(&self, app_id: Uuid, kind: DrainKind) -> Result<Vec<String>> {
        drains::drains(self, app_id, kind).await
    }

    async fn all_drains(&self) -> Result<Vec<(String, DrainKind, String)>> {
        drains::all_drains(self).await
    }

    async fn add_drain(&self, app_id: Uuid, kind: DrainKind, url: &str) -> Result<()> {
        drains::add_drain(self, app_id, kind, url).await
    }

    async fn remove_drain(&self, app_id: Uuid, kind: DrainKind, url: &str) -> Result<()> {
        drains::remove_drain(self, app_id, kind, url).await
    }

    async fn formation(&self, app_id: Uuid) -> Result<Formation> {
        apps::formation(self, app_id).await
    }

    async fn set_formation(&self, app_id: Uuid, formation: &Formation) -> Result<()> {
        apps::set_formation(self, app_id, formation).await
    }
}
