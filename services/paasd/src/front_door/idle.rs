//! Idle connections: each connection's `Activity` records when bytes last moved and how many
//! requests are in flight, and `drive` serves the connection until it ends or a timeout says it
//! must go:
//!
//! - a connection that has not completed a request head within the header timeout of being
//!   accepted is dropped (hyper's own header timer only starts once HTTP/1 is detected, so a
//!   client that sends nothing at all would otherwise wait forever);
//! - a connection with no request in flight and no bytes for the idle timeout is shut down
//!   gracefully (HTTP/2 gets a GOAWAY), and dropped if it still lingers after another header
//!   timeout.
//!
//! A request in flight is never cut: long answers (a `git push` waiting for its release) may be
//! quiet for a while.

use hyper_util::server::graceful::GracefulConnection;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The two timeouts `drive` enforces.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub header: Duration,
    pub idle: Duration,
}

/// What one connection did, shared by its socket wrapper, its service and its driver.
#[derive(Debug)]
pub struct Activity {
    accepted: Instant,
    /// Milliseconds after `accepted` when bytes last moved either way.
    last_io_ms: AtomicU64,
    in_flight: AtomicUsize,
    requests: AtomicU64,
    /// Wakes the driver when the first request starts (its header deadline no longer holds).
    first_request: Notify,
}

/// What the driver does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to do before this instant.
    WaitUntil(Instant),
    /// Idle too long: stop after the request in progress, if any.
    ShutDown,
    /// No request head in time: drop the connection now.
    Drop,
}

impl Activity {
    pub fn new(accepted: Instant) -> Arc<Self> {
        Arc::new(Self {
            accepted,
            last_io_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            first_request: Notify::new(),
        })
    }

    /// Bytes moved at `now`.
    pub fn touch_at(&self, now: Instant) {
        let ms = now.saturating_duration_since(self.accepted).as_millis();
        self.last_io_ms
            .fetch_max(u64::try_from(ms).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// A request head arrived; the request counts as in flight until the guard is dropped
    /// (with the response body, once it is sent).
    pub fn request_started(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        if self.requests.fetch_add(1, Ordering::Relaxed) == 0 {
            self.first_request.notify_one();
        }
        InFlight(self.clone())
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// The rules of this module, at `now`.
    pub fn check(&self, now: Instant, timeouts: Timeouts) -> Verdict {
        if self.requests.load(Ordering::Relaxed) == 0 {
            let deadline = self.accepted + timeouts.header;
            return if now >= deadline {
                Verdict::Drop
            } else {
                Verdict::WaitUntil(deadline)
            };
        }
        if self.in_flight() > 0 {
            return Verdict::WaitUntil(now + timeouts.idle);
        }
        let last_io =
            self.accepted + Duration::from_millis(self.last_io_ms.load(Ordering::Relaxed));
        let deadline = last_io + timeouts.idle;
        if now >= deadline {
            Verdict::ShutDown
        } else {
            Verdict::WaitUntil(deadline)
        }
    }
}

/// A request in flight on a connection.
#[derive(Debug)]
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves `conn` until it ends, shutting it down or dropping it as `activity` and `timeouts`
/// say.
pub async fn drive<C>(conn: C, activity: Arc<Activity>, timeouts: Timeouts)
where
    C: GracefulConnection,
    C::Error: std::fmt::Display,
{
    let mut conn = std::pin::pin!(conn);
    let mut hard_deadline: Option<Instant> = None;
    loop {
        let now = Instant::now();
        let wake = match hard_deadline {
            Some(deadline) if now >= deadline => {
                tracing::debug!("dropping a connection that did not close after shutdown");
                return;
            }
            Some(deadline) => deadline,
            None => match activity.check(now, timeouts) {
                Verdict::WaitUntil(at) => at,
                Verdict::Drop => {
                    tracing::debug!("dropping a connection that sent no request head in time");
                    return;
                }
                Verdict::ShutDown => {
                    tracing::debug!("closing an idle connection");
                    conn.as_mut().graceful_shutdown();
                    let deadline = now + timeouts.header;
                    hard_deadline = Some(deadline);
                    deadline
                }
            },
        };
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!("connection ended: {e}");
                }
                return;
            }
            _ = tokio::time::sleep_until(wake.into()) => {}
            _ = activity.first_request.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timeouts = Timeouts {
        header: Duration::from_secs(10),
        idle: Duration::from_secs(60),
    };

    #[test]
    fn no_request_head_within_the_header_timeout_drops_the_connection() {
        let start = Instant::now();
        let activity = Activity::new(start);
        // Bytes alone (a slow head) do not extend the deadline.
        activity.touch_at(start + Duration::from_secs(9));
        assert_eq!(
            activity.check(start + Duration::from_secs(5), T),
            Verdict::WaitUntil(start + T.header)
        );
        assert_eq!(activity.check(start + T.header, T), Verdict::Drop);
    }

    #[test]
    fn an_idle_connection_is_shut_down_after_the_idle_timeout() {
        let start = Instant::now();
        let activity = Activity::new(start);
        let request = activity.request_started();
        activity.touch_at(start + Duration::from_secs(1));
        drop(request);
        let last = start + Duration::from_secs(1);
        assert_eq!(
            activity.check(start + Duration::from_secs(30), T),
            Verdict::WaitUntil(last + T.idle)
        );
        assert_eq!(activity.check(last + T.idle, T), Verdict::ShutDown);
    }

    #[test]
    fn bytes_push_the_idle_deadline_back() {
        let start = Instant::now();
        let activity = Activity::new(start);
        drop(activity.request_started());
        activity.touch_at(start + Duration::from_secs(50));
        // An older timestamp arriving late never moves the deadline forward.
        activity.touch_at(start + Duration::from_secs(20));
        assert_eq!(
            activity.check(start + Duration::from_secs(70), T),
            Verdict::WaitUntil(start + Duration::from_secs(110))
        );
    }

    #[test]
    fn a_request_in_flight_is_never_cut() {
        let start = Instant::now();
        let activity = Activity::new(start);
        let request = activity.request_started();
        let later = start + Duration::from_secs(3600);
        assert_eq!(activity.check(later, T), Verdict::WaitUntil(later + T.idle));
        assert_eq!(activity.in_flight(), 1);
        drop(request);
        assert_eq!(activity.in_flight(), 0);
        assert_eq!(activity.check(later, T), Verdict::ShutDown);
    }
}
