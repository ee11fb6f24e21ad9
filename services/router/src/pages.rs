//! The small pages the router answers with when it cannot reach an app, and their codes
//! (Heroku's H-codes, so users find them in Heroku's documentation).

use axum::body::Body;
use http::{header, Response, StatusCode};

/// A router error as Heroku names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouterError {
    /// No app has this host.
    NoSuchApp,
    /// H10: the app wants web processes but none could take the request within the hold
    /// time (crashed, restarting, or every one refused the connection).
    AppCrashed,
    /// H13: the process accepted the connection and closed it without a response.
    ConnectionClosed,
    /// H14: the app has no web process wanted (`scale web=0`) or deployed.
    NoWebProcesses,
    /// H12: the app did not answer in time.
    Timeout,
    /// H80: maintenance mode.
    Maintenance,
    /// The client's request body was malformed (e.g. bad chunked encoding) or broke off.
    BadRequestBody,
}

impl RouterError {
    pub fn code(self) -> &'static str {
        match self {
            Self::NoSuchApp | Self::BadRequestBody => "-",
            Self::AppCrashed => "H10",
            Self::Timeout => "H12",
            Self::ConnectionClosed => "H13",
            Self::NoWebProcesses => "H14",
            Self::Maintenance => "H80",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::NoSuchApp => StatusCode::NOT_FOUND,
            Self::BadRequestBody => StatusCode::BAD_REQUEST,
            Self::AppCrashed
            | Self::ConnectionClosed
            | Self::NoWebProcesses
            | Self::Timeout
            | Self::Maintenance => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::NoSuchApp => "No such app",
            Self::AppCrashed => "App crashed",
            Self::ConnectionClosed => "Connection closed without response",
            Self::NoWebProcesses => "No web processes running",
            Self::Timeout => "Request timeout",
            Self::Maintenance => "Maintenance mode",
            Self::BadRequestBody => "Bad request",
        }
    }

    fn detail(self) -> &'static str {
        match self {
            Self::NoSuchApp => "There is no app configured at this host name.",
            Self::AppCrashed => {
                "The app's web processes are not running or did not accept the request. Its owner can see why with paas ps and paas logs."
            }
            Self::ConnectionClosed => "The app closed the connection without answering.",
            Self::NoWebProcesses => {
                "This app has no web process running. Deploy it or scale web up."
            }
            Self::Timeout => "The app did not answer in time.",
            Self::Maintenance => "This app is down for maintenance. Please try again soon.",
            Self::BadRequestBody => {
                "The request body could not be read (malformed chunked encoding or cut short)."
            }
        }
    }

    /// The page answered to the client.
    pub fn response(self) -> Response<Body> {
        self.page(None)
    }

    fn html(self, custom: Option<&str>) -> String {
        let body = match custom.filter(|url| safe_url(url)) {
            Some(url) => format!(
                "<iframe src=\"{url}\" style=\"position:fixed;inset:0;width:100%;height:100%;border:0\"></iframe>"
            ),
            None => format!(
                "<h1>{title}</h1><p>{detail}</p><p><small>paas router {code}</small></p>",
                title = self.description(),
                detail = self.detail(),
                code = self.code(),
            ),
        };
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body>{body}</body></html>\n",
            title = self.description(),
        )
    }

    /// The same page as a whole HTTP/1.1 response (the router's fast path writes it to the
    /// socket itself), closing the connection.
    pub(crate) fn raw_page(self) -> Vec<u8> {
        let html = self.html(None);
        let status = self.status();
        let mut out = format!(
            "HTTP/1.1 {} {}\r\ncontent-type: text/html; charset=utf-8\r\ncache-control: no-cache, no-store\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            status.as_u16(),
            status.canonical_reason().unwrap_or(""),
            html.len()
        )
        .into_bytes();
        out.extend_from_slice(html.as_bytes());
        out
    }

    /// The page, showing `custom` (a URL of the app owner's) inside it when given, as
    /// Heroku's custom error and maintenance pages do.
    pub fn page(self, custom: Option<&str>) -> Response<Body> {
        let html = self.html(custom);
        let mut response = Response::new(Body::from(html));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/html; charset=utf-8"),
        );
        headers.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-cache, no-store"),
        );
        if self == Self::Maintenance {
            headers.insert(header::RETRY_AFTER, header::HeaderValue::from_static("60"));
        }
        response
    }
}

/// An http(s) URL that cannot break out of the attribute it is written in.
fn safe_url(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>' | '\''))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses() {
        assert_eq!(RouterError::AppCrashed.code(), "H10");
        assert_eq!(RouterError::Maintenance.code(), "H80");
        assert_eq!(RouterError::NoWebProcesses.code(), "H14");
        assert_eq!(
            RouterError::Timeout.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(RouterError::NoSuchApp.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn a_custom_page_is_framed_only_when_it_is_a_plain_url() {
        assert!(safe_url("https://example.com/down.html"));
        assert!(!safe_url("javascript:alert(1)"));
        assert!(!safe_url("https://x.com/\"><script>"));
    }
}
