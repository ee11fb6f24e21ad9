//! Idle keep-alive connections parked outside any task. A fast-path connection that has had
//! no request for a moment (`FastOptions::park_after`) leaves its task: its socket moves from
//! tokio's reactor to this thread's own epoll set, and what remains of it is one slot here
//! (the socket, when to close it, and what its next task needs). When the client sends its
//! next request, the driver takes the socket out again and a fresh task serves it. Until then
//! an idle connection costs about a hundred bytes instead of a task, a reactor registration
//! and a timer (more than a kilobyte), which is what nginx's idle connections cost too.
//!
//! Parked connections are closed at their deadline (the idle timeout, or the header timeout
//! for a connection that never sent a request) by a sweep every `SWEEP_EVERY`.

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token};
use std::io;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::unix::AsyncFd;
use tokio::net::TcpStream;

/// How often parked connections are checked against their deadlines.
pub const SWEEP_EVERY: Duration = Duration::from_millis(250);
/// Readiness events taken from the epoll set at a time.
const EVENTS_PER_POLL: usize = 256;
/// After this many connections parked, the next sweep gives the allocator's free memory back
/// to the system (`release_free_memory`).
const TRIM_AFTER_PARKED: usize = 256;

/// One parked connection.
struct Entry<P> {
    stream: std::net::TcpStream,
    close_at: Instant,
    payload: P,
}

enum Slot<P> {
    /// Free; the next free slot's index (`usize::MAX`: none).
    Free(usize),
    Taken(Entry<P>),
}

/// The parked connections: slots reused through a free list, so the set's memory stays at
/// its high-water mark and a key names one connection while it is parked.
struct Slots<P> {
    slots: Vec<Slot<P>>,
    free: usize,
    len: usize,
    /// Connections parked since free memory was last given back.
    parked_since_trim: usize,
}

impl<P> Default for Slots<P> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            free: usize::MAX,
            len: 0,
            parked_since_trim: 0,
        }
    }
}

impl<P> Slots<P> {
    fn insert(&mut self, entry: Entry<P>) -> usize {
        self.len += 1;
        self.parked_since_trim += 1;
        if let Some(Slot::Free(next)) = self.slots.get(self.free) {
            let key = self.free;
            self.free = *next;
            self.slots[key] = Slot::Taken(entry);
            return key;
        }
        self.slots.push(Slot::Taken(entry));
        self.slots.len() - 1
    }

    fn remove(&mut self, key: usize) -> Option<Entry<P>> {
        let slot = self.slots.get_mut(key)?;
        if matches!(slot, Slot::Free(_)) {
            return None;
        }
        let Slot::Taken(entry) = std::mem::replace(slot, Slot::Free(self.free)) else {
            return None;
        };
        self.free = key;
        self.len -= 1;
        Some(entry)
    }

    /// Whether enough connections were parked since the last time to give free memory back
    /// now (and counts from zero again if so).
    fn trim_due(&mut self) -> bool {
        let due = self.parked_since_trim >= TRIM_AFTER_PARKED;
        if due {
            self.parked_since_trim = 0;
        }
        due
    }

    /// Removes and returns every entry whose deadline is `now` or earlier.
    fn expired(&mut self, now: Instant) -> Vec<Entry<P>> {
        let keys: Vec<usize> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(key, slot)| match slot {
                Slot::Taken(entry) if entry.close_at <= now => Some(key),
                _ => None,
            })
            .collect();
        keys.into_iter()
            .filter_map(|key| self.remove(key))
            .collect()
    }
}

struct Shared<P> {
    registry: Registry,
    slots: Mutex<Slots<P>>,
}

/// Where a serving thread's tasks park their idle connections (cheap to clone).
pub struct Parked<P> {
    shared: Arc<Shared<P>>,
}

impl<P> Clone for Parked<P> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

/// Wakes parked connections and closes expired ones; one per set, run by `ParkedDriver::run`.
pub struct ParkedDriver<P> {
    poll: AsyncFd<Poll>,
    events: Events,
    shared: Arc<Shared<P>>,
}

/// A new, empty set and its driver. Call it on the runtime that will run the driver.
pub fn parked<P>() -> io::Result<(Parked<P>, ParkedDriver<P>)> {
    let poll = Poll::new()?;
    let shared = Arc::new(Shared {
        registry: poll.registry().try_clone()?,
        slots: Mutex::new(Slots::default()),
    });
    // SAFETY: the `Poll` owns its epoll descriptor, never replaces it, and closes it only
    // when dropped, which the `AsyncFd` that owns it does after deregistering it.
    let poll = unsafe { AsyncFd::register_with_interest(poll, tokio::io::Interest::READABLE) }?;
    let driver = ParkedDriver {
        poll,
        events: Events::with_capacity(EVENTS_PER_POLL),
        shared: shared.clone(),
    };
    Ok((Parked { shared }, driver))
}

impl<P> Parked<P> {
    /// Parks `stream` until it becomes readable (or its peer closes it), or until `close_at`,
    /// when it is closed. On an error the connection is closed.
    pub fn park(&self, stream: TcpStream, close_at: Instant, payload: P) -> io::Result<()> {
        let stream = stream.into_std()?;
        let fd = stream.as_raw_fd();
        let mut slots = self.lock();
        let key = slots.insert(Entry {
            stream,
            close_at,
            payload,
        });
        let registered =
            self.shared
                .registry
                .register(&mut SourceFd(&fd), Token(key), Interest::READABLE);
        if let Err(e) = registered {
            slots.remove(key);
            return Err(e);
        }
        Ok(())
    }

    /// How many connections are parked now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots<P>> {
        self.shared.slots.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<P> ParkedDriver<P> {
    /// Hands every parked connection that becomes readable to `wake` (back on tokio's
    /// reactor), and closes parked connections at their deadlines. Returns only on an error
    /// of the epoll set itself.
    pub async fn run(mut self, mut wake: impl FnMut(TcpStream, P)) -> io::Result<()> {
        let mut next_sweep = tokio::time::Instant::now() + SWEEP_EVERY;
        loop {
            tokio::select! {
                ready = self.poll.readable_mut() => {
                    let mut guard = ready?;
                    loop {
                        match guard.get_inner_mut().poll(&mut self.events, Some(Duration::ZERO)) {
                            Ok(()) => {}
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                            Err(e) => return Err(e),
                        }
                        if self.events.is_empty() {
                            guard.clear_ready();
                            break;
                        }
                        for event in self.events.iter() {
                            let entry = lock(&self.shared).remove(event.token().0);
                            let Some(entry) = entry else { continue };
                            let fd = entry.stream.as_raw_fd();
                            let _ = self.shared.registry.deregister(&mut SourceFd(&fd));
                            match TcpStream::from_std(entry.stream) {
                                Ok(stream) => wake(stream, entry.payload),
                                Err(e) => tracing::debug!("a parked connection was lost: {e}"),
                            }
                        }
                    }
                }
                () = tokio::time::sleep_until(next_sweep) => {}
            }
            let now = tokio::time::Instant::now();
            if now >= next_sweep {
                // Dropping an entry closes its socket, which also leaves the epoll set.
                let (expired, trim) = {
                    let mut slots = lock(&self.shared);
                    (slots.expired(now.into_std()), slots.trim_due())
                };
                drop(expired);
                if trim {
                    release_free_memory();
                }
                next_sweep = now + SWEEP_EVERY;
            }
        }
    }
}

/// Gives the allocator's free memory back to the system. The tasks of connections that were
/// parked ended, and glibc keeps what they freed (about a kilobyte each, with their reactor
/// registrations) in the thread's free lists, where it would stay resident after a burst of
/// connections went idle. `malloc_trim` returns the free pages; it walks only free chunks.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes no pointers; it only releases memory no one holds.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn lock<P>(shared: &Shared<P>) -> std::sync::MutexGuard<'_, Slots<P>> {
    shared.slots.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn entry(close_at: Instant, payload: u32) -> Entry<u32> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        Entry {
            stream,
            close_at,
            payload,
        }
    }

    #[test]
    fn slots_are_reused_and_keys_name_one_entry() {
        let now = Instant::now();
        let mut slots = Slots::default();
        let a = slots.insert(entry(now, 1));
        let b = slots.insert(entry(now, 2));
        assert_eq!(slots.len, 2);
        assert_eq!(slots.remove(a).map(|e| e.payload), Some(1));
        assert!(slots.remove(a).is_none(), "a key is used up once removed");
        let c = slots.insert(entry(now, 3));
        assert_eq!(c, a, "the free slot is reused");
        assert_eq!(slots.slots.len(), 2, "no growth while a slot is free");
        assert_eq!(slots.remove(b).map(|e| e.payload), Some(2));
        assert_eq!(slots.remove(c).map(|e| e.payload), Some(3));
        assert_eq!(slots.len, 0);
        assert!(slots.remove(99).is_none());
    }

    #[test]
    fn free_memory_is_given_back_once_per_burst_of_parked_connections() {
        let now = Instant::now();
        let mut slots = Slots::default();
        for n in 0..TRIM_AFTER_PARKED - 1 {
            let key = slots.insert(entry(now, n as u32));
            slots.remove(key);
        }
        assert!(!slots.trim_due(), "fewer parked than a burst");
        slots.insert(entry(now, 0));
        assert!(slots.trim_due());
        assert!(!slots.trim_due(), "counted from zero again");
    }

    #[test]
    fn only_entries_past_their_deadline_expire() {
        let now = Instant::now();
        let mut slots = Slots::default();
        slots.insert(entry(now - Duration::from_secs(1), 1));
        let later = slots.insert(entry(now + Duration::from_secs(60), 2));
        slots.insert(entry(now, 3));
        let mut expired: Vec<u32> = slots.expired(now).into_iter().map(|e| e.payload).collect();
        expired.sort_unstable();
        assert_eq!(expired, vec![1, 3]);
        assert_eq!(slots.len, 1);
        assert_eq!(slots.remove(later).map(|e| e.payload), Some(2));
    }

    /// A connected pair: (the server's side as tokio has it, the client's side).
    async fn pair() -> (TcpStream, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (server, client)
    }

    #[tokio::test]
    async fn a_parked_connection_is_handed_back_when_its_client_writes() {
        let (parked, driver) = parked::<u32>().unwrap();
        let (woken_tx, mut woken_rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(driver.run(move |stream, payload| {
            let _ = woken_tx.send((stream, payload));
        }));
        let (server, mut client) = pair().await;
        parked
            .park(server, Instant::now() + Duration::from_secs(60), 7)
            .unwrap();
        assert_eq!(parked.len(), 1);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(woken_rx.try_recv().is_err(), "woken with nothing to read");

        client.write_all(b"ping").await.unwrap();
        let (mut stream, payload) = tokio::time::timeout(Duration::from_secs(5), woken_rx.recv())
            .await
            .expect("woken")
            .unwrap();
        assert_eq!(payload, 7);
        assert_eq!(parked.len(), 0);
        let mut got = [0u8; 4];
        stream.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping", "the bytes wait in the socket");
        stream.write_all(b"pong").await.unwrap();
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"pong", "the socket works on tokio's reactor again");
    }

    #[tokio::test]
    async fn bytes_sent_before_parking_wake_the_connection_at_once() {
        let (parked, driver) = parked::<u32>().unwrap();
        let (woken_tx, mut woken_rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(driver.run(move |stream, payload| {
            let _ = woken_tx.send((stream, payload));
        }));
        let (server, mut client) = pair().await;
        client.write_all(b"early").await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        parked
            .park(server, Instant::now() + Duration::from_secs(60), 1)
            .unwrap();
        let woken = tokio::time::timeout(Duration::from_secs(5), woken_rx.recv()).await;
        assert!(
            woken.is_ok(),
            "a request that arrived while parking was lost"
        );
    }

    #[tokio::test]
    async fn a_parked_connection_is_closed_at_its_deadline() {
        let (parked, driver) = parked::<u32>().unwrap();
        tokio::spawn(driver.run(|_, _| panic!("nothing was sent")));
        let (server, mut client) = pair().await;
        let (other, _other_client) = pair().await;
        let started = Instant::now();
        parked
            .park(server, started + Duration::from_millis(300), 1)
            .unwrap();
        parked
            .park(other, started + Duration::from_secs(60), 2)
            .unwrap();
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(5), client.read(&mut byte))
            .await
            .expect("closed within the deadline and a sweep");
        assert!(matches!(read, Ok(0)), "the client sees the close: {read:?}");
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(parked.len(), 1, "the connection with time left stays");
    }

    #[tokio::test]
    async fn a_client_that_closes_its_parked_connection_wakes_it_to_be_closed() {
        let (parked, driver) = parked::<u32>().unwrap();
        let (woken_tx, mut woken_rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(driver.run(move |stream, payload| {
            let _ = woken_tx.send((stream, payload));
        }));
        let (server, client) = pair().await;
        parked
            .park(server, Instant::now() + Duration::from_secs(60), 5)
            .unwrap();
        drop(client);
        let (mut stream, _) = tokio::time::timeout(Duration::from_secs(5), woken_rx.recv())
            .await
            .expect("woken by the close")
            .unwrap();
        let mut byte = [0u8; 1];
        assert_eq!(stream.read(&mut byte).await.unwrap(), 0);
    }
}
