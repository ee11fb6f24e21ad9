//! What guards the HTTP port before a request is routed: connection caps per client address
//! and in total (`limits`), header and idle timeouts (`idle`, with hyper's own header timer),
//! the socket and body wrappers that feed them (`io`), the one-Host rule (`host`), and idle
//! fast-path connections kept outside any task (`parked`).
//! `dispatch.rs` wires them around each accepted connection.

pub mod accept;
pub mod fast;
pub mod host;
pub mod idle;
pub mod io;
pub mod limits;
pub mod parked;
pub mod threads;

use std::time::Duration;

/// The front door's settings (from `Config::front_door`).
#[derive(Debug, Clone, Copy)]
pub struct FrontDoorConfig {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections_per_ip: usize,
    pub max_connections: usize,
    /// Serving threads (0: one per CPU this process may use).
    pub threads: usize,
    /// The router's fast path (`PAAS_ROUTER_FAST_PATH`): plain HTTP/1.1 app requests
    /// proxied without hyper, no buffer held by an idle connection.
    pub fast_path: bool,
    /// A fast-path connection idle this long leaves its task for the parked set
    /// (`fast::PARK_AFTER`; tests shorten it).
    pub park_after: Duration,
}

impl FrontDoorConfig {
    pub fn timeouts(&self) -> idle::Timeouts {
        idle::Timeouts {
            header: self.header_timeout,
            idle: self.idle_timeout,
        }
    }
}

/// Raises this process's open-file soft limit to its hard limit, so the connection caps, not
/// the descriptor table, decide who is turned away. Returns the soft limit now in force.
pub fn raise_open_file_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}
