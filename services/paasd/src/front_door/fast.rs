//! The accept loop with the router's fast path (`PAAS_ROUTER_FAST_PATH`): each connection is
//! served by `Proxy::serve_fast` (plain HTTP/1.1 requests to apps, no buffer held while idle)
//! until a request needs the full path; hyper then serves the rest of the connection, the
//! bytes read so far first, exactly as `dispatch::serve` serves every connection (the same
//! host rule, routing, API runtime, caps and timeouts). A fast-path connection idle for
//! `PARK_AFTER` leaves its task for the thread's parked set (`parked.rs`) until its client
//! writes again.

use super::accept;
use super::limits::{ConnectionLimiter, ConnectionPermit};
use super::parked::{self, Parked};
use super::FrontDoorConfig;
use crate::dispatch::Dispatch;
use hyper_util::rt::TokioExecutor;
use hyper_util::server::conn::auto;
use paas_router::{FastEnd, FastOptions, Resume};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

/// A fast-path connection with no request for this long is parked. Clients that keep a
/// connection busy (a request every few milliseconds under load) never are; one that waits a
/// second between requests costs a park and a wake-up (four `epoll_ctl` calls and a task).
pub const PARK_AFTER: Duration = Duration::from_secs(1);

/// What a connection carries between its tasks.
pub(crate) struct Held {
    peer: SocketAddr,
    permit: ConnectionPermit,
    resume: Resume,
}

/// What every connection task of one serving thread shares.
struct Thread {
    dispatch: Arc<Dispatch>,
    builder: auto::Builder<TokioExecutor>,
    options: FastOptions,
    config: FrontDoorConfig,
    parked: Parked<Held>,
}

/// Accepts connections forever. A connection over a cap is closed at once.
pub async fn serve(
    listener: TcpListener,
    dispatch: Arc<Dispatch>,
    config: FrontDoorConfig,
    limiter: ConnectionLimiter,
) -> std::io::Result<()> {
    let (parked, driver) = parked::parked()?;
    serve_with(listener, dispatch, config, limiter, parked, driver).await
}

/// `serve`, with the parked set given (tests watch it).
pub(crate) async fn serve_with(
    listener: TcpListener,
    dispatch: Arc<Dispatch>,
    config: FrontDoorConfig,
    limiter: ConnectionLimiter,
    parked: Parked<Held>,
    driver: parked::ParkedDriver<Held>,
) -> std::io::Result<()> {
    let builder = accept::hyper_builder(&config);
    let options = FastOptions {
        domain: dispatch.domain.clone(),
        local_port: dispatch.local_port,
        header_timeout: config.header_timeout,
        idle_timeout: config.idle_timeout,
        park_after: Some(config.park_after),
    };
    let thread = Arc::new(Thread {
        dispatch,
        builder,
        options,
        config,
        parked,
    });
    let woken = thread.clone();
    let wake = driver.run(move |stream, held| spawn_connection(&woken, stream, held));
    let accept = accept::accept_forever(&listener, &limiter, |stream, peer, permit| {
        let resume = Resume::accepted(Instant::now(), &thread.options);
        let held = Held {
            peer,
            permit,
            resume,
        };
        spawn_connection(&thread, stream, held);
    });
    // The accept loop never ends; the parked set's driver only on an error of its own.
    tokio::select! {
        result = wake => result,
        () = accept => Ok(()),
    }
}

/// One task serving `stream` on the fast path, then parking it, closing it, or serving the
/// rest of it on the hyper path.
fn spawn_connection(thread: &Arc<Thread>, stream: TcpStream, held: Held) {
    let thread = thread.clone();
    tokio::spawn(async move {
        let Held {
            peer,
            permit,
            resume,
        } = held;
        let proxy = &thread.dispatch.proxy;
        match proxy
            .serve_fast(stream, peer, &thread.options, resume)
            .await
        {
            FastEnd::Closed => {}
            FastEnd::Idle(idle) => {
                let held = Held {
                    peer,
                    permit,
                    resume: idle.resume,
                };
                if let Err(e) = thread.parked.park(idle.stream, idle.close_at, held) {
                    tracing::debug!("closed an idle connection that could not be parked: {e}");
                }
            }
            // Boxed: an idle connection's task stays as small as the fast path's state.
            FastEnd::Fallback(rest) => {
                let (builder, config) = (&thread.builder, &thread.config);
                let dispatch = thread.dispatch.clone();
                Box::pin(accept::serve_hyper(
                    builder, dispatch, rest, peer, permit, config,
                ))
                .await;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front_door::parked::SWEEP_EVERY;
    use hyper_util::rt::TokioIo;
    use paas_router::{AppRoute, Backend, Proxy, ProxyConfig, RouteTable, RouteTableHandle};
    use std::convert::Infallible;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const PARK: Duration = Duration::from_millis(200);
    const IDLE: Duration = Duration::from_secs(2);

    /// An app process answering `hello` to every request.
    async fn backend() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(|_req| async {
                        Ok::<_, Infallible>(hyper::Response::new(axum::body::Body::from("hello")))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        addr
    }

    /// The front door with the fast path for app `hello`, on a fresh port, and its parked set.
    async fn front_door() -> (SocketAddr, Parked<Held>) {
        front_door_parking_after(PARK).await
    }

    async fn front_door_parking_after(park_after: Duration) -> (SocketAddr, Parked<Held>) {
        let table = RouteTableHandle::new();
        table.publish(RouteTable {
            apps: [(
                "hello".to_string(),
                AppRoute {
                    backends: vec![Backend {
                        addr: backend().await,
                        dyno: "web.1".into(),
                    }],
                    web_wanted: 1,
                    maintenance: None,
                },
            )]
            .into(),
            domains: Default::default(),
        });
        let dispatch = Arc::new(Dispatch {
            domain: "localhost".into(),
            proxy: Proxy::new(table, ProxyConfig::default()),
            api: axum::Router::new(),
            local_port: 80,
            api_runtime: None,
        });
        let config = FrontDoorConfig {
            header_timeout: IDLE,
            idle_timeout: IDLE,
            max_connections_per_ip: 1000,
            max_connections: 1000,
            threads: 1,
            fast_path: true,
            park_after,
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (parked, driver) = parked::parked().unwrap();
        let limiter = ConnectionLimiter::new(1000, 1000);
        let watched = parked.clone();
        tokio::spawn(serve_with(
            listener, dispatch, config, limiter, parked, driver,
        ));
        (addr, watched)
    }

    /// Sends one request on `stream` and reads its whole answer.
    async fn request(stream: &mut TcpStream) -> String {
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        let mut chunk = [0u8; 1024];
        while !answer.ends_with(b"hello") {
            let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
                .await
                .expect("an answer in time")
                .unwrap();
            assert!(n > 0, "closed: {}", String::from_utf8_lossy(&answer));
            answer.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8(answer).unwrap()
    }

    fn alive_tasks() -> usize {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
    }

    #[tokio::test]
    async fn idle_connections_leave_their_tasks_and_are_served_again_when_they_write() {
        let (addr, parked) = front_door().await;
        let mut clients = Vec::new();
        for _ in 0..50 {
            let mut client = TcpStream::connect(addr).await.unwrap();
            assert!(request(&mut client).await.starts_with("HTTP/1.1 200"));
            clients.push(client);
        }
        let busy = alive_tasks();
        tokio::time::sleep(PARK + Duration::from_millis(300)).await;
        assert_eq!(parked.len(), 50, "every idle connection is parked");
        let idle = alive_tasks();
        assert!(
            idle + 50 <= busy,
            "the idle connections still hold tasks: {busy} tasks busy, {idle} idle"
        );
        for client in &mut clients {
            let answer = request(client).await;
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        }
        assert_eq!(parked.len(), 0, "every connection was woken by its request");
    }

    #[tokio::test]
    async fn a_parked_connection_is_closed_at_the_idle_timeout_and_its_slot_given_back() {
        let (addr, parked) = front_door().await;
        let mut client = TcpStream::connect(addr).await.unwrap();
        request(&mut client).await;
        let answered = Instant::now();
        tokio::time::sleep(PARK + Duration::from_millis(100)).await;
        assert_eq!(parked.len(), 1);
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(IDLE * 2, client.read(&mut byte))
            .await
            .expect("closed at the idle timeout");
        assert!(matches!(read, Ok(0)), "{read:?}");
        let waited = answered.elapsed();
        assert!(
            waited >= IDLE && waited <= IDLE + SWEEP_EVERY + Duration::from_millis(500),
            "closed after {waited:?}, the idle timeout is {IDLE:?}"
        );
        assert_eq!(parked.len(), 0);
    }

    #[tokio::test]
    async fn a_connection_that_never_sends_a_request_is_closed_at_the_header_timeout() {
        let (addr, parked) = front_door().await;
        let opened = Instant::now();
        let mut silent = TcpStream::connect(addr).await.unwrap();
        tokio::time::sleep(PARK + Duration::from_millis(100)).await;
        assert_eq!(parked.len(), 1, "parked before its first request");
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(IDLE * 2, silent.read(&mut byte))
            .await
            .expect("closed at the header timeout");
        assert!(matches!(read, Ok(0)), "{read:?}");
        assert!(opened.elapsed() <= IDLE + SWEEP_EVERY + Duration::from_millis(500));
    }

    #[tokio::test]
    async fn a_parked_connection_that_was_never_used_keeps_its_first_header_deadline() {
        // Parking must not restart the header timeout: a client that sends its first head
        // slowly after waking is still cut at accept + header timeout (not park + timeout).
        let park = Duration::from_secs(1);
        let (addr, parked) = front_door_parking_after(park).await;
        let opened = Instant::now();
        let mut slow = TcpStream::connect(addr).await.unwrap();
        tokio::time::sleep(park + Duration::from_millis(300)).await;
        assert_eq!(parked.len(), 1);
        slow.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(IDLE * 2, slow.read(&mut byte))
            .await
            .expect("cut off");
        assert!(matches!(read, Ok(0)), "{read:?}");
        assert!(
            opened.elapsed() < IDLE + park / 2,
            "the header timeout restarted when the connection was parked: cut after {:?}",
            opened.elapsed()
        );
    }
}
