//! Building API representations from stored rows.

use crate::error::ApiError;
use crate::state::ApiState;
use axum::http::HeaderMap;
use paas_domain::api::AppInfo;
use paas_store::App;

/// Now, in unix milliseconds.
pub fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// Unix milliseconds as RFC 3339 (UTC, second precision).
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), after Howard Hinnant's algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Base URL of the platform as the client reached it (or as configured).
pub fn platform_url(state: &ApiState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{proto}://{host}")
}

pub async fn app_info(
    state: &ApiState,
    app: &App,
    headers: &HeaderMap,
) -> Result<AppInfo, ApiError> {
    let owner = state
        .store
        .user_by_id(app.owner_id)
        .await?
        .map(|u| u.email)
        .unwrap_or_default();
    let release = match app.current_release_id {
        Some(id) => state
            .store
            .release_by_id(id)
            .await?
            .map(|r| format!("v{}", r.version)),
        None => None,
    };
    let formation = state.store.formation(app.id).await?;
    Ok(AppInfo {
        name: app.name.clone(),
        owner,
        web_url: state.config.web_url(&app.name),
        git_url: format!("{}/{}.git", platform_url(state, headers), app.name),
        created_at: rfc3339(app.created_at),
        release,
        formation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_532_026_000), "2026-11-24T14:53:46Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
    }
}
