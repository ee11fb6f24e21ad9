//! The small pages the router answers with when it cannot reach an app, and their codes.

use axum::body::Body;
use http::{header, Response, StatusCode};

/// A router error as Heroku names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouterError {
    /// No app has this host.
    NoSuchApp,
    /// H14: the app has no web process running.
    NoWebProcesses,
    /// H13/H10: every web process refused or dropped the connection.
    BackendUnreachable,
    /// H12: the app did not answer in time.
    Timeout,
    /// The client's request body was malformed (e.g. bad chunked encoding) or broke off.
    BadRequestBody,
}

impl RouterError {
    pub fn code(self) -> &'static str {
        match self {
            Self::NoSuchApp => "-",
            Self::NoWebProcesses => "H14",
            Self::BackendUnreachable => "H13",
            Self::Timeout => "H12",
            Self::BadRequestBody => "-",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::NoSuchApp => StatusCode::NOT_FOUND,
            Self::NoWebProcesses | Self::BackendUnreachable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Timeout => StatusCode::GATEWAY_TIMEOUT,
            Self::BadRequestBody => StatusCode::BAD_REQUEST,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::NoSuchApp => "No such app",
            Self::NoWebProcesses => "No web processes running",
            Self::BackendUnreachable => "Application error",
            Self::Timeout => "Request timeout",
            Self::BadRequestBody => "Bad request",
        }
    }

    fn detail(self) -> &'static str {
        match self {
            Self::NoSuchApp => "There is no app configured at this host name.",
            Self::NoWebProcesses => {
                "This app has no web process running. Deploy it or scale web up."
            }
            Self::BackendUnreachable => "The app did not accept or answer the request.",
            Self::Timeout => "The app did not answer in time.",
            Self::BadRequestBody => {
                "The request body could not be read (malformed chunked encoding or cut short)."
            }
        }
    }

    /// The page answered to the client.
    pub fn response(self) -> Response<Body> {
        let html = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
             <body><h1>{title}</h1><p>{detail}</p><p><small>paas router {code}</small></p></body></html>\n",
            title = self.title(),
            detail = self.detail(),
            code = self.code(),
        );
        let mut response = Response::new(Body::from(html));
        *response.status_mut() = self.status();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/html; charset=utf-8"),
        );
        response
    }
}
