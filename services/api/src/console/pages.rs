//! Rendering: the templates and static files of `web/`, embedded at compile time so `paasd`
//! works from any directory; tera autoescapes every `.html` template, so user content (app
//! names, config values, log lines) is always escaped. Also the one-shot flash message (a
//! short-lived cookie read by the next page) and the console's error pages.

use crate::error::ApiError;
use axum::extract::{FromRequestParts, Path};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, LOCATION, REFERRER_POLICY,
    SET_COOKIE, X_FRAME_OPTIONS,
};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use std::convert::Infallible;
use std::sync::OnceLock;
use tera::{Context, Tera};

const TEMPLATES: &[(&str, &str)] = &[
    (
        "base.html",
        include_str!("../../../../web/templates/base.html"),
    ),
    (
        "login.html",
        include_str!("../../../../web/templates/login.html"),
    ),
    (
        "apps.html",
        include_str!("../../../../web/templates/apps.html"),
    ),
    (
        "app_base.html",
        include_str!("../../../../web/templates/app_base.html"),
    ),
    (
        "overview.html",
        include_str!("../../../../web/templates/overview.html"),
    ),
    (
        "settings.html",
        include_str!("../../../../web/templates/settings.html"),
    ),
    (
        "releases.html",
        include_str!("../../../../web/templates/releases.html"),
    ),
    (
        "builds.html",
        include_str!("../../../../web/templates/builds.html"),
    ),
    (
        "build.html",
        include_str!("../../../../web/templates/build.html"),
    ),
    (
        "logs.html",
        include_str!("../../../../web/templates/logs.html"),
    ),
    (
        "metrics.html",
        include_str!("../../../../web/templates/metrics.html"),
    ),
    (
        "error.html",
        include_str!("../../../../web/templates/error.html"),
    ),
];

const STATIC_FILES: &[(&str, &str, &str)] = &[
    (
        "console.css",
        "text/css; charset=utf-8",
        include_str!("../../../../web/static/console.css"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/static/console.js"),
    ),
];

const FLASH_COOKIE: &str = "paas_flash";
/// Bytes of a flash message (2,000 bytes are 2,667 in base64, well within a cookie).
const FLASH_MAX_BYTES: usize = 2_000;

fn tera() -> &'static Tera {
    static TERA: OnceLock<Tera> = OnceLock::new();
    TERA.get_or_init(|| {
        let mut tera = Tera::default();
        tera.autoescape_on(vec![".html"]);
        if let Err(e) = tera.add_raw_templates(TEMPLATES.iter().copied()) {
            // Templates are embedded: the console's tests render every one of them.
            tracing::error!("console templates do not parse: {e:?}");
        }
        tera
    })
}

/// Renders `template` with `context` (plus the flash message, which it then clears).
pub fn render(template: &str, mut context: Context, flash: &Flash, status: StatusCode) -> Response {
    if let Some((kind, message)) = &flash.0 {
        context.insert("flash_kind", kind);
        context.insert("flash", message);
    }
    match tera().render(template, &context) {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            let headers = response.headers_mut();
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            // Only this origin's script, no framing, forms post only here.
            headers.insert(
                CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
                     frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
                ),
            );
            headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
            if flash.0.is_some() {
                headers.append(
                    SET_COOKIE,
                    HeaderValue::from_static(
                        "paas_flash=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0",
                    ),
                );
            }
            response
        }
        Err(e) => {
            tracing::error!("console template {template}: {e:?}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be rendered.",
            )
                .into_response()
        }
    }
}

/// A 303 to `to` carrying a one-shot message for the next page.
pub fn redirect_with(to: &str, kind: &str, message: &str) -> Response {
    // A cookie holds about 4 KB: a long message (a failed release's last lines) is cut.
    let mut cut = message.len().min(FLASH_MAX_BYTES);
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    let message = &message[..cut];
    let value = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{kind}\n{message}").as_bytes());
    let mut response = redirect(to);
    if let Ok(cookie) = HeaderValue::from_str(&format!(
        "{FLASH_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=60"
    )) {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}

pub fn redirect(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(to) {
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(parts_headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    parts_headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The one-shot message left by the previous response: (kind, message), kind `notice` or
/// `error`.
pub struct Flash(pub Option<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Flash {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let decoded = cookie(&parts.headers, FLASH_COOKIE)
            .and_then(|v| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(v.as_bytes())
                    .ok()
            })
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| {
                let (kind, message) = text.split_once('\n')?;
                let kind = if kind == "error" { "error" } else { "notice" };
                Some((kind.to_string(), message.to_string()))
            });
        Ok(Flash(decoded))
    }
}

/// An error page for an API error (404 for apps the user may not see, like the API).
pub fn error_page(error: &ApiError, flash: &Flash) -> Response {
    let (status, _) = error.status_and_id();
    if let ApiError::Internal(detail) = error {
        tracing::error!("internal error: {detail}");
    }
    let mut context = Context::new();
    context.insert("status", &status.as_u16());
    context.insert("message", &error.to_string());
    render("error.html", context, flash, status)
}

pub async fn static_file(Path(file): Path<String>) -> Response {
    match STATIC_FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => (
            [
                (CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (
                    CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=300"),
                ),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "No such file.").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_flash_message_is_cut_to_fit_a_cookie() {
        let response = redirect_with("/apps", "error", &"é".repeat(5_000));
        let cookie = response
            .headers()
            .get(SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(cookie.starts_with("paas_flash="), "{cookie}");
        assert!(cookie.len() < 3_000, "{}", cookie.len());
    }

    #[test]
    fn every_template_parses() {
        let mut tera = Tera::default();
        tera.add_raw_templates(TEMPLATES.iter().copied())
            .expect("templates parse");
    }
}
