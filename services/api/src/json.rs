//! The JSON body extractor of the API: like axum's `Json`, but a body that is not the expected
//! JSON is answered through `ApiError`, with the same JSON error shape as every other error.

use crate::error::ApiError;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

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
            .map_err(|rejection| {
                ApiError::BadRequest(format!("Invalid request body: {}", rejection.body_text()))
            })
    }
}
