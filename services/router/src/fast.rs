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

use crate::headers::{acceptable_request_id, new_request_id};
use crate::host::{classify_host, HostTarget};
use crate::pages::RouterError;
use crate::proxy::{millis, InFlight, Proxy};
use crate::records::{RecordError, RequestRecord};
use crate::table::Backend;
use std::cell::RefCell;
use std::io::Write as _;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// One buffer: a request head must fit in it (else the hyper path takes the connection).
const BUF_SIZE: usize = 8192;
/// A response head may grow its buffer up to this.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 64;
/// Free buffers a thread keeps.
const FREE_BUFFERS_KEPT: usize = 256;

thread_local! {
    static FREE: RefCell<Vec<Box<[u8]>>> = const { RefCell::new(Vec::new()) };
}

/// A buffer from the thread's free list, given back when dropped. `start..end` holds unread
/// bytes.
pub struct Buf {
    data: Box<[u8]>,
    start: usize,
    end: usize,
}

impl Buf {
    fn take() -> Self {
        let data = FREE
            .try_with(|free| free.borrow_mut().pop())
            .ok()
            .flatten()
            .unwrap_or_else(|| vec![0u8; BUF_SIZE].into_boxed_slice());
        Self {
            data,
            start: 0,
            end: 0,
        }
    }

    fn filled(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    fn len(&self) -> usize {
        self.end - self.start
    }

    fn is_empty(&self) -> bool {
        self.start == self.end
    }

    fn consume(&mut self, n: usize) {
        self.start += n.min(self.len());
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// Room to read into, after moving unread bytes to the front.
    fn spare(&mut self) -> &mut [u8] {
        if self.start > 0 {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        &mut self.data[self.end..]
    }

    fn advance(&mut self, n: usize) {
        self.end += n;
    }

    /// Doubles the buffer (not given back to the free list then), up to `max`.
    fn grow(&mut self, max: usize) -> bool {
        if self.data.len() >= max {
            return false;
        }
        let mut bigger = vec![0u8; (self.data.len() * 2).min(max)].into_boxed_slice();
        bigger[..self.len()].copy_from_slice(self.filled());
        self.end = self.len();
        self.start = 0;
        self.data = bigger;
        true
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        let data = std::mem::take(&mut self.data);
        if data.len() == BUF_SIZE {
            let _ = FREE.try_with(|free| {
                if let Ok(mut free) = free.try_borrow_mut() {
                    if free.len() < FREE_BUFFERS_KEPT {
                        free.push(data);
                    }
                }
            });
        }
    }
}

/// A connection handed to the hyper path: the bytes already read come first.
pub struct Rewind<T> {
    prefix: Option<Buf>,
    inner: T,
}

impl<T> Rewind<T> {
    pub fn new(prefix: Option<Buf>, inner: T) -> Self {
        Self { prefix, inner }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Rewind<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if let Some(prefix) = &mut self.prefix {
            if !prefix.is_empty() && buf.remaining() > 0 {
                let n = prefix.len().min(buf.remaining());
                buf.put_slice(&prefix.filled()[..n]);
                prefix.consume(n);
                if prefix.is_empty() {
                    self.prefix = None;
                }
                return Poll::Ready(Ok(()));
            }
            if prefix.is_empty() {
                self.prefix = None;
            }
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Rewind<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

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
                    match tokio::time::timeout_at(wake_at.into(), stream.readable()).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => return FastEnd::Closed,
                        Err(_) if wake_at >= close_at => return FastEnd::Closed,
                        Err(_) => {
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
            let step =
                Box::pin(self.fast_request(&mut stream, buf, peer, options, head_deadline)).await;
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
        self.forward(client, buf, request).await
    }

    async fn forward(&self, client: &mut TcpStream, mut buf: Buf, mut request: Request) -> Step {
        let addr = request.backend.addr;
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
                tracing::warn!(target: "router", app = request.app, dyno = %request.backend.dyno, "{err}; setting the process aside");
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
        match tokio::time::timeout_at(deadline, upstream.write_all(&out)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) if replayable => return Step::Fallback(buf),
            Ok(Err(_)) => {
                return self
                    .fail_fast(client, RouterError::ConnectionClosed, &request.facts)
                    .await
            }
            Err(_) => {
                return self
                    .fail_fast(client, RouterError::Timeout, &request.facts)
                    .await
            }
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
                match tokio::time::timeout_at(deadline, upstream.write_all(buf.filled())).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => {
                        return self
                            .fail_fast(client, RouterError::ConnectionClosed, &request.facts)
                            .await
                    }
                    Err(_) => {
                        return self
                            .fail_fast(client, RouterError::Timeout, &request.facts)
                            .await
                    }
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
                    match tokio::time::timeout_at(deadline, upstream.read(answer.spare())).await {
                        Ok(Ok(n)) if n > 0 => answer.advance(n),
                        Ok(_) if nothing_yet && replayable && consumed > 0 => {
                            // A kept connection the process had closed: nothing was seen.
                            return Step::Fallback(buf);
                        }
                        Ok(_) => {
                            tracing::warn!(target: "router", app = request.app, dyno = %request.backend.dyno, "connection closed without response");
                            return self
                                .fail_fast(client, RouterError::ConnectionClosed, &request.facts)
                                .await;
                        }
                        Err(_) => {
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
            &mut request,
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
        let elapsed = facts.at.elapsed().unwrap_or_default();
        self.record(RequestRecord {
            app: facts.app.clone(),
            at: facts.at,
            method: facts.method.clone(),
            path: facts.path.clone(),
            host: facts.host.clone(),
            request_id: facts.request_id.clone(),
            client: facts.peer.ip(),
            dyno: None,
            connect_ms: 0,
            service_ms: millis(elapsed),
            status: error.status().as_u16(),
            bytes: None,
            error: Some(RecordError {
                code: error.code().into(),
                description: error.description().into(),
            }),
        });
    }

    /// Records the answer, moving the request's facts into the record (nothing about the
    /// request is recorded after its answer's head).
    fn record_answer(
        &self,
        request: &mut Request,
        status: u16,
        bytes: Option<u64>,
        connect: Duration,
        service: Duration,
    ) {
        if !self.recorded() {
            return;
        }
        let facts = &mut request.facts;
        self.record(RequestRecord {
            app: std::mem::take(&mut facts.app),
            at: facts.at,
            method: std::mem::take(&mut facts.method),
            path: std::mem::take(&mut facts.path),
            host: std::mem::take(&mut facts.host),
            request_id: std::mem::take(&mut facts.request_id),
            client: facts.peer.ip(),
            dyno: Some(std::mem::take(&mut request.backend.dyno)),
            connect_ms: millis(connect),
            service_ms: millis(service),
            status,
            bytes,
            error: None,
        });
    }
}

/// What a record says about a request.
struct Facts {
    app: String,
    method: String,
    path: String,
    host: String,
    request_id: String,
    peer: SocketAddr,
    at: SystemTime,
}

/// A request the fast path takes.
struct Request {
    app: String,
    backend: Backend,
    head_len: usize,
    body_len: u64,
    /// The client asked to close the connection after this answer.
    close: bool,
    head_request: bool,
    /// The head as the process gets it.
    upstream_head: Vec<u8>,
    facts: Facts,
}

#[allow(clippy::large_enum_variant)] // made once per request, on the stack, never stored
enum Parsed {
    Partial,
    Fallback,
    Ready(Request),
}

fn is(name: &str, lower: &str) -> bool {
    name.eq_ignore_ascii_case(lower)
}

/// Headers that concern one connection only (`headers::HOP_BY_HOP`).
fn hop_by_hop(name: &str) -> bool {
    [
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ]
    .iter()
    .any(|h| is(name, h))
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &bytes[start..end.max(start)]
}

fn parse_length(value: &[u8]) -> Option<u64> {
    let value = trim(value);
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// A `Host` the fast path takes as it is: `name[:port]` of letters, digits, dots and dashes.
fn plain_host(value: &[u8]) -> Option<&str> {
    let value = std::str::from_utf8(trim(value)).ok()?;
    let (name, port) = match value.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (value, None),
    };
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u16>().is_ok()
    });
    (name_ok && port_ok).then_some(value)
}

/// Visible ASCII (what `HeaderValue::to_str` takes).
fn visible(value: &[u8]) -> Option<&str> {
    value
        .iter()
        .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
        .then(|| std::str::from_utf8(value).ok())
        .flatten()
}

/// Parses a request head at the start of `bytes` and decides whether the fast path takes it;
/// if so, picks the process and writes the head the process gets.
fn prepare(proxy: &Proxy, options: &FastOptions, bytes: &[u8], peer: SocketAddr) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Fallback,
    };
    let (Some(method), Some(target), Some(1)) = (req.method, req.path, req.version) else {
        return Parsed::Fallback;
    };
    if method == "CONNECT" || !target.starts_with('/') {
        return Parsed::Fallback;
    }
    let Ok(path_and_query) = http::uri::PathAndQuery::try_from(target) else {
        return Parsed::Fallback;
    };
    let mut host = None;
    let mut hosts = 0;
    let mut content_length = None;
    let mut close = false;
    let mut named: Vec<&[u8]> = Vec::new();
    let mut forwarded_for = None;
    let mut request_id = None;
    for header in req.headers.iter() {
        let name = header.name;
        if is(name, "host") {
            hosts += 1;
            host = Some(header.value);
        } else if is(name, "content-length") {
            if content_length.is_some() {
                return Parsed::Fallback;
            }
            match parse_length(header.value) {
                Some(length) => content_length = Some(length),
                None => return Parsed::Fallback,
            }
        } else if is(name, "transfer-encoding") || is(name, "upgrade") || is(name, "expect") {
            return Parsed::Fallback;
        } else if is(name, "connection") {
            for token in header.value.split(|&b| b == b',').map(trim) {
                if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if token.eq_ignore_ascii_case(b"upgrade") {
                    return Parsed::Fallback;
                } else if !token.is_empty() {
                    named.push(token);
                }
            }
        } else if is(name, "x-forwarded-for") {
            forwarded_for.get_or_insert(header.value);
        } else if is(name, "x-request-id") {
            request_id.get_or_insert(header.value);
        }
    }
    if hosts != 1 {
        return Parsed::Fallback;
    }
    let Some(host) = host.and_then(plain_host) else {
        return Parsed::Fallback;
    };
    let table = proxy.table.snapshot();
    let app = match classify_host(host, &options.domain) {
        HostTarget::App(app) => app.as_str().to_string(),
        HostTarget::Platform => match table.app_for_domain(host) {
            Some(app) => app.to_string(),
            None => return Parsed::Fallback,
        },
    };
    let Some(route) = table.apps.get(&app) else {
        return Parsed::Fallback;
    };
    if route.maintenance.is_some() {
        return Parsed::Fallback;
    }
    let Some(backend) = proxy.pick(&route.backends, &[]) else {
        return Parsed::Fallback;
    };
    let backend = backend.clone();

    let at = SystemTime::now();
    let request_id = request_id
        .and_then(visible)
        .filter(|id| acceptable_request_id(id))
        .map(str::to_string)
        .unwrap_or_else(new_request_id);
    let mut out = Vec::with_capacity(head_len + 256);
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for header in req.headers.iter() {
        let name = header.name;
        if hop_by_hop(name)
            || named
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name.as_bytes()))
            || is(name, "x-forwarded-for")
            || is(name, "x-forwarded-proto")
            || is(name, "x-forwarded-port")
            || is(name, "x-request-start")
            || is(name, "x-request-id")
        {
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(header.value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"x-forwarded-for: ");
    if let Some(existing) = forwarded_for
        .and_then(visible)
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        out.extend_from_slice(existing.as_bytes());
        out.extend_from_slice(b", ");
    }
    let start_ms = at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let _ = write!(
        out,
        "{}\r\nx-forwarded-proto: http\r\nx-forwarded-port: {}\r\nx-request-start: {}\r\nx-request-id: {request_id}\r\nvia: 1.1 paas\r\n\r\n",
        peer.ip(),
        options.local_port,
        u64::try_from(start_ms).unwrap_or(u64::MAX),
    );
    let recorded = proxy.recorded();
    Parsed::Ready(Request {
        facts: Facts {
            app: if recorded { app.clone() } else { String::new() },
            method: if recorded {
                method.to_string()
            } else {
                String::new()
            },
            path: if recorded {
                path_and_query.path().to_string()
            } else {
                String::new()
            },
            host: if recorded {
                host.to_string()
            } else {
                String::new()
            },
            request_id,
            peer,
            at,
        },
        app,
        backend,
        head_len,
        body_len: content_length.unwrap_or(0),
        close,
        head_request: method == "HEAD",
        upstream_head: out,
    })
}

/// How a response body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// None (a HEAD request, 204, 304).
    Empty,
    Length(u64),
    Chunked,
    /// Read until the process closes; sent chunked to the client.
    UntilClose,
}

#[derive(Debug)]
struct Response {
    head_len: usize,
    status: u16,
    /// 1xx (not 101): skipped, the real answer follows.
    informational: bool,
    content_length: Option<u64>,
    framing: Framing,
    upstream_keep_alive: bool,
    /// The head as the client gets it.
    client_head: Vec<u8>,
}

#[derive(Debug)]
enum ParsedResponse {
    Partial,
    Invalid,
    Ready(Response),
}

/// Parses a response head and writes the head the client gets: hop-by-hop headers removed
/// (`headers::strip_hop_by_hop`), chunked framing when the body is chunked or lasts until
/// close, `connection: close` when the client asked for it.
fn parse_response(bytes: &[u8], head_request: bool, client_close: bool) -> ParsedResponse {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut res = httparse::Response::new(&mut headers);
    let head_len = match res.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return ParsedResponse::Partial,
        Err(_) => return ParsedResponse::Invalid,
    };
    let (Some(version), Some(status)) = (res.version, res.code) else {
        return ParsedResponse::Invalid;
    };
    if status == 101 || !(100..1000).contains(&status) {
        return ParsedResponse::Invalid;
    }
    let informational = status < 200;
    let mut keep_alive = version == 1;
    let mut chunked = None;
    let mut content_length: Option<u64> = None;
    let mut named: Vec<&[u8]> = Vec::new();
    for header in res.headers.iter() {
        if is(header.name, "connection") {
            for token in header.value.split(|&b| b == b',').map(trim) {
                if token.eq_ignore_ascii_case(b"close") {
                    keep_alive = false;
                } else if !token.is_empty() && !token.eq_ignore_ascii_case(b"keep-alive") {
                    named.push(token);
                }
            }
        } else if is(header.name, "transfer-encoding") {
            let last = header.value.rsplit(|&b| b == b',').next().map(trim);
            chunked = Some(last.is_some_and(|c| c.eq_ignore_ascii_case(b"chunked")));
        } else if is(header.name, "content-length") {
            match (parse_length(header.value), content_length) {
                (Some(n), None) => content_length = Some(n),
                (Some(n), Some(m)) if n == m => {}
                _ => return ParsedResponse::Invalid,
            }
        }
    }
    let framing = if head_request || status == 204 || status == 304 || informational {
        Framing::Empty
    } else {
        match (chunked, content_length) {
            (Some(true), _) => Framing::Chunked,
            (Some(false), _) => Framing::UntilClose,
            (None, Some(n)) => Framing::Length(n),
            (None, None) => Framing::UntilClose,
        }
    };
    if informational {
        return ParsedResponse::Ready(Response {
            head_len,
            status,
            informational,
            content_length: None,
            framing,
            upstream_keep_alive: keep_alive,
            client_head: Vec::new(),
        });
    }
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut out = Vec::with_capacity(head_len + 64);
    let _ = write!(out, "HTTP/1.1 {status} {reason}\r\n");
    for header in res.headers.iter() {
        let name = header.name;
        if hop_by_hop(name)
            || named
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name.as_bytes()))
            || (chunked.is_some() && is(name, "content-length"))
        {
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(header.value);
        out.extend_from_slice(b"\r\n");
    }
    if matches!(framing, Framing::Chunked | Framing::UntilClose) {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    if client_close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    let keep_alive = keep_alive && framing != Framing::UntilClose;
    ParsedResponse::Ready(Response {
        head_len,
        status,
        informational,
        content_length: if chunked.is_some() {
            None
        } else {
            content_length
        },
        framing,
        upstream_keep_alive: keep_alive,
        client_head: out,
    })
}

/// `data` as one chunk.
fn chunk_frame(out: &mut Vec<u8>, data: &[u8]) {
    let _ = write!(out, "{:x}\r\n", data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Follows a chunked body as it passes, to find where it ends.
#[derive(Debug, Default)]
struct Chunks {
    state: ChunkState,
    size: u64,
    digits: usize,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Reading the size's hex digits.
    #[default]
    Size,
    /// After the size: extensions or spaces up to CR.
    Extension,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    /// After the last chunk: a trailer line or the final CRLF.
    TrailerStart,
    Trailer,
    TrailerLf,
    EndLf,
    Done,
}

impl Chunks {
    /// Follows `data`; `Ok(Some(n))`: the body ended after `data[..n]`.
    fn feed(&mut self, data: &[u8]) -> Result<Option<usize>, ()> {
        let mut i = 0;
        while i < data.len() {
            let b = data[i];
            match self.state {
                ChunkState::Size => match (b as char).to_digit(16) {
                    Some(d) if self.digits < 15 => {
                        self.size = self.size * 16 + u64::from(d);
                        self.digits += 1;
                    }
                    Some(_) => return Err(()),
                    None if self.digits == 0 => return Err(()),
                    None if b == b'\r' => self.state = ChunkState::SizeLf,
                    None if b == b';' || b == b' ' || b == b'\t' => {
                        self.state = ChunkState::Extension
                    }
                    None => return Err(()),
                },
                ChunkState::Extension => {
                    if b == b'\r' {
                        self.state = ChunkState::SizeLf;
                    } else if b == b'\n' {
                        return Err(());
                    }
                }
                ChunkState::SizeLf => {
                    if b != b'\n' {
                        return Err(());
                    }
                    self.state = if self.size == 0 {
                        ChunkState::TrailerStart
                    } else {
                        ChunkState::Data
                    };
                }
                ChunkState::Data => {
                    let take = usize::try_from(self.size)
                        .unwrap_or(usize::MAX)
                        .min(data.len() - i);
                    self.size -= take as u64;
                    i += take;
                    if self.size == 0 {
                        self.state = ChunkState::DataCr;
                    }
                    continue;
                }
                ChunkState::DataCr => {
                    if b != b'\r' {
                        return Err(());
                    }
                    self.state = ChunkState::DataLf;
                }
                ChunkState::DataLf => {
                    if b != b'\n' {
                        return Err(());
                    }
                    self.state = ChunkState::Size;
                    self.size = 0;
                    self.digits = 0;
                }
                ChunkState::TrailerStart => {
                    self.state = if b == b'\r' {
                        ChunkState::EndLf
                    } else if b == b'\n' {
                        return Err(());
                    } else {
                        ChunkState::Trailer
                    };
                }
                ChunkState::Trailer => {
                    if b == b'\r' {
                        self.state = ChunkState::TrailerLf;
                    }
                }
                ChunkState::TrailerLf => {
                    if b != b'\n' {
                        return Err(());
                    }
                    self.state = ChunkState::TrailerStart;
                }
                ChunkState::EndLf => {
                    if b != b'\n' {
                        return Err(());
                    }
                    self.state = ChunkState::Done;
                    return Ok(Some(i + 1));
                }
                ChunkState::Done => return Ok(Some(i)),
            }
            i += 1;
        }
        Ok((self.state == ChunkState::Done).then_some(data.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{AppRoute, RouteTable, RouteTableHandle};
    use crate::ProxyConfig;
    use proptest::prelude::*;

    const BACKEND: &str = "10.0.0.9:5000";

    fn proxy() -> Proxy {
        let table = RouteTableHandle::new();
        table.publish(RouteTable {
            apps: [(
                "hello".to_string(),
                AppRoute {
                    backends: vec![Backend {
                        addr: BACKEND.parse().unwrap(),
                        dyno: "web.1".into(),
                    }],
                    web_wanted: 1,
                    maintenance: None,
                },
            )]
            .into(),
            domains: [("www.example.com".to_string(), "hello".to_string())].into(),
        });
        Proxy::new(table, ProxyConfig::default())
    }

    fn options() -> FastOptions {
        FastOptions {
            domain: "localhost".into(),
            local_port: 8080,
            header_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(5),
            park_after: None,
        }
    }

    fn peer() -> SocketAddr {
        "1.2.3.4:5555".parse().unwrap()
    }

    fn ready(raw: &[u8]) -> Request {
        match prepare(&proxy(), &options(), raw, peer()) {
            Parsed::Ready(request) => request,
            Parsed::Partial => panic!("partial: {}", String::from_utf8_lossy(raw)),
            Parsed::Fallback => panic!("fallback: {}", String::from_utf8_lossy(raw)),
        }
    }

    fn falls_back(raw: &[u8]) -> bool {
        matches!(prepare(&proxy(), &options(), raw, peer()), Parsed::Fallback)
    }

    #[test]
    fn the_head_a_process_gets_follows_the_hyper_paths_rules() {
        let raw = b"GET /a?b=1 HTTP/1.1\r\nHost: hello.localhost:8080\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\nX-Request-Id: abcdefghij-0123456789\r\nVia: 1.0 other\r\nX-Kept: yes\r\n\r\nNEXT";
        let request = ready(raw);
        assert_eq!(request.head_len, raw.len() - 4);
        assert_eq!(request.backend.addr, BACKEND.parse().unwrap());
        assert_eq!(request.body_len, 0);
        assert!(!request.close);
        let head = String::from_utf8(request.upstream_head).unwrap();
        assert!(head.starts_with("GET /a?b=1 HTTP/1.1\r\n"), "{head}");
        assert!(head.ends_with("\r\n\r\n"), "{head}");
        let lower = head.to_ascii_lowercase();
        for gone in ["x-secret", "keep-alive", "te:", "connection", "https"] {
            assert!(!lower.contains(gone), "{gone} in {head}");
        }
        for kept in [
            "Host: hello.localhost:8080\r\n",
            "X-Kept: yes\r\n",
            "Via: 1.0 other\r\n",
            "via: 1.1 paas\r\n",
            "x-forwarded-for: 10.0.0.1, 1.2.3.4\r\n",
            "x-forwarded-proto: http\r\n",
            "x-forwarded-port: 8080\r\n",
            "x-request-id: abcdefghij-0123456789\r\n",
            "x-request-start: ",
        ] {
            assert!(head.contains(kept), "{kept:?} not in {head}");
        }
        assert_eq!(lower.matches("x-request-id").count(), 1, "{head}");
        assert_eq!(request.facts.request_id, "abcdefghij-0123456789");
    }

    #[test]
    fn a_short_request_id_is_replaced_and_a_body_length_read() {
        let request = ready(
            b"POST /x HTTP/1.1\r\nhost: www.example.com\r\nx-request-id: short\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
        );
        assert_eq!(request.app, "hello", "a custom domain");
        assert_eq!(request.body_len, 5);
        assert!(request.close);
        assert_ne!(request.facts.request_id, "short");
        assert!(uuid::Uuid::parse_str(&request.facts.request_id).is_ok());
        let head = String::from_utf8(request.upstream_head).unwrap();
        assert!(head.contains("content-length: 5\r\n"), "{head}");
        assert!(head.contains("x-forwarded-for: 1.2.3.4\r\n"), "{head}");
    }

    #[test]
    fn what_the_fast_path_does_not_take_goes_to_hyper() {
        for raw in [
            &b"GET / HTTP/1.0\r\nHost: hello.localhost\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: paas.localhost\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: nosuchapp.localhost\r\n\r\n",
            b"GET / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: hello.localhost\r\nHost: hello.localhost\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: user@hello.localhost\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: hello.localhost:99999\r\n\r\n",
            b"GET http://hello.localhost/ HTTP/1.1\r\nHost: hello.localhost\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: hello.localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: hello.localhost\r\nUpgrade: h2c\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: hello.localhost\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: hello.localhost\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: hello.localhost\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: hello.localhost\r\nContent-Length: -1\r\n\r\n",
            b"CONNECT hello.localhost:80 HTTP/1.1\r\nHost: hello.localhost\r\n\r\n",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost hello.localhost\r\n\r\n",
        ] {
            assert!(falls_back(raw), "{}", String::from_utf8_lossy(raw));
        }
        assert!(matches!(
            prepare(&proxy(), &options(), b"GET / HTTP/1.1\r\nHost: hel", peer()),
            Parsed::Partial
        ));
    }

    fn response(raw: &[u8], head: bool, close: bool) -> Response {
        match parse_response(raw, head, close) {
            ParsedResponse::Ready(response) => response,
            other => panic!("{other:?}: {}", String::from_utf8_lossy(raw)),
        }
    }

    #[test]
    fn response_framing_and_headers() {
        let r = response(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nX-App: 1\r\n\r\nhello",
            false,
            false,
        );
        assert_eq!(r.framing, Framing::Length(5));
        assert_eq!(r.content_length, Some(5));
        assert!(r.upstream_keep_alive);
        let head = String::from_utf8(r.client_head).unwrap();
        assert_eq!(
            head,
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-App: 1\r\n\r\n"
        );

        let r = response(
            b"HTTP/1.1 404 Whatever\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n",
            false,
            true,
        );
        assert_eq!(r.framing, Framing::Chunked);
        assert_eq!(r.content_length, None);
        assert_eq!(
            String::from_utf8(r.client_head).unwrap(),
            "HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
        );

        let r = response(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n",
            false,
            false,
        );
        assert_eq!(r.framing, Framing::UntilClose);
        assert!(!r.upstream_keep_alive);
        let r = response(
            b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
            false,
            false,
        );
        assert!(!r.upstream_keep_alive, "HTTP/1.0");
        let r = response(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n", true, false);
        assert_eq!(r.framing, Framing::Empty, "HEAD");
        assert!(String::from_utf8(r.client_head)
            .unwrap()
            .contains("Content-Length: 7"));
        let r = response(b"HTTP/1.1 304 Not Modified\r\n\r\n", false, false);
        assert_eq!(r.framing, Framing::Empty);
        let r = response(b"HTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n", false, false);
        assert!(r.informational);
        for bad in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"[..],
            b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
            b"nonsense\r\n\r\n",
        ] {
            assert!(matches!(
                parse_response(bad, false, false),
                ParsedResponse::Invalid
            ));
        }
    }

    #[test]
    fn a_chunked_body_ends_where_its_last_chunk_and_trailers_end_however_it_is_split() {
        let body =
            b"5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\n";
        let extra = b"HTTP/1.1 200 OK";
        let mut all = body.to_vec();
        all.extend_from_slice(extra);
        for split in 0..=all.len() {
            let mut chunks = Chunks::default();
            let (a, b) = all.split_at(split);
            let end = match chunks.feed(a).unwrap() {
                Some(end) => end,
                None => split + chunks.feed(b).unwrap().expect("ends in the second part"),
            };
            assert_eq!(end, body.len(), "split at {split}");
        }
        assert_eq!(Chunks::default().feed(b"0\r\n\r\n").unwrap(), Some(5));
        assert_eq!(Chunks::default().feed(b"5\r\nhel").unwrap(), None);
        assert!(Chunks::default().feed(b"zz\r\n").is_err());
        assert!(Chunks::default().feed(b"5\r\nhelloXX").is_err());
    }

    #[tokio::test]
    async fn rewind_yields_the_prefix_then_the_stream() {
        let mut prefix = Buf::take();
        prefix.spare()[..5].copy_from_slice(b"hello");
        prefix.advance(5);
        let mut rewind = Rewind::new(Some(prefix), &b" world"[..]);
        let mut all = String::new();
        rewind.read_to_string(&mut all).await.unwrap();
        assert_eq!(all, "hello world");
    }

    #[test]
    fn buffers_go_back_to_the_free_list() {
        let before = FREE.with(|f| f.borrow().len());
        drop(Buf::take());
        let after = FREE.with(|f| f.borrow().len());
        assert_eq!(after, before.max(1));
        let mut big = Buf::take();
        assert!(big.grow(MAX_RESPONSE_HEAD));
        drop(big);
        assert_eq!(
            FREE.with(|f| f.borrow().len()),
            after - 1,
            "a grown buffer is not kept"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// Random bytes and random heads: parsing never panics, and a taken request's head
        /// for the process ends its header block once.
        #[test]
        fn parsing_random_bytes_never_panics(
            raw in proptest::collection::vec(any::<u8>(), 0..600),
            head in "(GET|POST|HEAD|X) /[ -~]{0,20} HTTP/1\\.[01]\r\n(Host: hello\\.localhost\r\n)?([A-Za-z-]{1,10}: [ -~]{0,20}\r\n){0,6}\r\n",
        ) {
            let proxy = proxy();
            for bytes in [&raw[..], head.as_bytes()] {
                if let Parsed::Ready(request) = prepare(&proxy, &options(), bytes, peer()) {
                    prop_assert!(request.head_len <= bytes.len());
                    let upstream = String::from_utf8_lossy(&request.upstream_head).to_string();
                    prop_assert_eq!(upstream.matches("\r\n\r\n").count(), 1, "{}", upstream);
                }
                let _ = parse_response(bytes, false, false);
                let mut chunks = Chunks::default();
                for piece in bytes.chunks(7) {
                    if !matches!(chunks.feed(piece), Ok(None)) {
                        break;
                    }
                }
            }
        }
    }
}
