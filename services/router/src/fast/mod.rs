//! The router's fast path: plain HTTP/1.1 requests to an app, proxied without hyper. A client
//! connection holds no buffer between requests (it waits for readability alone); a request
//! takes a buffer from its thread's free list, its head is parsed in place (`httparse`) and
//! rewritten with the same rules as the hyper path (`headers.rs`), the body is copied by its
//! `Content-Length`, and the answer relayed by its length, its chunks (framing passed through,
//! its end tracked so the process's connection is reused) or until the process closes. The
//! process connection comes from a per-thread pool of plain keep-alive sockets.
//!
//! Everything else goes to the hyper path for the rest of the connection, with the bytes read
//! so far replayed first (`Rewind`): HTTP/1.0 and HTTP/2, upgrades, `Expect`, chunked
//! request bodies, platform hosts, ambiguous hosts, heads over one buffer, malformed heads,
//! apps in maintenance or without a process now, a process that refuses the connection (set
//! aside first, so the hyper path tries another or holds the request), and a pooled
//! connection found closed before a bodiless request got any answer. Once a request was sent,
//! failures are answered here, with the same pages, codes and records as the hyper path.
//!
//! The files: `buf.rs` the buffers and `Rewind`; `request.rs` a request head parsed, judged
//! and rewritten for the process (`prepare`); `response.rs` a response head parsed and
//! rewritten for the client, and a body's end found; here, the connection's loop
//! (`Proxy::serve_fast`), one request's exchange (`forward`) and its records.

mod buf;
mod request;
mod response;
mod timer;

pub use buf::Rewind;

use crate::pages::RouterError;
use crate::proxy::{millis, InFlight, Proxy};
use crate::records::RequestRecord;
use buf::Buf;
use request::{prepare, Facts, Parsed, Request};
use response::{chunk_frame, parse_response, Chunks, Framing, ParsedResponse};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::{Duration, Instant};
use timer::{before, kept_timer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

/// A response head may grow its buffer up to this.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 64;

/// One read into `buf`'s spare room if the socket has bytes (or its end); `None`, without
/// waiting, when it has none after all. Unlike `try_read`, a read that does not fill the buffer
/// clears the socket's readiness (tokio's `poll_read` does so), so the next wait for a request
/// does not wake at once only to find nothing: a `recv` saved per request.
async fn read_once(stream: &mut TcpStream, buf: &mut Buf) -> Option<std::io::Result<usize>> {
    std::future::poll_fn(|cx| {
        let mut read = ReadBuf::new(buf.spare());
        match Pin::new(&mut *stream).poll_read(cx, &mut read) {
            Poll::Ready(Ok(())) => Poll::Ready(Some(Ok(read.filled().len()))),
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Pending => Poll::Ready(None),
        }
    })
    .await
}

/// Writes `bytes` to the process by `deadline` (on the connection's answer timer): a failed
/// write is H13's cause, a late one H12's.
async fn write_upstream(
    upstream: &mut TcpStream,
    bytes: &[u8],
    timer: Pin<&mut Sleep>,
    deadline: tokio::time::Instant,
) -> Result<(), RouterError> {
    match before(timer, deadline, upstream.write_all(bytes)).await {
        Some(Ok(())) => Ok(()),
        Some(Err(_)) => Err(RouterError::ConnectionClosed),
        None => Err(RouterError::Timeout),
    }
}

/// What the fast path needs to know about the port it serves.
#[derive(Debug, Clone)]
pub struct FastOptions {
    /// The platform domain (`<app>.<domain>` hosts are apps).
    pub domain: String,
    /// The port clients connected to (`X-Forwarded-Port`).
    pub local_port: u16,
    /// A request head must arrive within this (the first: of the connection's accept).
    pub header_timeout: Duration,
    /// A connection with no request for this long is closed.
    pub idle_timeout: Duration,
    /// A connection with no request for this long leaves its task (`FastEnd::Idle`), for the
    /// caller to park it; `None`: it waits in its task until the idle timeout.
    pub park_after: Option<Duration>,
}

/// How `Proxy::serve_fast` gave a connection back.
pub enum FastEnd {
    /// The connection is over.
    Closed,
    /// The hyper path takes the connection, with the bytes read from it so far.
    Fallback(Rewind<TcpStream>),
    /// No request came for `park_after`: nothing is buffered, no request is under way.
    Idle(IdleConnection),
}

/// A connection with no request under way, to be resumed by `serve_fast` when it is readable.
pub struct IdleConnection {
    pub stream: TcpStream,
    /// When to close it if no request comes.
    pub close_at: Instant,
    /// What `serve_fast` needs to resume it.
    pub resume: Resume,
}

/// Where a connection's fast-path service starts: a new connection, or an idle one resumed.
#[derive(Debug, Clone, Copy)]
pub struct Resume {
    /// The deadline of the next request head when it is the connection's first (the header
    /// timeout counts from the accept); `None`: the header timeout counts from its first byte.
    first_head_by: Option<Instant>,
}

impl Resume {
    /// A connection accepted at `accepted`.
    pub fn accepted(accepted: Instant, options: &FastOptions) -> Self {
        Self {
            first_head_by: Some(accepted + options.header_timeout),
        }
    }
}

/// What became of one request on the fast path.
enum Step {
    /// Answered; the connection goes on, with any bytes of the next request already read.
    Next(Option<Buf>),
    /// The connection is over.
    Close,
    /// The hyper path takes the connection, these bytes first.
    Fallback(Buf),
}

impl Proxy {
    /// Serves `stream`'s requests on the fast path while they qualify, from `resume` (see
    /// `Resume::accepted`). Gives the connection back when the hyper path must take over,
    /// when it has been idle for `park_after`, or when it is over.
    pub async fn serve_fast(
        &self,
        mut stream: TcpStream,
        peer: SocketAddr,
        options: &FastOptions,
        resume: Resume,
    ) -> FastEnd {
        let mut first_head_by = resume.first_head_by;
        let mut pending: Option<Buf> = None;
        // Kept for the connection's life: no timer registered and removed per request.
        let mut idle_timer = std::pin::pin!(kept_timer());
        let mut answer_timer = std::pin::pin!(kept_timer());
        loop {
            if pending.is_none() {
                // Idle: no buffer held, only the socket's readiness awaited. A buffer is taken
                // for the read that readiness promises, and given back at once when there was
                // nothing after all (that read clears the readiness).
                let now = Instant::now();
                let close_at = first_head_by.unwrap_or(now + options.idle_timeout);
                let park_at = options.park_after.map(|after| now + after);
                let wake_at = park_at.map_or(close_at, |park| park.min(close_at));
                loop {
                    match before(idle_timer.as_mut(), wake_at.into(), stream.readable()).await {
                        Some(Ok(())) => {}
                        Some(Err(_)) => return FastEnd::Closed,
                        None if wake_at >= close_at => return FastEnd::Closed,
                        None => {
                            return FastEnd::Idle(IdleConnection {
                                stream,
                                close_at,
                                resume: Resume { first_head_by },
                            })
                        }
                    }
                    let mut buf = Buf::take();
                    match read_once(&mut stream, &mut buf).await {
                        Some(Ok(0)) => return FastEnd::Closed,
                        Some(Ok(n)) => {
                            buf.advance(n);
                            pending = Some(buf);
                            break;
                        }
                        None => {}
                        Some(Err(_)) => return FastEnd::Closed,
                    }
                }
            }
            let buf = pending.take().unwrap_or_else(Buf::take);
            let head_deadline = first_head_by
                .take()
                .unwrap_or_else(|| Instant::now() + options.header_timeout);
            // Not boxed: the request's state lives in the connection's task (allocated once
            // per connection, and gone when the connection parks), not in an allocation per
            // request.
            let step = self
                .fast_request(
                    &mut stream,
                    buf,
                    peer,
                    options,
                    head_deadline,
                    answer_timer.as_mut(),
                )
                .await;
            match step {
                Step::Next(rest) => pending = rest,
                Step::Close => return FastEnd::Closed,
                Step::Fallback(buf) => return FastEnd::Fallback(Rewind::new(Some(buf), stream)),
            }
        }
    }

    async fn fast_request(
        &self,
        client: &mut TcpStream,
        mut buf: Buf,
        peer: SocketAddr,
        options: &FastOptions,
        head_deadline: Instant,
        answer_timer: Pin<&mut Sleep>,
    ) -> Step {
        let head_deadline: tokio::time::Instant = head_deadline.into();
        let request = loop {
            match prepare(self, options, buf.filled(), peer) {
                Parsed::Ready(request) => break request,
                Parsed::Fallback => return Step::Fallback(buf),
                Parsed::Partial => {
                    let spare = buf.spare();
                    if spare.is_empty() {
                        return Step::Fallback(buf);
                    }
                    match tokio::time::timeout_at(head_deadline, client.read(spare)).await {
                        Ok(Ok(0)) if buf.is_empty() => return Step::Close,
                        Ok(Ok(0)) => return Step::Fallback(buf),
                        Ok(Ok(n)) => buf.advance(n),
                        _ => return Step::Close,
                    }
                }
            }
        };
        self.forward(client, buf, request, answer_timer).await
    }

    /// Sends `request` to its process and relays the answer; `answer_timer`, the connection's,
    /// bounds the writes to the process and the wait for the answer's head.
    async fn forward(
        &self,
        client: &mut TcpStream,
        mut buf: Buf,
        mut request: Request,
        mut answer_timer: Pin<&mut Sleep>,
    ) -> Step {
        let addr = request.addr;
        let in_flight = {
            let counter = self.table.counter(addr);
            counter.fetch_add(1, Ordering::Relaxed);
            InFlight(counter)
        };
        let connect_started = Instant::now();
        let (mut upstream, reused) = match self
            .raw
            .checkout(addr, self.config.connect_timeout)
            .await
        {
            Ok(connection) => connection,
            Err(err) => {
                tracing::warn!(target: "router", app = request.facts.app(), dyno = request.facts.dyno(), "{err}; setting the process aside");
                self.stats
                    .bench(addr, Instant::now() + self.config.bench_time);
                // Nothing was sent: the hyper path tries another process or holds it.
                return Step::Fallback(buf);
            }
        };
        let sent_at = Instant::now();
        let connect = sent_at.duration_since(connect_started);
        let deadline: tokio::time::Instant = (sent_at + self.config.response_timeout).into();

        // The head, and as much of the body as was read with it.
        let in_buf = usize::try_from(request.body_len)
            .unwrap_or(usize::MAX)
            .min(buf.len() - request.head_len);
        let mut out = std::mem::take(&mut request.upstream_head);
        out.extend_from_slice(&buf.filled()[request.head_len..request.head_len + in_buf]);
        let replayable = request.body_len == 0 && reused;
        match write_upstream(&mut upstream, &out, answer_timer.as_mut(), deadline).await {
            Ok(()) => {}
            Err(RouterError::ConnectionClosed) if replayable => return Step::Fallback(buf),
            Err(error) => return self.fail_fast(client, error, &request.facts).await,
        }
        drop(out);
        let mut remaining = request.body_len - in_buf as u64;
        // While the whole request is still in `buf`, it can be replayed to the hyper path.
        let consumed = if remaining == 0 {
            request.head_len + in_buf
        } else {
            0
        };
        if remaining > 0 {
            buf.consume(request.head_len + in_buf);
            while remaining > 0 {
                let spare = buf.spare();
                let want = spare
                    .len()
                    .min(usize::try_from(remaining).unwrap_or(usize::MAX));
                let n = match client.read(&mut spare[..want]).await {
                    Ok(0) | Err(_) => {
                        self.record_error(RouterError::BadRequestBody, &request.facts);
                        return Step::Close;
                    }
                    Ok(n) => n,
                };
                buf.advance(n);
                let timer = answer_timer.as_mut();
                if let Err(error) =
                    write_upstream(&mut upstream, buf.filled(), timer, deadline).await
                {
                    return self.fail_fast(client, error, &request.facts).await;
                }
                buf.clear();
                remaining -= n as u64;
            }
        }

        // The answer's head.
        let mut answer = Buf::take();
        let response = loop {
            match parse_response(answer.filled(), request.head_request, request.close) {
                ParsedResponse::Ready(response) if response.informational => {
                    answer.consume(response.head_len);
                }
                ParsedResponse::Ready(response) => break response,
                ParsedResponse::Invalid => {
                    return self
                        .fail_fast(client, RouterError::ConnectionClosed, &request.facts)
                        .await
                }
                ParsedResponse::Partial => {
                    if answer.spare().is_empty() && !answer.grow(MAX_RESPONSE_HEAD) {
                        return self
                            .fail_fast(client, RouterError::ConnectionClosed, &request.facts)
                            .await;
                    }
                    let nothing_yet = answer.is_empty();
                    let read = upstream.read(answer.spare());
                    match before(answer_timer.as_mut(), deadline, read).await {
                        Some(Ok(n)) if n > 0 => answer.advance(n),
                        Some(_) if nothing_yet && replayable && consumed > 0 => {
                            // A kept connection the process had closed: nothing was seen.
                            return Step::Fallback(buf);
                        }
                        Some(_) => {
                            tracing::warn!(target: "router", app = request.facts.app(), dyno = request.facts.dyno(), "connection closed without response");
                            return self
                                .fail_fast(client, RouterError::ConnectionClosed, &request.facts)
                                .await;
                        }
                        None => {
                            return self
                                .fail_fast(client, RouterError::Timeout, &request.facts)
                                .await
                        }
                    }
                }
            }
        };
        buf.consume(consumed);
        let service = sent_at.elapsed();
        self.record_answer(
            &request,
            response.status,
            response.content_length,
            connect,
            service,
        );

        // The answer's body.
        let mut head = response.client_head;
        answer.consume(response.head_len);
        let mut reusable = response.upstream_keep_alive;
        let idle = self.config.idle_timeout;
        let done = match response.framing {
            Framing::Empty => {
                reusable &= answer.is_empty();
                client.write_all(&head).await.is_ok()
            }
            Framing::Length(length) => {
                let first = usize::try_from(length)
                    .unwrap_or(usize::MAX)
                    .min(answer.len());
                head.extend_from_slice(&answer.filled()[..first]);
                reusable &= answer.len() == first;
                answer.clear();
                let mut left = length - first as u64;
                let mut ok = client.write_all(&head).await.is_ok();
                drop(head);
                while ok && left > 0 {
                    let spare = answer.spare();
                    let want = spare.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    match tokio::time::timeout(idle, upstream.read(&mut spare[..want])).await {
                        Ok(Ok(n)) if n > 0 => {
                            ok = client.write_all(&spare[..n]).await.is_ok();
                            left -= n as u64;
                        }
                        _ => ok = false,
                    }
                }
                ok
            }
            Framing::Chunked => {
                let mut chunks = Chunks::default();
                let mut ended = match chunks.feed(answer.filled()) {
                    Ok(Some(end)) => {
                        reusable &= end == answer.len();
                        head.extend_from_slice(&answer.filled()[..end]);
                        true
                    }
                    Ok(None) => {
                        head.extend_from_slice(answer.filled());
                        false
                    }
                    Err(()) => {
                        let _ = client.write_all(&head).await;
                        drop(head);
                        return Step::Close;
                    }
                };
                answer.clear();
                let mut ok = client.write_all(&head).await.is_ok();
                drop(head);
                while ok && !ended {
                    let spare = answer.spare();
                    match tokio::time::timeout(idle, upstream.read(spare)).await {
                        Ok(Ok(n)) if n > 0 => match chunks.feed(&spare[..n]) {
                            Ok(Some(end)) => {
                                reusable &= end == n;
                                ended = true;
                                ok = client.write_all(&spare[..end]).await.is_ok();
                            }
                            Ok(None) => ok = client.write_all(&spare[..n]).await.is_ok(),
                            Err(()) => ok = false,
                        },
                        _ => ok = false,
                    }
                }
                ok
            }
            Framing::UntilClose => {
                reusable = false;
                if !answer.is_empty() {
                    chunk_frame(&mut head, answer.filled());
                }
                answer.clear();
                let mut ok = client.write_all(&head).await.is_ok();
                drop(head);
                let mut frame = Vec::new();
                loop {
                    if !ok {
                        break false;
                    }
                    let spare = answer.spare();
                    match tokio::time::timeout(idle, upstream.read(spare)).await {
                        Ok(Ok(0)) => break client.write_all(b"0\r\n\r\n").await.is_ok(),
                        Ok(Ok(n)) => {
                            frame.clear();
                            chunk_frame(&mut frame, &spare[..n]);
                            ok = client.write_all(&frame).await.is_ok();
                        }
                        _ => break false,
                    }
                }
            }
        };
        drop(answer);
        if done && reusable {
            self.raw.put(addr, upstream);
        }
        drop(in_flight);
        if !done || request.close {
            return Step::Close;
        }
        Step::Next((!buf.is_empty()).then_some(buf))
    }

    /// Answers `error`'s page (closing the connection) and records it.
    async fn fail_fast(&self, client: &mut TcpStream, error: RouterError, facts: &Facts) -> Step {
        self.record_error(error, facts);
        let _ = client.write_all(&error.raw_page()).await;
        Step::Close
    }

    fn recorded(&self) -> bool {
        self.records.is_some() || tracing::enabled!(target: "router", tracing::Level::DEBUG)
    }

    fn record_error(&self, error: RouterError, facts: &Facts) {
        if !self.recorded() {
            return;
        }
        self.record(&RequestRecord::router_error(
            facts.app(),
            facts.at,
            &facts.method,
            facts.path(),
            facts.host(),
            facts.request_id(),
            facts.peer.ip(),
            error,
        ));
    }

    /// Records the answer (its line is written on this thread; nothing about the request
    /// is recorded after its answer's head).
    fn record_answer(
        &self,
        request: &Request,
        status: u16,
        bytes: Option<u64>,
        connect: Duration,
        service: Duration,
    ) {
        if !self.recorded() {
            return;
        }
        let facts = &request.facts;
        self.record(&RequestRecord {
            app: facts.app(),
            at: facts.at,
            method: &facts.method,
            path: facts.path(),
            host: facts.host(),
            request_id: facts.request_id(),
            client: facts.peer.ip(),
            dyno: Some(request.facts.dyno()),
            connect_ms: millis(connect),
            service_ms: millis(service),
            status,
            bytes,
            error: None,
        });
    }
}
