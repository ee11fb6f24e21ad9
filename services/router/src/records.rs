//! One record per proxied request (Heroku's router line: method, path, host, request id,
//! client, process, connect and service times, status, bytes; `at=error code=H..` for the
//! router's own errors), handed to whoever keeps the app's log without ever blocking the
//! request.
//!
//! The serving thread writes the line itself, into a buffer of its own (`RecordSink` made
//! `for_thread`): no string of the request leaves its thread, and handing a record over is
//! an uncontended lock and a copy, with no channel operation and no wake-up per request. The
//! reader (`RecordSource`) takes every thread's buffer at once (all locked together),
//! swapping in an empty one, and puts what it took in the order the requests came: a request
//! answered before another was sent is never written after it. A buffer that is full (the
//! reader fell behind) drops records and counts them. Batches serialize, so a separate
//! router (`paasd router`) can ship them to the control plane.

use crate::pages::RouterError;
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// What the router knows about one finished request (its response head sent, or its
/// error), borrowed from the request for as long as it takes to write its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord<'a> {
    pub app: &'a str,
    /// When the router took the request.
    pub at: SystemTime,
    pub method: &'a str,
    pub path: &'a str,
    pub host: &'a str,
    pub request_id: &'a str,
    pub client: IpAddr,
    /// The process that answered (`web.1`), `None` when none did.
    pub dyno: Option<&'a str>,
    pub connect_ms: u64,
    pub service_ms: u64,
    pub status: u16,
    /// The response's `Content-Length`, when it gave one.
    pub bytes: Option<u64>,
    /// The router's error (`H10`, `H12`, ...) when the router answered itself.
    pub error: Option<RouterError>,
}

impl<'a> RequestRecord<'a> {
    /// The record of a request the router answered itself with `error` (`H12`, ...): no
    /// process, no bytes, the time since the router took it as its service time.
    #[allow(clippy::too_many_arguments)] // the facts of one request, each named at the call
    pub(crate) fn router_error(
        app: &'a str,
        at: SystemTime,
        method: &'a str,
        path: &'a str,
        host: &'a str,
        request_id: &'a str,
        client: IpAddr,
        error: RouterError,
    ) -> Self {
        let service_ms = at
            .elapsed()
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        Self {
            app,
            at,
            method,
            path,
            host,
            request_id,
            client,
            dyno: None,
            connect_ms: 0,
            service_ms,
            status: error.status().as_u16(),
            bytes: None,
            error: Some(error),
        }
    }

    /// Heroku's router line, without the timestamp and `heroku[router]:` prefix, e.g.
    /// `at=info method=GET path="/" host=a.example.com request_id=... fwd="1.2.3.4"
    /// dyno=web.1 connect=0ms service=3ms status=200 bytes=5`, appended to `out` piece by
    /// piece (this runs for every request).
    pub fn write_line(&self, out: &mut String) {
        match self.error {
            Some(e) => {
                out.push_str("at=error code=");
                out.push_str(e.code());
                out.push_str(" desc=\"");
                out.push_str(e.description());
                out.push_str("\" ");
            }
            None => out.push_str("at=info "),
        }
        out.push_str("method=");
        out.push_str(self.method);
        out.push_str(" path=\"");
        push_escaped(out, self.path);
        out.push_str("\" host=");
        out.push_str(self.host);
        out.push_str(" request_id=");
        out.push_str(self.request_id);
        out.push_str(" fwd=\"");
        crate::headers::push_ip(self.client, |s| out.push_str(s));
        out.push_str("\" dyno=");
        out.push_str(self.dyno.unwrap_or(""));
        let mut digits = itoa::Buffer::new();
        out.push_str(" connect=");
        out.push_str(digits.format(self.connect_ms));
        out.push_str("ms service=");
        out.push_str(digits.format(self.service_ms));
        out.push_str("ms status=");
        out.push_str(digits.format(self.status));
        out.push_str(" bytes=");
        match self.bytes {
            Some(n) => out.push_str(digits.format(n)),
            None => out.push('-'),
        }
    }

    /// Microseconds since the Unix epoch of `at`.
    pub fn at_micros(&self) -> i64 {
        self.at
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

impl fmt::Display for RequestRecord<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = String::with_capacity(192);
        self.write_line(&mut line);
        f.write_str(&line)
    }
}

/// A quote in a path would end the `path="..."` field: it is written `%22`. Line breaks
/// (which a request line cannot hold, but a shipped line might) become spaces.
fn push_escaped(out: &mut String, s: &str) {
    if !s.contains(['"', '\n', '\r']) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("%22"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
}

/// One record as its batch keeps it: the app, the line, and what the metrics count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RouterLine<'a> {
    pub app: &'a str,
    /// When the router took the request, in microseconds since the Unix epoch.
    pub at_micros: i64,
    pub status: u16,
    /// Connect and service time together.
    pub latency_ms: u64,
    /// The response's `Content-Length` (0 when it gave none).
    pub bytes: u64,
    /// Heroku's router line (`RequestRecord::write_line`).
    pub line: &'a str,
}

/// A `RouterLine` as it arrives from a separate router.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
struct ShippedLine {
    app: String,
    at_micros: i64,
    status: u16,
    latency_ms: u64,
    bytes: u64,
    line: String,
}

/// Records in one buffer: each one's app name and line back to back in `text`, and what
/// the metrics count beside it. Cleared and reused, it allocates nothing in a steady state.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecordBatch {
    text: String,
    slots: Vec<Slot>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    app_end: usize,
    line_end: usize,
    at_micros: i64,
    status: u16,
    latency_ms: u64,
    bytes: u64,
}

impl RecordBatch {
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Forgets every record, keeping the buffers' capacity.
    pub fn clear(&mut self) {
        self.text.clear();
        self.slots.clear();
    }

    /// Adds `record`, its line written in place.
    pub fn push(&mut self, record: &RequestRecord<'_>) {
        self.add(
            record.app,
            |text| record.write_line(text),
            record.at_micros(),
            record.status,
            record.connect_ms.saturating_add(record.service_ms),
            record.bytes.unwrap_or(0),
        );
    }

    /// Adds a line written elsewhere (a separate router's), one line however it was sent.
    pub fn push_line(&mut self, line: &RouterLine<'_>) {
        self.add(
            line.app,
            |text| push_one_line(text, line.line),
            line.at_micros,
            line.status,
            line.latency_ms,
            line.bytes,
        );
    }

    /// The app's name, then the line `write` appends, and its slot.
    fn add(
        &mut self,
        app: &str,
        write: impl FnOnce(&mut String),
        at_micros: i64,
        status: u16,
        latency_ms: u64,
        bytes: u64,
    ) {
        self.text.push_str(app);
        let app_end = self.text.len();
        write(&mut self.text);
        self.slots.push(Slot {
            app_end,
            line_end: self.text.len(),
            at_micros,
            status,
            latency_ms,
            bytes,
        });
    }

    /// The records, oldest first.
    pub fn lines(&self) -> impl ExactSizeIterator<Item = RouterLine<'_>> + '_ {
        let mut start = 0;
        self.slots.iter().map(move |slot| {
            let line = RouterLine {
                app: &self.text[start..slot.app_end],
                at_micros: slot.at_micros,
                status: slot.status,
                latency_ms: slot.latency_ms,
                bytes: slot.bytes,
                line: &self.text[slot.app_end..slot.line_end],
            };
            start = slot.line_end;
            line
        })
    }

    /// Moves `other`'s records after these, leaving `other` empty (with its capacity).
    pub fn append(&mut self, other: &mut RecordBatch) {
        let offset = self.text.len();
        self.text.push_str(&other.text);
        self.slots.extend(other.slots.iter().map(|slot| Slot {
            app_end: slot.app_end + offset,
            line_end: slot.line_end + offset,
            ..*slot
        }));
        other.clear();
    }

    /// Puts the records in the order the router took their requests (stable for equal
    /// times). One serving thread's buffer is nearly in that order (it writes a record when
    /// the request is answered); a batch gathered from several threads' buffers is not, and
    /// an app's log must not show a request before one answered ahead of it. Sorted into
    /// `scratch`'s batch, swapped in: nothing allocated once warm.
    fn sort_by_time(&mut self, scratch: &mut SortScratch) {
        if self.slots.is_sorted_by_key(|slot| slot.at_micros) {
            return;
        }
        let SortScratch { sorted, order } = scratch;
        order.clear();
        order.extend(0..self.slots.len());
        order.sort_by_key(|&i| self.slots[i].at_micros);
        sorted.clear();
        for &i in order.iter() {
            let start = i
                .checked_sub(1)
                .map_or(0, |before| self.slots[before].line_end);
            let slot = self.slots[i];
            let offset = sorted.text.len();
            sorted.text.push_str(&self.text[start..slot.line_end]);
            sorted.slots.push(Slot {
                app_end: slot.app_end - start + offset,
                line_end: sorted.text.len(),
                ..slot
            });
        }
        std::mem::swap(self, sorted);
        // Only the capacity is kept: no copy of the lines stays behind.
        sorted.clear();
    }

    /// Forgets the oldest `n` records.
    pub fn drop_first(&mut self, n: usize) {
        let n = n.min(self.slots.len());
        let Some(cut) = n.checked_sub(1).map(|last| self.slots[last].line_end) else {
            return;
        };
        self.text.drain(..cut);
        self.slots.drain(..n);
        for slot in &mut self.slots {
            slot.app_end -= cut;
            slot.line_end -= cut;
        }
    }
}

/// `line` with its line breaks as spaces.
fn push_one_line(out: &mut String, line: &str) {
    if line.contains(['\n', '\r']) {
        out.extend(
            line.chars()
                .map(|c| if c == '\n' || c == '\r' { ' ' } else { c }),
        );
    } else {
        out.push_str(line);
    }
}

impl serde::Serialize for RecordBatch {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.lines())
    }
}

impl<'de> serde::Deserialize<'de> for RecordBatch {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let shipped = Vec::<ShippedLine>::deserialize(deserializer)?;
        let mut batch = RecordBatch::default();
        for s in &shipped {
            batch.push_line(&RouterLine {
                app: &s.app,
                at_micros: s.at_micros,
                status: s.status,
                latency_ms: s.latency_ms,
                bytes: s.bytes,
                line: &s.line,
            });
        }
        Ok(batch)
    }
}

/// `RecordBatch::sort_by_time`'s room: the sorted batch and the order of the slots.
#[derive(Debug, Default)]
struct SortScratch {
    sorted: RecordBatch,
    order: Vec<usize>,
}

/// What every sink and the source share: the buffers, the drop count, the reader's wake-up.
#[derive(Debug)]
struct Shared {
    buffers: Mutex<Vec<Arc<Mutex<RecordBatch>>>>,
    /// Woken when a buffer gets its first record since the reader last took it, and when the
    /// last sink goes.
    ready: tokio::sync::Notify,
    dropped: AtomicU64,
    /// Most records one buffer holds before it drops.
    capacity: usize,
    /// Most bytes of lines one buffer holds before it drops (long paths cannot make a
    /// buffer of `capacity` records grow without bound).
    capacity_bytes: usize,
    sinks: AtomicUsize,
}

/// The router's end: a buffer of records not yet taken. `Clone` shares the buffer;
/// `for_thread` makes a new one. Never waits on the reader.
#[derive(Debug)]
pub struct RecordSink {
    shared: Arc<Shared>,
    own: Arc<Mutex<RecordBatch>>,
}

/// The reading end, for the log keeper (or a separate router's shipper).
#[derive(Debug)]
pub struct RecordSource {
    shared: Arc<Shared>,
    /// Empty batches (each with the capacity it had) ready to replace a buffer.
    spares: Vec<RecordBatch>,
    /// The batches a take has just swapped out of the buffers.
    taken: Vec<RecordBatch>,
    sort: SortScratch,
}

/// Bytes a buffer may hold per record of its capacity.
const BYTES_PER_RECORD: usize = 1024;

/// A sink and its source; each buffer holds at most `capacity` records not yet taken, and
/// about a kilobyte per record of lines.
pub fn record_channel(capacity: usize) -> (RecordSink, RecordSource) {
    let shared = Arc::new(Shared {
        buffers: Mutex::new(Vec::new()),
        ready: tokio::sync::Notify::new(),
        dropped: AtomicU64::new(0),
        capacity: capacity.max(1),
        capacity_bytes: capacity.max(1).saturating_mul(BYTES_PER_RECORD),
        sinks: AtomicUsize::new(0),
    });
    (
        RecordSink::new(shared.clone()),
        RecordSource {
            shared,
            spares: Vec::new(),
            taken: Vec::new(),
            sort: SortScratch::default(),
        },
    )
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl RecordSink {
    fn new(shared: Arc<Shared>) -> Self {
        let own = Arc::new(Mutex::new(RecordBatch::default()));
        lock(&shared.buffers).push(own.clone());
        shared.sinks.fetch_add(1, Ordering::AcqRel);
        Self { shared, own }
    }

    /// A sink with a buffer of its own, for a serving thread: its lock is then only ever
    /// taken by that thread and, once per batch, by the reader.
    pub fn for_thread(&self) -> Self {
        Self::new(self.shared.clone())
    }

    /// Writes `record`'s line into the buffer, or counts it as dropped when the buffer is
    /// full (the reader is behind or gone).
    pub fn offer(&self, record: &RequestRecord<'_>) {
        self.add(|batch| batch.push(record));
    }

    /// `offer` for a line written elsewhere (a separate router's).
    pub fn offer_line(&self, line: &RouterLine<'_>) {
        self.add(|batch| batch.push_line(line));
    }

    fn add(&self, push: impl FnOnce(&mut RecordBatch)) {
        let mut own = lock(&self.own);
        if own.len() >= self.shared.capacity || own.text.len() >= self.shared.capacity_bytes {
            drop(own);
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let first = own.is_empty();
        push(&mut own);
        drop(own);
        if first {
            // Once per batch, not per request.
            self.shared.ready.notify_one();
        }
    }
}

impl Clone for RecordSink {
    fn clone(&self) -> Self {
        self.shared.sinks.fetch_add(1, Ordering::AcqRel);
        Self {
            shared: self.shared.clone(),
            own: self.own.clone(),
        }
    }
}

impl Drop for RecordSink {
    fn drop(&mut self) {
        if self.shared.sinks.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.ready.notify_one();
        }
    }
}

impl RecordSource {
    /// Records dropped so far because the reader fell behind.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Moves every record offered so far into `out`, after what it holds, the whole in the
    /// order the router took the requests.
    ///
    /// Every buffer is locked before any is read, and each thread writes a record before the
    /// request's answer leaves: so when a take holds a request's record it holds the record
    /// of every request answered before that one was sent. (Locked one after another, a take
    /// could empty one thread's buffer, then find in the next the record of a request sent
    /// after an answer that went into the first meanwhile.)
    ///
    /// While they are all locked, each buffer is only swapped for an empty batch: a serving
    /// thread waits no longer than that for its own buffer's lock. The records are put
    /// together and sorted after.
    pub fn take_into(&mut self, out: &mut RecordBatch) {
        let Self {
            shared,
            spares,
            taken,
            sort,
        } = self;
        {
            let mut buffers = lock(&shared.buffers);
            // Serving threads only ever lock their own buffer: no order of locks to keep.
            let mut locked: Vec<MutexGuard<'_, RecordBatch>> =
                buffers.iter().map(|buffer| lock(buffer)).collect();
            for batch in &mut locked {
                if !batch.is_empty() {
                    let spare = spares.pop().unwrap_or_default();
                    taken.push(std::mem::replace(&mut **batch, spare));
                }
            }
            drop(locked);
            // A buffer no sink holds any more is empty now: forget it.
            buffers.retain(|buffer| Arc::strong_count(buffer) > 1);
        }
        for mut batch in taken.drain(..) {
            if out.is_empty() {
                // The records change hands without a copy; `out`'s capacity becomes a spare.
                std::mem::swap(out, &mut batch);
            } else {
                out.append(&mut batch);
            }
            batch.clear();
            spares.push(batch);
        }
        out.sort_by_time(sort);
    }

    /// Waits for records and moves them into `out`; `false` once every sink is gone and
    /// nothing is left.
    pub async fn next_into(&mut self, out: &mut RecordBatch) -> bool {
        loop {
            self.take_into(out);
            if !out.is_empty() {
                return true;
            }
            if self.shared.sinks.load(Ordering::Acquire) == 0 {
                // Records offered just before the last sink went.
                self.take_into(out);
                return !out.is_empty();
            }
            self.shared.ready.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn record() -> RequestRecord<'static> {
        RequestRecord {
            app: "shop",
            at: UNIX_EPOCH + Duration::from_micros(1_795_533_226_677_020),
            method: "GET",
            path: "/a\"b",
            host: "shop.example.com",
            request_id: "abc",
            client: "10.0.0.1".parse().unwrap(),
            dyno: Some("web.1"),
            connect_ms: 1,
            service_ms: 12,
            status: 200,
            bytes: Some(5),
            error: None,
        }
    }

    #[test]
    fn renders_herokus_router_line() {
        assert_eq!(
            record().to_string(),
            "at=info method=GET path=\"/a%22b\" host=shop.example.com request_id=abc fwd=\"10.0.0.1\" dyno=web.1 connect=1ms service=12ms status=200 bytes=5"
        );
        let failed = RequestRecord {
            error: Some(RouterError::Timeout),
            dyno: None,
            bytes: None,
            status: 503,
            ..record()
        };
        assert!(failed
            .to_string()
            .starts_with("at=error code=H12 desc=\"Request timeout\" method=GET"));
        assert!(failed
            .to_string()
            .ends_with("dyno= connect=1ms service=12ms status=503 bytes=-"));
        let v6 = RequestRecord {
            client: "::1".parse().unwrap(),
            path: "/x\ny",
            ..record()
        };
        assert!(v6.to_string().contains("path=\"/x y\" "), "{v6}");
        assert!(v6.to_string().contains("fwd=\"::1\""), "{v6}");
        let v4 = RequestRecord {
            client: "192.168.0.255".parse().unwrap(),
            ..record()
        };
        assert!(v4.to_string().contains(" fwd=\"192.168.0.255\" "), "{v4}");
    }

    #[test]
    fn a_batch_keeps_each_records_app_line_and_counts() {
        let mut batch = RecordBatch::default();
        batch.push(&record());
        batch.push(&RequestRecord {
            app: "blog",
            status: 404,
            bytes: None,
            ..record()
        });
        let lines: Vec<RouterLine<'_>> = batch.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].app, "shop");
        assert_eq!(lines[0].line, record().to_string());
        assert_eq!(lines[0].at_micros, 1_795_533_226_677_020);
        assert_eq!(
            (lines[0].status, lines[0].latency_ms, lines[0].bytes),
            (200, 13, 5)
        );
        assert_eq!(lines[1].app, "blog");
        assert_eq!((lines[1].status, lines[1].bytes), (404, 0));
        assert!(lines[1].line.ends_with("status=404 bytes=-"));
    }

    #[test]
    fn append_and_drop_first_keep_every_line_whole() {
        let mut a = RecordBatch::default();
        let mut b = RecordBatch::default();
        for (i, app) in ["a1", "a2", "a3"].into_iter().enumerate() {
            let r = RequestRecord {
                app,
                status: 200 + i as u16,
                ..record()
            };
            if i == 0 {
                a.push(&r)
            } else {
                b.push(&r)
            }
        }
        a.append(&mut b);
        assert!(b.is_empty());
        let apps: Vec<&str> = a.lines().map(|l| l.app).collect();
        assert_eq!(apps, ["a1", "a2", "a3"]);
        a.drop_first(2);
        let left: Vec<RouterLine<'_>> = a.lines().collect();
        assert_eq!(left.len(), 1);
        assert_eq!((left[0].app, left[0].status), ("a3", 202));
        assert_eq!(left[0].line, record().to_string().replace("200", "202"));
        a.drop_first(5);
        assert!(a.is_empty());
    }

    #[test]
    fn a_batch_ships_as_json_and_a_shipped_line_stays_one_line() {
        let mut batch = RecordBatch::default();
        batch.push(&record());
        let json = serde_json::to_string(&batch).unwrap();
        let back: RecordBatch = serde_json::from_str(&json).unwrap();
        assert_eq!(back, batch);
        let crafted = r#"[{"app":"shop","at_micros":1,"status":200,"latency_ms":1,"bytes":0,"line":"at=info\n2026-01-01T00:00:00.000000+00:00 app[web.1]: forged"}]"#;
        let back: RecordBatch = serde_json::from_str(crafted).unwrap();
        let line = back.lines().next().unwrap();
        assert!(!line.line.contains('\n'), "{}", line.line);
    }

    #[tokio::test]
    async fn every_threads_records_reach_the_reader_in_one_take() {
        let (sink, mut source) = record_channel(100);
        let other = sink.for_thread();
        sink.offer(&record());
        other.offer(&RequestRecord {
            app: "blog",
            ..record()
        });
        sink.offer(&record());
        let mut batch = RecordBatch::default();
        assert!(source.next_into(&mut batch).await);
        let apps: Vec<&str> = batch.lines().map(|l| l.app).collect();
        assert_eq!(apps, ["shop", "shop", "blog"]);
        batch.clear();
        // Nothing new: the reader waits until a record comes.
        let waiting = tokio::time::timeout(Duration::from_millis(50), source.next_into(&mut batch));
        assert!(waiting.await.is_err());
        other.offer(&record());
        assert!(source.next_into(&mut batch).await);
        assert_eq!(batch.len(), 1);
        // Every sink gone, what they offered last is still read, then the end.
        batch.clear();
        sink.offer(&record());
        drop(sink);
        drop(other);
        assert!(source.next_into(&mut batch).await);
        assert_eq!(batch.len(), 1);
        batch.clear();
        assert!(!source.next_into(&mut batch).await);
    }

    #[test]
    fn records_from_several_threads_are_read_in_the_order_their_requests_came() {
        let (first_thread, mut source) = record_channel(100);
        let second_thread = first_thread.for_thread();
        let at = |micros: u64| UNIX_EPOCH + Duration::from_micros(1_795_533_226_000_000 + micros);
        // Requests 0..6 came one after another, alternating threads; the first thread's
        // buffer is read first.
        let paths = ["/0", "/1", "/2", "/3", "/4", "/5"];
        for (i, path) in paths.iter().enumerate() {
            let sink = if i % 2 == 0 {
                &second_thread
            } else {
                &first_thread
            };
            sink.offer(&RequestRecord {
                path,
                at: at(i as u64),
                // Lines of different lengths, so each must be moved whole.
                request_id: &"r".repeat(i + 1),
                ..record()
            });
        }
        // Two at the same microsecond keep the order of their buffers.
        first_thread.offer(&RequestRecord {
            app: "tie-first",
            at: at(9),
            ..record()
        });
        second_thread.offer(&RequestRecord {
            app: "tie-second",
            at: at(9),
            ..record()
        });
        let mut batch = RecordBatch::default();
        source.take_into(&mut batch);
        let lines: Vec<RouterLine<'_>> = batch.lines().collect();
        for (i, line) in lines[..6].iter().enumerate() {
            assert_eq!(line.app, "shop");
            assert!(
                line.line.contains(&format!("path=\"/{i}\"")),
                "{i}: {}",
                line.line
            );
            let id = format!(" request_id={} ", "r".repeat(i + 1));
            assert!(line.line.contains(&id), "{i}: {}", line.line);
        }
        assert_eq!((lines[6].app, lines[7].app), ("tie-first", "tie-second"));
        // Still whole after dropping the oldest, as a shipper does.
        batch.drop_first(5);
        let left: Vec<&str> = batch.lines().map(|l| l.app).collect();
        assert_eq!(left, ["shop", "tie-first", "tie-second"]);
        assert!(batch.lines().next().unwrap().line.contains("path=\"/5\""));
    }

    #[test]
    fn requests_answered_one_after_another_on_two_threads_are_taken_in_order() {
        // Two serving threads take turns: each request is offered only once the one before
        // it was (its answer had left), as a client making one request after another sees
        // it. A reader takes meanwhile, as fast as it can; what it takes, take after take,
        // must be in the order of the requests.
        const REQUESTS: u64 = 100_000;
        let (sink, mut source) = record_channel(usize::MAX);
        let turn = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..2u64)
            .map(|parity| {
                let sink = sink.for_thread();
                let turn = turn.clone();
                std::thread::spawn(move || {
                    let mut n = parity;
                    while n < REQUESTS {
                        while turn.load(Ordering::Acquire) != n {
                            std::thread::yield_now();
                        }
                        sink.offer(&RequestRecord {
                            at: UNIX_EPOCH + Duration::from_micros(n),
                            ..record()
                        });
                        turn.store(n + 1, Ordering::Release);
                        n += 2;
                    }
                })
            })
            .collect();
        drop(sink);
        let mut seen: Vec<i64> = Vec::with_capacity(REQUESTS as usize);
        let mut batch = RecordBatch::default();
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while (seen.len() as u64) < REQUESTS {
            assert!(std::time::Instant::now() < deadline, "{} taken", seen.len());
            source.take_into(&mut batch);
            seen.extend(batch.lines().map(|l| l.at_micros));
            batch.clear();
        }
        for thread in threads {
            thread.join().unwrap();
        }
        let out_of_order = seen.windows(2).filter(|w| w[0] > w[1]).count();
        assert_eq!(
            out_of_order, 0,
            "a later request was taken before an earlier one"
        );
        assert_eq!(seen.len() as u64, REQUESTS);
    }

    #[tokio::test]
    async fn a_full_buffer_drops_and_counts_instead_of_waiting() {
        let (sink, mut source) = record_channel(2);
        for _ in 0..5 {
            sink.offer(&record());
        }
        assert_eq!(source.dropped(), 3);
        let mut batch = RecordBatch::default();
        assert!(source.next_into(&mut batch).await);
        assert_eq!(batch.len(), 2);
        // Taken: the buffer has room again.
        sink.offer(&record());
        assert_eq!(source.dropped(), 3);
        batch.clear();
        source.take_into(&mut batch);
        // Long lines fill it before its count does (2 records: 2 KB).
        let long = "/x".repeat(1500);
        sink.offer(&RequestRecord {
            path: &long,
            ..record()
        });
        sink.offer(&record());
        assert_eq!(source.dropped(), 4);
        batch.clear();
        source.take_into(&mut batch);
        assert_eq!(batch.len(), 1);
        assert!(batch.lines().next().unwrap().line.contains(&long));
    }

    #[test]
    fn a_gone_threads_buffer_is_forgotten_once_read() {
        let (sink, mut source) = record_channel(10);
        let thread = sink.for_thread();
        thread.offer(&record());
        drop(thread);
        let mut batch = RecordBatch::default();
        source.take_into(&mut batch);
        assert_eq!(
            batch.len(),
            1,
            "a gone thread's last records are still read"
        );
        assert_eq!(lock(&source.shared.buffers).len(), 1);
        drop(sink);
    }
}
