//! The address of the client that opened the connection. The front door (paasd's dispatch)
//! puts it into each request's extensions; sign-in limits count failures per address.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The peer of the TCP connection a request came on. Headers such as `X-Forwarded-For` are not
/// trusted: any client can send them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

impl ClientAddr {
    /// The address requests get when nobody set one (the router used without the front door).
    pub const UNKNOWN: ClientAddr =
        ClientAddr(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0));

    pub fn ip(&self) -> IpAddr {
        self.0.ip()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientAddr>()
            .copied()
            .unwrap_or(ClientAddr::UNKNOWN))
    }
}
