//! Console sessions: signing in goes through the API's own sign-in (`routes::session::login`:
//! the failure limiter, the slowing of failures, the hashing pool) and keeps the API token it
//! makes in an HttpOnly, SameSite=Lax cookie; signing out revokes that token. Every POST to
//! the console must carry a CSRF token in its form (`_csrf`): for a session, a hash of the
//! session's secret (so it needs no storage and a page in another origin cannot know it);
//! before signing in, the value of a random cookie set by the sign-in page (double submit).
//! A POST without a valid one is refused with 403 before any handler runs.

use super::pages::{cookie, redirect, redirect_with, render, Flash};
use crate::auth::{authenticate, Authenticated};
use crate::client_addr::ClientAddr;
use crate::error::ApiError;
use crate::state::ApiState;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use paas_domain::api::LoginRequest;
use paas_store::{ApiToken, User};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use tera::Context;

/// The form field every console POST carries.
const CSRF_FIELD: &str = "_csrf";
const SESSION_COOKIE: &str = "paas_session";
const LOGIN_CSRF_COOKIE: &str = "paas_login_csrf";
/// The largest form the console reads (a config value can be long).
const FORM_LIMIT: usize = 1024 * 1024;
/// How sign-in tokens made by the console describe themselves (`paas authorizations`).
const TOKEN_DESCRIPTION: &str = "web console session";
/// How long a console session's token is valid: a working day, not the CLI's year (the
/// cookie itself ends with the browser), and never longer than a CLI token.
pub(crate) const SESSION_TTL: std::time::Duration = std::time::Duration::from_secs(12 * 60 * 60);

/// The signed-in user of a console request, its session token and the CSRF token for forms.
pub struct Session {
    pub user: User,
    pub token: ApiToken,
    pub csrf: String,
}

impl Session {
    /// A template context with what every signed-in page shows.
    pub fn context(&self) -> Context {
        let mut context = Context::new();
        context.insert("user_email", &self.user.email);
        context.insert("csrf", &self.csrf);
        context
    }
}

/// The CSRF token of a session: not guessable without the cookie's secret.
pub fn csrf_for(secret: &str) -> String {
    hex::encode(Sha256::digest(
        format!("paas-console-csrf:{secret}").as_bytes(),
    ))
}

impl FromRequestParts<Arc<ApiState>> for Session {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ApiState>,
    ) -> Result<Self, Self::Rejection> {
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE).filter(|s| !s.is_empty()) else {
            return Err(redirect("/login"));
        };
        match authenticate(state, &secret).await {
            Ok(Authenticated { user, token }) => Ok(Session {
                user,
                token,
                csrf: csrf_for(&secret),
            }),
            Err(ApiError::Unauthorized) | Err(ApiError::TokenExpired { .. }) => {
                let mut response = redirect_with(
                    "/login",
                    "error",
                    "Your session ended. Please sign in again.",
                );
                response
                    .headers_mut()
                    .append(SET_COOKIE, clear_cookie(SESSION_COOKIE));
                Err(response)
            }
            Err(e) => Err(e.into_response()),
        }
    }
}

fn clear_cookie(name: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `; Secure` when the platform is reached over HTTPS.
fn secure(state: &ApiState, headers: &HeaderMap) -> &'static str {
    if crate::views::platform_url(state, headers).starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

/// Refuses (403) every console POST whose form has no valid CSRF token; the form is read
/// here and handed on unchanged.
pub async fn require_csrf(
    State(_state): State<Arc<ApiState>>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, FORM_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.").into_response(),
    };
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let given = fields
        .iter()
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.as_str());
    let expected = if parts.uri.path() == "/login" {
        cookie(&parts.headers, LOGIN_CSRF_COOKIE).filter(|v| v.len() >= 32)
    } else {
        cookie(&parts.headers, SESSION_COOKIE)
            .filter(|s| !s.is_empty())
            .map(|s| csrf_for(&s))
    };
    let valid = matches!((given, expected.as_deref()), (Some(g), Some(e)) if same(g, e));
    if !valid {
        tracing::info!(path = %parts.uri.path(), "console form refused: no valid CSRF token");
        return (
            StatusCode::FORBIDDEN,
            axum::response::Html(
                "<!doctype html><title>Forbidden</title><h1>Forbidden</h1>\
                 <p>This form has expired or did not come from this console. \
                 Go back, reload the page and try again.</p>",
            ),
        )
            .into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Compares without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub async fn login_page(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    flash: Flash,
) -> Response {
    // Signed in already: the apps.
    if let Some(secret) = cookie(&headers, SESSION_COOKIE).filter(|s| !s.is_empty()) {
        if authenticate(&state, &secret).await.is_ok() {
            return redirect("/apps");
        }
    }
    login_form(&state, &headers, &flash, "", None, StatusCode::OK)
}

fn login_form(
    state: &ApiState,
    headers: &HeaderMap,
    flash: &Flash,
    email: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let token = cookie(headers, LOGIN_CSRF_COOKIE)
        .filter(|v| v.len() >= 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(crate::auth::generate_token);
    let mut context = Context::new();
    context.insert("csrf", &token);
    context.insert("email", email);
    if let Some(error) = error {
        context.insert("error", error);
    }
    let mut response = render("login.html", context, flash, status);
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{LOGIN_CSRF_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict{}",
        secure(state, headers)
    )) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

pub async fn login(
    State(state): State<Arc<ApiState>>,
    client: ClientAddr,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let no_flash = Flash(None);
    let email = form.get("email").cloned().unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let request = LoginRequest {
        email: email.clone(),
        password,
        description: Some(TOKEN_DESCRIPTION.to_string()),
    };
    let ttl = SESSION_TTL.min(state.config.token_ttl);
    match crate::routes::session::sign_in(&state, client, request, ttl).await {
        Ok(done) => {
            let mut response = redirect("/apps");
            if let Ok(value) = HeaderValue::from_str(&format!(
                "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax{}",
                done.token,
                secure(&state, &headers)
            )) {
                response.headers_mut().append(SET_COOKIE, value);
            }
            response
        }
        Err(ApiError::Unauthorized) => login_form(
            &state,
            &headers,
            &no_flash,
            &email,
            Some("Wrong e-mail or password."),
            StatusCode::UNAUTHORIZED,
        ),
        Err(e) => {
            let (status, _) = e.status_and_id();
            login_form(
                &state,
                &headers,
                &no_flash,
                &email,
                Some(&e.to_string()),
                status,
            )
        }
    }
}

/// Revokes the session's token and forgets the cookie.
pub async fn logout(State(state): State<Arc<ApiState>>, session: Session) -> Response {
    if let Err(e) = state
        .store
        .delete_token(session.user.id, session.token.id)
        .await
    {
        tracing::warn!(user = %session.user.email, "could not revoke the console session: {e}");
    }
    tracing::info!(user = %session.user.email, "signed out of the console");
    let mut response = redirect_with("/login", "notice", "Signed out.");
    response
        .headers_mut()
        .append(SET_COOKIE, clear_cookie(SESSION_COOKIE));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_differ_per_session_and_compare_exactly() {
        let a = csrf_for("one");
        assert_eq!(a, csrf_for("one"));
        assert_ne!(a, csrf_for("two"));
        assert!(same(&a, &a.clone()));
        assert!(!same(&a, &csrf_for("two")));
        assert!(!same(&a, ""));
    }
}
