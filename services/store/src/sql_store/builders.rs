//! How an app is built (`paas builder:set dockerfile|buildpacks`): one row per app that
//! forced it; none when detection decides.

use super::app_settings::AppSetting;
use super::SqlStore;
use crate::Result;
use paas_domain::BuildMethod;
use uuid::Uuid;

const BUILDERS: AppSetting = AppSetting {
    table: "app_builders",
    column: "method",
    noun: "builder",
};

pub(super) async fn app_build_method(db: &SqlStore, app_id: Uuid) -> Result<Option<BuildMethod>> {
    BUILDERS.get(db, app_id, BuildMethod::parse).await
}

/// Sets (or, with `None`, clears) the app's build method, in one transaction.
pub(super) async fn set_app_build_method(
    db: &SqlStore,
    app_id: Uuid,
    method: Option<BuildMethod>,
) -> Result<()> {
    BUILDERS
        .set(db, app_id, method.map(BuildMethod::as_str))
        .await
}
