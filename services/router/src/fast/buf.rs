//! The fast path's buffers: `Buf`, taken from its thread's free list and given back when
//! dropped, and `Rewind`, a connection handed to the hyper path with the bytes read so far first.

use std::cell::RefCell;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// One buffer: a request head must fit in it (else the hyper path takes the connection).
const BUF_SIZE: usize = 8192;
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
    pub(super) fn take() -> Self {
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

    pub(super) fn filled(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    pub(super) fn len(&self) -> usize {
        self.end - self.start
    }

    pub(super) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub(super) fn consume(&mut self, n: usize) {
        self.start += n.min(self.len());
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    pub(super) fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// Room to read into, after moving unread bytes to the front.
    pub(super) fn spare(&mut self) -> &mut [u8] {
        if self.start > 0 {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        &mut self.data[self.end..]
    }

    pub(super) fn advance(&mut self, n: usize) {
        self.end += n;
    }

    /// Doubles the buffer (not given back to the free list then), up to `max`.
    pub(super) fn grow(&mut self, max: usize) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fast::MAX_RESPONSE_HEAD;
    use tokio::io::AsyncReadExt;

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
}
