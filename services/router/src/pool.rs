//! Keep-alive HTTP/1 connections to app processes, one pool per serving thread (so a pooled
//! connection is driven by the same runtime as the requests that use it). A request takes an
//! idle connection to its process or opens one (within the connect timeout); the connection
//! comes back when the response body has been read to its end. A request that a pooled
//! connection could not even send (the process had closed it) is handed back untouched, so it
//! can go out again on a fresh connection. Connections to a process that left the route table
//! are closed on the next publication.

use axum::body::Body;
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Idle connections kept per process; more are closed when they come back.
const MAX_IDLE_PER_PROCESS: usize = 512;

#[derive(Debug, Default)]
pub(crate) struct Pool {
    idle: IdleLists<http1::SendRequest<Body>>,
}

/// Why a request could not be answered by the process.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PoolError {
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    #[error("connect timed out")]
    ConnectTimeout,
    #[error("HTTP handshake failed: {0}")]
    Handshake(hyper::Error),
}

/// A connection taken from the pool (or new), given back once its response is over.
pub(crate) struct Checkout {
    pool: Arc<Pool>,
    addr: SocketAddr,
    sender: http1::SendRequest<Body>,
    /// Whether the connection was opened for this request (a failure on it is the process's).
    pub(crate) fresh: bool,
}

/// The result of sending on a checked-out connection.
pub(crate) enum Sent {
    Answered(hyper::Response<Incoming>, Returner),
    /// Not sent at all: the connection was closed already; the request is handed back.
    Unsent(hyper::Request<Body>),
    Failed(hyper::Error),
}

/// Gives a connection back to its pool when dropped after `ready` is set.
pub(crate) struct Returner {
    pool: Arc<Pool>,
    addr: SocketAddr,
    sender: Option<http1::SendRequest<Body>>,
}

impl Returner {
    /// The response is complete: the connection may serve another request.
    pub(crate) fn release(&mut self) {
        if let Some(sender) = self.sender.take() {
            self.pool.put(self.addr, sender);
        }
    }

    /// The connection was taken over (upgraded) or left half read: never reuse it.
    pub(crate) fn discard(&mut self) {
        self.sender = None;
    }
}

impl Pool {
    /// An idle connection to `addr`, or a new one.
    pub(crate) async fn checkout(
        self: &Arc<Self>,
        addr: SocketAddr,
        connect_timeout: Duration,
    ) -> Result<Checkout, PoolError> {
        while let Some(mut sender) = self.take(addr) {
            if sender.is_closed() {
                continue;
            }
            if sender.ready().await.is_ok() {
                return Ok(Checkout {
                    pool: self.clone(),
                    addr,
                    sender,
                    fresh: false,
                });
            }
        }
        let stream = tokio::time::timeout(connect_timeout, tokio::net::TcpStream::connect(addr))
            .await
            .map_err(|_| PoolError::ConnectTimeout)?
            .map_err(PoolError::Connect)?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(PoolError::Handshake)?;
        tokio::spawn(async move {
            if let Err(e) = connection.with_upgrades().await {
                tracing::debug!(target: "router", "connection to {addr} ended: {e}");
            }
        });
        Ok(Checkout {
            pool: self.clone(),
            addr,
            sender,
            fresh: true,
        })
    }

    fn take(&self, addr: SocketAddr) -> Option<http1::SendRequest<Body>> {
        self.idle.take(addr)
    }

    fn put(&self, addr: SocketAddr, sender: http1::SendRequest<Body>) {
        if sender.is_closed() {
            return;
        }
        self.idle.put(addr, sender);
    }

    /// Closes the idle connections to every process not in `live`.
    pub(crate) fn retain(&self, live: &HashSet<SocketAddr>) {
        self.idle.retain(live);
    }

    /// Idle connections kept to `addr` now.
    pub(crate) fn idle_count(&self, addr: SocketAddr) -> usize {
        self.idle.count(addr)
    }
}

impl Checkout {
    /// Sends `request`; the answer carries the way to give the connection back.
    pub(crate) async fn send(mut self, request: hyper::Request<Body>) -> Sent {
        match self.sender.try_send_request(request).await {
            Ok(response) => Sent::Answered(
                response,
                Returner {
                    pool: self.pool,
                    addr: self.addr,
                    sender: Some(self.sender),
                },
            ),
            Err(mut e) => match e.take_message() {
                Some(request) => Sent::Unsent(request),
                None => Sent::Failed(e.into_error()),
            },
        }
    }
}

/// The fast path's connections to processes (`fast/`): plain keep-alive sockets, idle
/// between requests, per serving thread like `Pool`.
#[derive(Debug, Default)]
pub(crate) struct RawPool {
    idle: IdleLists<tokio::net::TcpStream>,
}

impl RawPool {
    /// An idle connection to `addr` that the process has not closed (and `true`), or a new
    /// one (and `false`).
    pub(crate) async fn checkout(
        &self,
        addr: SocketAddr,
        connect_timeout: Duration,
    ) -> Result<(tokio::net::TcpStream, bool), PoolError> {
        while let Some(stream) = self.take(addr) {
            // An idle connection has nothing to read: a close (or stray bytes) ends it. The
            // runtime's readiness answers without a system call while nothing happened.
            let mut probe = [0u8; 1];
            match stream.try_read(&mut probe) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok((stream, true)),
                _ => continue,
            }
        }
        let stream = tokio::time::timeout(connect_timeout, tokio::net::TcpStream::connect(addr))
            .await
            .map_err(|_| PoolError::ConnectTimeout)?
            .map_err(PoolError::Connect)?;
        let _ = stream.set_nodelay(true);
        Ok((stream, false))
    }

    fn take(&self, addr: SocketAddr) -> Option<tokio::net::TcpStream> {
        self.idle.take(addr)
    }

    /// Gives back a connection whose last response was read to its end.
    pub(crate) fn put(&self, addr: SocketAddr, stream: tokio::net::TcpStream) {
        self.idle.put(addr, stream);
    }

    /// Closes the idle connections to every process not in `live`.
    pub(crate) fn retain(&self, live: &HashSet<SocketAddr>) {
        self.idle.retain(live);
    }

    pub(crate) fn idle_count(&self, addr: SocketAddr) -> usize {
        self.idle.count(addr)
    }
}

/// Idle connections per process, both pools' store: at most `MAX_IDLE_PER_PROCESS` each,
/// the most recently returned taken first.
#[derive(Debug)]
struct IdleLists<T> {
    lists: Mutex<HashMap<SocketAddr, Vec<T>>>,
}

impl<T> Default for IdleLists<T> {
    fn default() -> Self {
        Self {
            lists: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> IdleLists<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Vec<T>>> {
        self.lists.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take(&self, addr: SocketAddr) -> Option<T> {
        self.lock().get_mut(&addr).and_then(Vec::pop)
    }

    /// Keeps `connection` unless `addr` already has its most; a refused one is dropped.
    fn put(&self, addr: SocketAddr, connection: T) {
        let mut lists = self.lock();
        let list = lists.entry(addr).or_default();
        if list.len() < MAX_IDLE_PER_PROCESS {
            list.push(connection);
        }
    }

    /// Drops (closes) the connections to every process not in `live`.
    fn retain(&self, live: &HashSet<SocketAddr>) {
        self.lock().retain(|addr, _| live.contains(addr));
    }

    fn count(&self, addr: SocketAddr) -> usize {
        self.lock().get(&addr).map_or(0, Vec::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_lists_cap_each_process_take_the_newest_and_drop_retired_processes() {
        let lists = IdleLists::<usize>::default();
        let a: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:5000".parse().unwrap();
        for n in 0..MAX_IDLE_PER_PROCESS + 10 {
            lists.put(a, n);
        }
        lists.put(b, 7);
        assert_eq!(lists.count(a), MAX_IDLE_PER_PROCESS, "capped");
        assert_eq!(
            lists.take(a),
            Some(MAX_IDLE_PER_PROCESS - 1),
            "the newest first"
        );
        lists.retain(&HashSet::from([b]));
        assert_eq!(
            lists.count(a),
            0,
            "a retired process's connections are dropped"
        );
        assert_eq!(lists.take(a), None);
        assert_eq!(lists.take(b), Some(7));
    }
}
