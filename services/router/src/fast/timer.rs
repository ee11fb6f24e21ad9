//! A connection's timers: one per kind of wait (the next request, the process's answer), kept
//! for the connection's life and moved from wait to wait. Moved later, which is nearly always
//! (each wait's deadline is "now plus a timeout"), a kept timer costs an atomic store; a fresh
//! `timeout_at` per wait takes the runtime's timer lock twice (to insert its entry, and to
//! remove it when dropped), twice per request.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use tokio::task::coop;
use tokio::time::{Instant, Sleep};

/// A timer for a connection to keep, not yet set (registered once `before` first moves or
/// polls it).
pub(super) fn kept_timer() -> Sleep {
    tokio::time::sleep_until(Instant::now())
}

/// `work`'s output, or `None` once `deadline` passes first; `timer` is moved to `deadline`.
pub(super) async fn before<F: Future>(
    mut timer: Pin<&mut Sleep>,
    deadline: Instant,
    work: F,
) -> Option<F::Output> {
    if timer.deadline() != deadline {
        timer.as_mut().reset(deadline);
    }
    let mut work = std::pin::pin!(work);
    std::future::poll_fn(move |cx| {
        let had_budget = coop::has_budget_remaining();
        if let Poll::Ready(output) = work.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        if had_budget && !coop::has_budget_remaining() {
            // The work spent the task's budget: the timer is looked at all the same (as
            // tokio's `Timeout` does), or work that always spends it would never time out.
            let mut unbudgeted = coop::unconstrained(timer.as_mut());
            return Pin::new(&mut unbudgeted).poll(cx).map(|()| None);
        }
        timer.as_mut().poll(cx).map(|()| None)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn the_work_wins_before_its_deadline() {
        let mut timer = std::pin::pin!(kept_timer());
        let deadline = Instant::now() + Duration::from_secs(1);
        let done = before(timer.as_mut(), deadline, async { 7 }).await;
        assert_eq!(done, Some(7));
        let slow = tokio::time::sleep(Duration::from_millis(500));
        assert_eq!(before(timer.as_mut(), deadline, slow).await, Some(()));
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_wins_over_slower_work() {
        let mut timer = std::pin::pin!(kept_timer());
        let started = Instant::now();
        let deadline = started + Duration::from_secs(1);
        let never = std::future::pending::<()>();
        assert_eq!(before(timer.as_mut(), deadline, never).await, None);
        assert_eq!(Instant::now(), deadline);
    }

    #[tokio::test]
    async fn the_deadline_passes_even_when_the_work_spends_the_whole_budget() {
        let mut timer = std::pin::pin!(kept_timer());
        // Always ready to go on, never done: it spends the task's budget on every poll.
        let spinning = async {
            loop {
                tokio::task::coop::consume_budget().await;
            }
        };
        let deadline = Instant::now() + Duration::from_millis(50);
        let outcome = tokio::time::timeout(
            Duration::from_secs(5),
            before(timer.as_mut(), deadline, spinning),
        )
        .await;
        assert_eq!(outcome.ok(), Some(None), "the deadline was never noticed");
    }

    #[tokio::test(start_paused = true)]
    async fn a_kept_timer_moves_later_and_earlier_and_fires_again() {
        let mut timer = std::pin::pin!(kept_timer());
        // Moved later from wait to wait: each wait ends at its own deadline, not an old one.
        for wait in 1..=3u64 {
            let deadline = Instant::now() + Duration::from_secs(wait);
            let never = std::future::pending::<()>();
            assert_eq!(before(timer.as_mut(), deadline, never).await, None);
            assert_eq!(Instant::now(), deadline);
        }
        // Registered at one deadline (a wait whose work wins after the timer was polled),
        // then moved later: the old deadline passes without firing, the new one fires.
        let first = Instant::now() + Duration::from_secs(1);
        let half = tokio::time::sleep(Duration::from_millis(500));
        assert_eq!(before(timer.as_mut(), first, half).await, Some(()));
        let second = first + Duration::from_secs(1);
        let never = std::future::pending::<()>();
        assert_eq!(before(timer.as_mut(), second, never).await, None);
        assert_eq!(Instant::now(), second);
        // Moved later while a wait's work wins, then earlier: the earlier deadline holds.
        let later = Instant::now() + Duration::from_secs(30);
        assert_eq!(before(timer.as_mut(), later, async {}).await, Some(()));
        let sooner = Instant::now() + Duration::from_millis(10);
        let never = std::future::pending::<()>();
        assert_eq!(before(timer.as_mut(), sooner, never).await, None);
        assert_eq!(Instant::now(), sooner);
    }
}
