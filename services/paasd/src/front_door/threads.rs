//! The HTTP port served by one thread per core, each with a current-thread tokio runtime and
//! its own listening socket on the same address (`SO_REUSEPORT`: the kernel spreads new
//! connections over them), like nginx's workers. A connection, its requests, and the router's
//! pooled connections to app processes all live on one thread: no task is handed between
//! threads on the request path, and a wake-up serves every connection that is ready. The
//! connection caps are shared by all threads. Platform requests still run on the main runtime
//! (`Dispatch::api_runtime`).

use super::limits::ConnectionLimiter;
use super::FrontDoorConfig;
use crate::dispatch::{self, Dispatch};
use socket2::{Domain, Protocol, Socket, Type};
use std::net::SocketAddr;
use std::sync::Arc;

/// Listening sockets bound to one address, one per serving thread.
pub struct Listeners {
    sockets: Vec<std::net::TcpListener>,
    pub local: SocketAddr,
}

/// Binds `addr` `count` times with `SO_REUSEPORT` (port 0: the first socket picks the port,
/// the others take the same). A port some program already listens on is refused, even one
/// whose sockets also allow reuse (a second paasd started by mistake would otherwise share
/// the port with the first, each getting half the connections).
pub fn bind(addr: SocketAddr, count: usize) -> std::io::Result<Listeners> {
    if addr.port() != 0 {
        // A plain bind fails on a port in use by anyone, reuse or not.
        drop(std::net::TcpListener::bind(addr)?);
    }
    let first = listen(addr)?;
    let local = first.local_addr()?;
    let mut sockets = vec![first];
    for _ in 1..count.max(1) {
        sockets.push(listen(local)?);
    }
    Ok(Listeners { sockets, local })
}

fn listen(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// How many serving threads to run: `configured`, else one per CPU this process may use.
pub fn thread_count(configured: usize) -> usize {
    if configured > 0 {
        return configured;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Serves every listener on a thread of its own until one of them fails. Each thread gets its
/// own copy of `dispatch` with a connection pool of its own.
pub async fn serve(
    listeners: Listeners,
    dispatch: Dispatch,
    config: FrontDoorConfig,
) -> std::io::Result<()> {
    let limiter = ConnectionLimiter::new(config.max_connections_per_ip, config.max_connections);
    let (failed_tx, mut failed_rx) = tokio::sync::mpsc::channel::<std::io::Error>(1);
    for (index, socket) in listeners.sockets.into_iter().enumerate() {
        let mut dispatch = dispatch.clone();
        dispatch.proxy = dispatch.proxy.for_thread();
        let limiter = limiter.clone();
        let failed = failed_tx.clone();
        std::thread::Builder::new()
            .name(format!("paas-http-{index}"))
            .spawn(move || {
                let result = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .and_then(|runtime| {
                        runtime.block_on(async move {
                            let listener = tokio::net::TcpListener::from_std(socket)?;
                            dispatch.proxy.spawn_pool_pruner();
                            let dispatch = Arc::new(dispatch);
                            if config.fast_path {
                                super::fast::serve(listener, dispatch, config, limiter).await
                            } else {
                                dispatch::serve(listener, dispatch, config, limiter).await
                            }
                        })
                    });
                let error = match result {
                    Ok(()) => std::io::Error::other("a serving thread stopped"),
                    Err(e) => e,
                };
                let _ = failed.blocking_send(error);
            })?;
    }
    drop(failed_tx);
    match failed_rx.recv().await {
        Some(error) => Err(error),
        None => Err(std::io::Error::other("every serving thread stopped")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_zero_binds_every_socket_to_the_same_port() {
        let listeners = bind("127.0.0.1:0".parse().unwrap(), 3).expect("bind");
        assert_ne!(listeners.local.port(), 0);
        assert_eq!(listeners.sockets.len(), 3);
        for socket in &listeners.sockets {
            assert_eq!(socket.local_addr().unwrap(), listeners.local);
        }
    }

    #[test]
    fn a_second_server_on_the_same_port_is_refused_though_its_sockets_allow_reuse() {
        let first = bind("127.0.0.1:0".parse().unwrap(), 2).expect("bind");
        let again = bind(first.local, 2);
        assert!(again.is_err(), "a second paasd would share the port");
    }

    #[test]
    fn a_port_taken_by_another_program_is_refused() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = taken.local_addr().unwrap();
        assert!(bind(addr, 2).is_err());
    }
}
