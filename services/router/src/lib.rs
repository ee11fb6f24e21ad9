//! The HTTP data plane. Given a request's `Host`, it decides whether the request is for the
//! platform itself or for an app, and proxies app requests to one of the app's web processes
//! listed in the route table. It never talks to Docker or SQL: the scheduler writes the table.

mod fast;
mod headers;
mod host;
mod idle;
mod pages;
mod pool;
mod proxy;
mod records;
mod table;

pub use fast::{FastEnd, FastOptions, IdleConnection, Resume, Rewind};
pub use host::{classify_host, HostTarget};
pub use pages::RouterError;
pub use proxy::{Proxy, ProxyConfig};
pub use records::{
    record_channel, RecordBatch, RecordSink, RecordSource, RequestRecord, RouterLine,
};
pub use table::{AppRoute, Backend, Maintenance, RouteTable, RouteTableHandle};
