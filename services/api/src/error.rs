//! API errors and the one place where they become HTTP statuses and JSON bodies.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use paas_domain::api::ErrorBody;
use paas_runtime::swarm::SwarmError;
use paas_scheduler::SchedulerError;
use paas_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Invalid credentials provided.")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("Your API token expired on {expired_at}. Run paas login to sign in again.")]
    TokenExpired { expired_at: String },
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    #[error("Too many sign-ins at once. Try again in a moment.")]
    Busy,
    #[error("Internal server error.")]
    Internal(String),
}

impl ApiError {
    pub fn app_not_found() -> Self {
        Self::NotFound("Couldn't find that app.".to_string())
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }

    pub(crate) fn status_and_id(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::TokenExpired { .. } => (StatusCode::UNAUTHORIZED, "token_expired"),
            Self::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limit"),
            Self::Busy => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_params"),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => Self::Conflict(format!("Already exists: {what}.")),
            StoreError::NotFound(what) => Self::NotFound(format!("Not found: {what}.")),
            StoreError::Invalid(why) => Self::Invalid(format!("{why}.")),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// The first letter upper-cased and a full stop at the end: how error lines read in the API.
pub(crate) fn sentence(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut chars = text.chars();
    let mut line: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !line.ends_with('.') {
        line.push('.');
    }
    line
}

impl From<SchedulerError> for ApiError {
    fn from(e: SchedulerError) -> Self {
        match e {
            SchedulerError::Store(e) => e.into(),
            SchedulerError::NoSwarm => Self::Conflict(sentence(&e.to_string())),
            SchedulerError::UnknownNode(_) => Self::NotFound(sentence(&e.to_string())),
            SchedulerError::Unsupported(why) => Self::BadRequest(sentence(&why)),
            // What the Swarm refused (a node it will not change, an engine that is no
            // manager) is said as it said it; an engine that cannot be reached is logged.
            SchedulerError::Swarm(SwarmError::NotAManager(why)) => Self::Conflict(sentence(&why)),
            SchedulerError::Swarm(SwarmError::NotFound(what)) => {
                Self::NotFound(sentence(&format!("not found in the Swarm: {what}")))
            }
            SchedulerError::Swarm(SwarmError::Conflict(why) | SwarmError::Engine(why)) => {
                Self::Conflict(sentence(&format!("the Swarm refused: {why}")))
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, id) = self.status_and_id();
        let retry_after = match &self {
            Self::TooManyRequests {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            Self::Busy => Some(1),
            _ => None,
        };
        if let Self::Internal(detail) = &self {
            tracing::error!("internal error: {detail}");
        }
        let body = ErrorBody {
            id: id.to_string(),
            message: self.to_string(),
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            // Lets git retry with the credentials from ~/.netrc.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"paas\""),
            );
        }
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(e: SchedulerError) -> (StatusCode, String) {
        let e = ApiError::from(e);
        (e.status_and_id().0, e.to_string())
    }

    #[test]
    fn scheduler_errors_are_one_line_with_their_status() {
        assert_eq!(
            answer(SchedulerError::NoSwarm),
            (
                StatusCode::CONFLICT,
                "This platform has no Swarm: start paasd with PAAS_SCHEDULER=swarm on a Swarm manager."
                    .to_string()
            )
        );
        assert_eq!(
            answer(SchedulerError::UnknownNode("sw-9".to_string())),
            (
                StatusCode::NOT_FOUND,
                "No node \"sw-9\" in the Swarm (see `paas nodes`).".to_string()
            )
        );
        let (status, message) = answer(SchedulerError::Swarm(SwarmError::Engine(
            "rpc error:\n  node is down\n".to_string(),
        )));
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(message, "The Swarm refused: rpc error: node is down.");
        let (status, _) = answer(SchedulerError::Swarm(SwarmError::Unavailable(
            "no socket".to_string(),
        )));
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
