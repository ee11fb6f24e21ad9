//! Where an app's processes run (`paas scheduler:set docker|swarm`): one row per app that
//! chose it; none when the platform's default applies.

use super::app_settings::AppSetting;
use super::SqlStore;
use crate::Result;
use paas_domain::SchedulerKind;
use uuid::Uuid;

const SCHEDULERS: AppSetting = AppSetting {
    table: "app_schedulers",
    column: "scheduler",
    noun: "scheduler",
};

pub(super) async fn app_scheduler(db: &SqlStore, app_id: Uuid) -> Result<Option<SchedulerKind>> {
    SCHEDULERS.get(db, app_id, SchedulerKind::parse).await
}

/// Every app that chose its scheduler, by app id.
pub(super) async fn all_app_schedulers(db: &SqlStore) -> Result<Vec<(Uuid, SchedulerKind)>> {
    SCHEDULERS.all(db, SchedulerKind::parse).await
}

/// Sets (or, with `None`, clears) the app's scheduler, in one transaction.
pub(super) async fn set_app_scheduler(
    db: &SqlStore,
    app_id: Uuid,
    kind: Option<SchedulerKind>,
) -> Result<()> {
    SCHEDULERS
        .set(db, app_id, kind.map(SchedulerKind::as_str))
        .await
}
