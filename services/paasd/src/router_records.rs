//! A separate router's (`paasd router`) per-request records, shipped to the control plane
//! (`POST /api/router/records` with the router's secret), which appends them to the apps'
//! logs. Records are gathered for up to 100 ms and sent in batches cut both by lines and by
//! bytes (a body never passes the API's limit, however long the paths); while the control
//! plane cannot be reached they wait (at most `Limits::max_pending`, the oldest dropped and
//! counted), so the router itself never waits for any of this. When the router stops, what
//! is left is shipped at once.

use paas_router::{RecordBatch, RecordSource};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// Records a serving thread may hold before the shipper reads them (beyond: dropped, counted).
pub const BACKLOG: usize = 16_384;

/// How the shipper batches, waits and bounds what it keeps.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most lines in one request.
    pub max_lines: usize,
    /// Most bytes in one request's body (the API refuses larger ones).
    pub max_body: usize,
    /// Most lines kept while the control plane cannot be reached.
    pub max_pending: usize,
    /// How long lines are gathered before a batch is sent.
    pub gather: Duration,
    /// How long a refused or failed batch waits before it is sent again.
    pub retry: Duration,
    /// When the router stops: how long what is left may take to ship.
    pub final_flush: Duration,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        max_lines: 2_000,
        // Half the API's limit: room for whatever a proxy in between adds.
        max_body: paas_api::JSON_BODY_LIMIT / 2,
        max_pending: 50_000,
        gather: Duration::from_millis(100),
        retry: Duration::from_secs(1),
        final_flush: Duration::from_secs(3),
    };
}

/// One request's body: the JSON array of the first lines of a batch.
#[derive(Debug, PartialEq, Eq)]
struct Body {
    json: Vec<u8>,
    /// Lines of the batch it accounts for (sent, or skipped as too large to ever send).
    taken: usize,
    /// Of those, lines skipped because alone they pass `max_body`.
    skipped: usize,
}

/// The next body to send from `pending`: as many of its first lines as fit in `max_body`
/// bytes of JSON, at most `max_lines`. A line that alone does not fit is skipped, so one
/// such line never blocks the rest.
fn next_body(pending: &RecordBatch, max_lines: usize, max_body: usize) -> Body {
    let mut json = Vec::with_capacity(max_body.min(64 * 1024));
    json.push(b'[');
    let (mut taken, mut skipped, mut sent) = (0, 0, 0);
    let mut one = Vec::new();
    for line in pending.lines() {
        if sent == max_lines {
            break;
        }
        one.clear();
        // Writing into a Vec fails only when serializing fails, which a line's plain
        // fields never do; such a line would be skipped like an oversized one.
        let written = serde_json::to_writer(&mut one, &line).is_ok();
        // Alone in a body: `[`, the line, `]`.
        if !written || one.len() + 2 > max_body {
            taken += 1;
            skipped += 1;
            continue;
        }
        // After what the body holds (from its `[`): a comma unless it is the first, the
        // line, and the closing `]`.
        if json.len() + usize::from(sent > 0) + one.len() + 1 > max_body {
            break;
        }
        if sent > 0 {
            json.push(b',');
        }
        json.extend_from_slice(&one);
        taken += 1;
        sent += 1;
    }
    json.push(b']');
    Body {
        json,
        taken,
        skipped,
    }
}

/// Says that `skipped` lines, each too large alone for a body, were dropped.
fn warn_too_large(skipped: usize) {
    if skipped > 0 {
        tracing::warn!("{skipped} router records dropped: each alone passes the API's body limit");
    }
}

/// Ships records from `source` to `control` until the router stops, or until `stop`
/// completes: then what is left is sent at once (`Limits::final_flush` at most).
pub async fn ship(
    control: String,
    token: String,
    source: RecordSource,
    stop: impl Future<Output = ()>,
) {
    ship_with(control, token, source, Limits::DEFAULT, stop).await
}

/// `work`, unless `stop` completes first (`None`). `stop` must not be polled once it has.
async fn unless_stopped<T>(
    stop: &mut Pin<&mut impl Future<Output = ()>>,
    work: impl Future<Output = T>,
) -> Option<T> {
    tokio::select! {
        biased;
        () = stop.as_mut() => None,
        out = work => Some(out),
    }
}

/// One request to the control plane with `body`.
async fn post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: Vec<u8>,
) -> reqwest::Result<reqwest::Response> {
    client
        .post(url)
        .bearer_auth(token)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
}

/// `ship`, with the limits given.
pub async fn ship_with(
    control: String,
    token: String,
    mut source: RecordSource,
    limits: Limits,
    stop: impl Future<Output = ()>,
) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            tracing::warn!("router records will not reach the app logs: {e}");
            return;
        }
    };
    let mut stop = std::pin::pin!(stop);
    let url = format!("{control}/api/router/records");
    let mut pending = RecordBatch::default();
    let mut dropped: u64 = 0;
    let mut failing = false;
    // Each wait ends early when the stop comes. A request under way is let finish, so a
    // body is never both delivered and kept to send again, but only until the stop's
    // deadline (`final_flush` after it), which bounds everything after the stop.
    let mut deadline: Option<tokio::time::Instant> = None;
    let stop_deadline = || tokio::time::Instant::now() + limits.final_flush;
    loop {
        if pending.is_empty() {
            match unless_stopped(&mut stop, source.next_into(&mut pending)).await {
                Some(true) => {}
                Some(false) => return,
                None => break,
            }
        }
        // Gather without taking meanwhile, so the router's threads wake no one.
        if unless_stopped(&mut stop, tokio::time::sleep(limits.gather))
            .await
            .is_none()
        {
            break;
        }
        source.take_into(&mut pending);
        let body = next_body(&pending, limits.max_lines, limits.max_body);
        let (taken, skipped) = (body.taken, body.skipped);
        let sent = if taken == skipped {
            // Nothing that fits: only lines too large to ever send.
            None
        } else {
            let mut request = std::pin::pin!(post(&client, &url, &token, body.json));
            match unless_stopped(&mut stop, request.as_mut()).await {
                Some(posted) => Some(posted),
                None => {
                    let by = *deadline.insert(stop_deadline());
                    match tokio::time::timeout_at(by, request).await {
                        Ok(posted) => Some(posted),
                        // Past the deadline: what is pending is counted as not shipped.
                        Err(_) => break,
                    }
                }
            }
        };
        match sent {
            None => {
                pending.drop_first(taken);
                warn_too_large(skipped);
            }
            Some(Ok(response)) if response.status().is_success() => {
                pending.drop_first(taken);
                warn_too_large(skipped);
                if failing {
                    tracing::info!("router records reach the control plane again");
                    failing = false;
                }
            }
            Some(other) => {
                if !failing {
                    let why = match other {
                        Ok(response) => format!("HTTP {}", response.status()),
                        Err(e) => e.to_string(),
                    };
                    tracing::warn!("cannot ship router records to the control plane: {why}");
                    failing = true;
                }
                if deadline.is_some() {
                    break;
                }
                // Keep taking meanwhile (bounded), so the router's buffers never fill.
                let waited = unless_stopped(&mut stop, tokio::time::sleep(limits.retry)).await;
                source.take_into(&mut pending);
                if waited.is_none() {
                    break;
                }
            }
        }
        if deadline.is_some() {
            break;
        }
        let over = pending.len().saturating_sub(limits.max_pending);
        if over > 0 {
            pending.drop_first(over);
            let before = dropped;
            dropped += over as u64;
            // Said again each time the count passes a power of two.
            if before == 0 || dropped.ilog2() > before.ilog2() {
                tracing::warn!("{dropped} router records dropped while the control plane was away");
            }
        }
    }
    let by = deadline.unwrap_or_else(stop_deadline);
    flush_at_stop(&client, &url, &token, source, pending, limits, by).await;
}

/// When the router stops: everything offered so far, in as many bodies as it takes, each
/// tried once, until `by`; what is left then is counted in paasd's own log.
async fn flush_at_stop(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    mut source: RecordSource,
    mut pending: RecordBatch,
    limits: Limits,
    by: tokio::time::Instant,
) {
    source.take_into(&mut pending);
    // Nothing is started once the deadline has passed.
    if tokio::time::Instant::now() < by {
        let flush = async {
            while !pending.is_empty() {
                let body = next_body(&pending, limits.max_lines, limits.max_body);
                let (taken, skipped) = (body.taken, body.skipped);
                if taken > skipped {
                    match post(client, url, token, body.json).await {
                        Ok(response) if response.status().is_success() => {}
                        _ => return,
                    }
                }
                pending.drop_first(taken);
                warn_too_large(skipped);
            }
        };
        let _ = tokio::time::timeout_at(by, flush).await;
    }
    if !pending.is_empty() {
        tracing::warn!(
            "{} router records not shipped: the control plane did not take them as the router stopped",
            pending.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::{DefaultBodyLimit, State};
    use axum::http::StatusCode;
    use paas_router::{record_channel, RouterLine};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    /// A line of `app` whose path is `path_len` bytes long, numbered `n` in its path.
    fn line_text(n: usize, path_len: usize) -> String {
        let mut path = format!("/{n}/");
        path.push_str(&"a".repeat(path_len.saturating_sub(path.len())));
        format!("at=info method=GET path=\"{path}\" host=shop.example.com status=200")
    }

    fn batch(count: usize, path_len: usize) -> RecordBatch {
        let mut batch = RecordBatch::default();
        for n in 0..count {
            let text = line_text(n, path_len);
            batch.push_line(&RouterLine {
                app: "shop",
                at_micros: n as i64,
                status: 200,
                latency_ms: 1,
                bytes: 5,
                line: &text,
            });
        }
        batch
    }

    fn parse(json: &[u8]) -> RecordBatch {
        serde_json::from_slice(json).expect("a body is a batch")
    }

    #[test]
    fn a_body_is_cut_by_bytes_before_lines() {
        // 2,000 lines of about 8 KB: 16 MB, eight times the API's limit.
        let pending = batch(2_000, 8_000);
        let limits = Limits::DEFAULT;
        let body = next_body(&pending, limits.max_lines, limits.max_body);
        assert!(body.json.len() <= limits.max_body, "{}", body.json.len());
        assert!(body.taken > 100 && body.taken < 2_000, "{}", body.taken);
        assert_eq!(body.skipped, 0);
        // Exactly the first lines, as they were.
        let sent = parse(&body.json);
        assert_eq!(sent.len(), body.taken);
        for (sent, kept) in sent.lines().zip(pending.lines()) {
            assert_eq!(sent, kept);
        }
        // The next line would not have fitted.
        let one_more = next_body(&pending, body.taken + 1, usize::MAX);
        assert!(one_more.json.len() > limits.max_body);
    }

    #[test]
    fn a_body_is_cut_by_lines_when_they_are_short() {
        let pending = batch(5_000, 10);
        let body = next_body(&pending, 2_000, Limits::DEFAULT.max_body);
        assert_eq!((body.taken, body.skipped), (2_000, 0));
        assert_eq!(parse(&body.json).len(), 2_000);
        // Fewer lines than the cap: all of them.
        let body = next_body(&batch(3, 10), 2_000, Limits::DEFAULT.max_body);
        assert_eq!(parse(&body.json).len(), 3);
    }

    #[test]
    fn a_line_that_just_fits_alone_is_sent_and_one_byte_more_is_skipped() {
        let pending = batch(2, 100);
        let first = pending.lines().next().unwrap();
        let size = serde_json::to_vec(&first).unwrap().len();
        // `[` + the line + `]` is exactly the limit: sent, alone.
        let body = next_body(&pending, 2_000, size + 2);
        assert_eq!((body.taken, body.skipped), (1, 0));
        assert_eq!(body.json.len(), size + 2);
        assert_eq!(parse(&body.json).len(), 1);
        // One byte less: neither line fits, both are skipped.
        let body = next_body(&pending, 2_000, size + 1);
        assert_eq!((body.taken, body.skipped), (2, 2));
        // Room for both, but for the comma: the second waits for the next body.
        let body = next_body(&pending, 2_000, 2 * size + 2);
        assert_eq!((body.taken, body.skipped), (1, 0));
        let body = next_body(&pending, 2_000, 2 * size + 3);
        assert_eq!((body.taken, body.skipped), (2, 0));
    }

    #[test]
    fn a_line_too_large_alone_is_skipped_not_blocking() {
        let mut pending = batch(1, 10_000);
        pending.append(&mut batch(2, 10));
        let body = next_body(&pending, 2_000, 4_096);
        assert_eq!((body.taken, body.skipped), (3, 1));
        let sent = parse(&body.json);
        assert_eq!(sent.len(), 2);
        assert!(sent.lines().all(|l| l.line.len() < 200));
    }

    /// A control plane's `POST /api/router/records`: the API's body limit, the secret
    /// checked, refusing while `refuse` is set; the lines it took, in order.
    #[derive(Clone, Default)]
    struct Receiver {
        refuse: Arc<AtomicBool>,
        /// Not zero: each request is held this long (counted in `stalled`) before its
        /// answer.
        hold: Arc<Mutex<Duration>>,
        stalled: Arc<Mutex<usize>>,
        refused: Arc<Mutex<usize>>,
        lines: Arc<Mutex<Vec<String>>>,
        largest_body: Arc<Mutex<usize>>,
    }

    async fn receive(
        State(receiver): State<Receiver>,
        headers: axum::http::HeaderMap,
        body: axum::body::Bytes,
    ) -> StatusCode {
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer secret") {
            return StatusCode::UNAUTHORIZED;
        }
        let hold = *receiver.hold.lock().unwrap();
        if !hold.is_zero() {
            *receiver.stalled.lock().unwrap() += 1;
            tokio::time::sleep(hold).await;
        }
        if receiver.refuse.load(Ordering::SeqCst) {
            *receiver.refused.lock().unwrap() += 1;
            return StatusCode::SERVICE_UNAVAILABLE;
        }
        let mut largest = receiver.largest_body.lock().unwrap();
        *largest = (*largest).max(body.len());
        let batch = parse(&body);
        let mut lines = receiver.lines.lock().unwrap();
        lines.extend(batch.lines().map(|l| l.line.to_owned()));
        StatusCode::NO_CONTENT
    }

    async fn serve(receiver: Receiver) -> String {
        let app = axum::Router::new()
            .route("/api/router/records", axum::routing::post(receive))
            .layer(DefaultBodyLimit::max(paas_api::JSON_BODY_LIMIT))
            .with_state(receiver);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !done() {
            assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn fast(limits: Limits) -> Limits {
        Limits {
            gather: Duration::from_millis(5),
            retry: Duration::from_millis(20),
            ..limits
        }
    }

    #[tokio::test]
    async fn long_lines_reach_the_control_plane_in_bodies_it_accepts() {
        let receiver = Receiver::default();
        let control = serve(receiver.clone()).await;
        let (sink, source) = record_channel(BACKLOG);
        // 1,000 lines of about 8 KB: four times the API's limit.
        let offered = batch(1_000, 8_000);
        offer_all(&sink, &offered);
        drop(sink);
        let shipped = ship_with(
            control,
            "secret".into(),
            source,
            fast(Limits::DEFAULT),
            std::future::pending(),
        );
        tokio::time::timeout(Duration::from_secs(60), shipped)
            .await
            .expect("every line shipped, and the shipper ended");
        let lines = receiver.lines.lock().unwrap();
        let expected: Vec<&str> = offered.lines().map(|l| l.line).collect();
        assert_eq!(*lines, expected);
        assert!(*receiver.largest_body.lock().unwrap() <= Limits::DEFAULT.max_body);
    }

    #[tokio::test]
    async fn while_the_control_plane_refuses_only_the_newest_lines_are_kept() {
        let receiver = Receiver::default();
        receiver.refuse.store(true, Ordering::SeqCst);
        let control = serve(receiver.clone()).await;
        let (sink, source) = record_channel(BACKLOG);
        let offered = batch(300, 10);
        offer_all(&sink, &offered);
        let limits = fast(Limits {
            max_pending: 100,
            ..Limits::DEFAULT
        });
        let shipper = tokio::spawn(ship_with(
            control,
            "secret".into(),
            source,
            limits,
            std::future::pending(),
        ));
        // Refused twice: the shipper has taken every line and dropped the oldest.
        wait_for("two refusals", || *receiver.refused.lock().unwrap() >= 2).await;
        receiver.refuse.store(false, Ordering::SeqCst);
        wait_for("the kept lines", || {
            receiver.lines.lock().unwrap().len() >= 100
        })
        .await;
        drop(sink);
        shipper.await.unwrap();
        let lines = receiver.lines.lock().unwrap();
        let newest: Vec<&str> = offered.lines().skip(200).map(|l| l.line).collect();
        assert_eq!(*lines, newest);
    }

    #[tokio::test]
    async fn ends_when_the_router_stops() {
        let (sink, source) = record_channel(BACKLOG);
        drop(sink);
        // Nothing listens there: nothing is sent, and the shipper ends.
        tokio::time::timeout(
            Duration::from_secs(5),
            ship_with(
                "http://127.0.0.1:9".into(),
                "secret".into(),
                source,
                Limits::DEFAULT,
                std::future::pending(),
            ),
        )
        .await
        .expect("the shipper ends once every sink is gone");
    }

    /// Offers every line of `batch`, as the router's threads do.
    fn offer_all(sink: &paas_router::RecordSink, batch: &RecordBatch) {
        for line in batch.lines() {
            sink.offer_line(&line);
        }
    }

    /// Stops the shipper and waits for it to end, at most `within`.
    async fn stop_and_join(
        stop: tokio::sync::oneshot::Sender<()>,
        shipper: tokio::task::JoinHandle<()>,
        within: Duration,
        what: &str,
    ) {
        stop.send(()).unwrap();
        tokio::time::timeout(within, shipper)
            .await
            .unwrap_or_else(|_| panic!("{what}"))
            .unwrap();
    }

    /// A shipper with the secret `secret`, and the sender that stops it.
    fn spawn_stoppable(
        control: String,
        source: RecordSource,
        limits: Limits,
    ) -> (
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    ) {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let stop_asked = async {
            let _ = stopped.await;
        };
        let shipper = tokio::spawn(ship_with(
            control,
            "secret".into(),
            source,
            limits,
            stop_asked,
        ));
        (stop, shipper)
    }

    #[tokio::test]
    async fn a_stop_ships_what_is_left_at_once_and_ends() {
        let receiver = Receiver::default();
        let control = serve(receiver.clone()).await;
        let (sink, source) = record_channel(BACKLOG);
        // Lines wait a minute to be gathered, or retry a minute after a refusal.
        let limits = Limits {
            gather: Duration::from_secs(60),
            retry: Duration::from_secs(60),
            max_lines: 100,
            ..Limits::DEFAULT
        };
        let (stop, shipper) = spawn_stoppable(control, source, limits);
        let offered = batch(250, 10);
        offer_all(&sink, &offered);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(receiver.lines.lock().unwrap().is_empty());
        stop_and_join(
            stop,
            shipper,
            Duration::from_secs(5),
            "the shipper ends at once",
        )
        .await;
        let lines = receiver.lines.lock().unwrap();
        let expected: Vec<&str> = offered.lines().map(|l| l.line).collect();
        assert_eq!(*lines, expected, "every line, in three bodies, in order");
        // The router was still there: the stop ended the shipper.
        drop(sink);
    }

    #[tokio::test]
    async fn a_stop_during_a_request_the_control_plane_holds_ends_within_the_flush_time() {
        let receiver = Receiver::default();
        *receiver.hold.lock().unwrap() = Duration::from_secs(60);
        let control = serve(receiver.clone()).await;
        let (sink, source) = record_channel(BACKLOG);
        let limits = Limits {
            final_flush: Duration::from_millis(300),
            ..fast(Limits::DEFAULT)
        };
        let (stop, shipper) = spawn_stoppable(control, source, limits);
        offer_all(&sink, &batch(10, 10));
        wait_for("a request held", || *receiver.stalled.lock().unwrap() >= 1).await;
        let stopped_at = tokio::time::Instant::now();
        stop_and_join(
            stop,
            shipper,
            Duration::from_secs(5),
            "the shipper ends though its request is held (client timeout: 10 s)",
        )
        .await;
        assert!(stopped_at.elapsed() < Duration::from_secs(2));
        drop(sink);
    }

    #[tokio::test]
    async fn a_request_under_way_at_the_stop_is_let_finish_and_not_sent_again() {
        let receiver = Receiver::default();
        *receiver.hold.lock().unwrap() = Duration::from_millis(300);
        let control = serve(receiver.clone()).await;
        let (sink, source) = record_channel(BACKLOG);
        let limits = Limits {
            final_flush: Duration::from_secs(5),
            ..fast(Limits::DEFAULT)
        };
        let (stop, shipper) = spawn_stoppable(control, source, limits);
        let first = batch(10, 10);
        offer_all(&sink, &first);
        wait_for("a request held", || *receiver.stalled.lock().unwrap() >= 1).await;
        // Offered while the first body is under way: shipped at the stop, after it.
        let mut second = batch(15, 10);
        second.drop_first(10);
        offer_all(&sink, &second);
        stop_and_join(stop, shipper, Duration::from_secs(10), "the shipper ends").await;
        let lines = receiver.lines.lock().unwrap();
        let expected: Vec<&str> = first
            .lines()
            .chain(second.lines())
            .map(|l| l.line)
            .collect();
        assert_eq!(*lines, expected, "each line once, in order");
        drop(sink);
    }

    #[tokio::test]
    async fn a_stop_while_the_control_plane_refuses_ends_without_waiting_to_retry() {
        let receiver = Receiver::default();
        receiver.refuse.store(true, Ordering::SeqCst);
        let control = serve(receiver.clone()).await;
        let (sink, source) = record_channel(BACKLOG);
        let limits = Limits {
            retry: Duration::from_secs(60),
            final_flush: Duration::from_millis(200),
            ..fast(Limits::DEFAULT)
        };
        let (stop, shipper) = spawn_stoppable(control, source, limits);
        offer_all(&sink, &batch(10, 10));
        wait_for("a refusal", || *receiver.refused.lock().unwrap() >= 1).await;
        stop_and_join(
            stop,
            shipper,
            Duration::from_secs(5),
            "the shipper ends though nothing is taken",
        )
        .await;
        assert!(receiver.lines.lock().unwrap().is_empty());
        drop(sink);
    }
}
