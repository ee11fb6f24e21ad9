//! A response body that ends with an error when the app sends nothing for the idle timeout
//! (55 s by default, as Heroku's router), so a stalled stream does not hold a connection
//! forever. Every piece that arrives starts the timer again, so long streams (server-sent
//! events, downloads) pass as long as they keep moving.

use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub(crate) struct IdleTimeout<B> {
    inner: B,
    timeout: Duration,
    /// When the last piece arrived (or the body began).
    moved_at: Instant,
    /// Armed only once the body has to wait, so a body that is ready at once (most
    /// responses) never touches the timer.
    sleep: Option<Pin<Box<Sleep>>>,
}

impl<B> IdleTimeout<B> {
    pub(crate) fn new(inner: B, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            moved_at: Instant::now(),
            sleep: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the app sent nothing for {0:?}")]
pub(crate) struct Idle(Duration);

impl<B> HttpBody for IdleTimeout<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.moved_at = Instant::now();
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                let deadline = this.moved_at + this.timeout;
                let sleep = match &mut this.sleep {
                    Some(sleep) => {
                        if sleep.deadline() != deadline {
                            sleep.as_mut().reset(deadline);
                        }
                        sleep
                    }
                    None => this
                        .sleep
                        .insert(Box::pin(tokio::time::sleep_until(deadline))),
                };
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(Idle(this.timeout))))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
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
    use http_body_util::{BodyExt, StreamBody};

    #[tokio::test]
    async fn a_stalled_body_is_cut_and_a_moving_one_passes() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, BoxError>>(4);
        let stream = tokio_stream_from(rx);
        let mut body = IdleTimeout::new(StreamBody::new(stream), Duration::from_millis(200));
        tx.send(Ok(Frame::data(Bytes::from_static(b"a"))))
            .await
            .unwrap();
        let first = body.frame().await.unwrap().unwrap();
        assert_eq!(first.into_data().unwrap(), Bytes::from_static(b"a"));
        // Nothing more: cut after the idle time.
        let cut = tokio::time::timeout(Duration::from_secs(2), body.frame())
            .await
            .expect("cut in time");
        assert!(matches!(cut, Some(Err(_))));
        drop(tx);
    }

    fn tokio_stream_from(
        mut rx: tokio::sync::mpsc::Receiver<Result<Frame<Bytes>, BoxError>>,
    ) -> impl futures_util::Stream<Item = Result<Frame<Bytes>, BoxError>> + Unpin {
        Box::pin(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))
    }
}
