//! The socket as the front door serves it: `TrackedIo` notes every byte read or written in the
//! connection's `Activity` and holds the connection's permit, so the slot is given back exactly
//! when the socket is closed. `TrackedBody` keeps a request counted as in flight until its
//! response body has been sent (or dropped).

use super::idle::{Activity, InFlight};
use super::limits::ConnectionPermit;
use axum::body::{Body, Bytes};
use hyper::body::{Frame, SizeHint};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub struct TrackedIo<T> {
    inner: T,
    activity: Arc<Activity>,
    _permit: Option<ConnectionPermit>,
}

impl<T> TrackedIo<T> {
    pub fn new(inner: T, activity: Arc<Activity>, permit: Option<ConnectionPermit>) -> Self {
        Self {
            inner,
            activity,
            _permit: permit,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TrackedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch_at(Instant::now());
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TrackedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch_at(Instant::now());
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch_at(Instant::now());
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A response body that keeps its request in flight until it is done.
pub struct TrackedBody {
    inner: Body,
    _in_flight: InFlight,
}

impl TrackedBody {
    pub fn new(inner: Body, in_flight: InFlight) -> Self {
        Self {
            inner,
            _in_flight: in_flight,
        }
    }
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front_door::limits::ConnectionLimiter;
    use http_body_util::BodyExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn bytes_either_way_count_as_activity_and_the_permit_goes_with_the_socket() {
        let start = Instant::now();
        let activity = Activity::new(start);
        let limiter = ConnectionLimiter::new(1, 1);
        let ip = "127.0.0.1".parse().unwrap();
        let permit = limiter.try_acquire(ip).unwrap();
        let (ours, mut theirs) = tokio::io::duplex(64);
        let mut io = TrackedIo::new(ours, activity.clone(), Some(permit));
        drop(activity.request_started());
        let timeouts = super::super::idle::Timeouts {
            header: std::time::Duration::from_secs(1),
            idle: std::time::Duration::from_secs(1),
        };
        let deadline = |verdict| match verdict {
            super::super::idle::Verdict::WaitUntil(at) => at,
            other => panic!("{other:?}"),
        };
        let before = deadline(activity.check(start, timeouts));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;

        theirs.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        io.read_exact(&mut buf).await.unwrap();
        io.write_all(b"pong").await.unwrap();
        theirs.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
        let after = deadline(activity.check(start, timeouts));
        assert!(after >= before + std::time::Duration::from_millis(20));

        assert_eq!(limiter.open(ip), (1, 1));
        drop(io);
        assert_eq!(limiter.open(ip), (0, 0));
    }

    #[tokio::test]
    async fn a_request_stays_in_flight_until_its_body_is_consumed() {
        let activity = Activity::new(Instant::now());
        let body = TrackedBody::new(Body::from("hello"), activity.request_started());
        assert_eq!(activity.in_flight(), 1);
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"hello");
        assert_eq!(activity.in_flight(), 0);
    }
}
