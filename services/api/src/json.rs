//! The JSON body extractor of the API: like axum's `Json`, but a body that is not the expected
//! JSON is answered through `ApiError`, with the same JSON error shape as every other error:
//! 413 when it is longer than `JSON_BODY_LIMIT`, 400 for anything else (bad JSON, wrong fields,
//! a body that breaks off or whose chunked encoding is malformed).

use crate::error::ApiError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// The largest JSON body the API reads (the router applies it with `DefaultBodyLimit`).
pub const JSON_BODY_LIMIT: usize = 2 * 1024 * 1024;

pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|axum::Json(value)| Self(value))
            .map_err(rejection_error)
    }
}

fn rejection_error(rejection: JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge(format!(
            "Request body too large: the limit is {JSON_BODY_LIMIT} bytes."
        ))
    } else {
        ApiError::BadRequest(format!("Invalid request body: {}", rejection.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::extract::DefaultBodyLimit;
    use axum::response::IntoResponse;
    use axum::routing::post;
    use axum::Router;
    use tower::ServiceExt;

    async fn echo(ApiJson(value): ApiJson<serde_json::Value>) -> String {
        value.to_string()
    }

    async fn post_body(body: Body) -> (StatusCode, serde_json::Value) {
        let app = Router::new()
            .route("/", post(echo))
            .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT));
        let request = axum::http::Request::post("/")
            .header("content-type", "application/json")
            .body(body)
            .unwrap();
        let response = app.oneshot(request).await.unwrap().into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, json)
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_413_in_the_error_shape() {
        let big = format!("{{\"name\":\"{}\"}}", "a".repeat(JSON_BODY_LIMIT));
        let (status, json) = post_body(Body::from(big)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(json["id"], "payload_too_large");
        assert!(json["message"].as_str().unwrap().contains("too large"));
    }

    #[tokio::test]
    async fn a_body_that_breaks_off_is_400() {
        let stream = futures_util::stream::iter([
            Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"{\"name\":")),
            Err(std::io::Error::other("malformed chunk")),
        ]);
        let (status, json) = post_body(Body::from_stream(stream)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(json["id"], "bad_request");
    }

    #[tokio::test]
    async fn a_body_within_the_limit_is_read() {
        let (status, _) = post_body(Body::from("{\"name\":\"ok\"}")).await;
        assert_eq!(status, StatusCode::OK);
    }
}
