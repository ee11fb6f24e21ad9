//! Connection caps: how many connections one client address, and all clients together, may hold
//! open. A connection is counted from accept until its socket is dropped (the permit lives in
//! the socket's wrapper, so an upgraded connection still counts). Over the cap, the front door
//! closes the new connection at once instead of letting it wait for a file descriptor.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Why a connection was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitExceeded {
    #[error("{ip} already holds {limit} connections")]
    PerIp { ip: IpAddr, limit: usize },
    #[error("the server already holds {limit} connections")]
    Total { limit: usize },
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// Counts open connections per client address and in total.
#[derive(Debug, Clone)]
pub struct ConnectionLimiter {
    per_ip_limit: usize,
    total_limit: usize,
    counts: Arc<Mutex<Counts>>,
}

impl ConnectionLimiter {
    pub fn new(per_ip_limit: usize, total_limit: usize) -> Self {
        Self {
            per_ip_limit,
            total_limit,
            counts: Arc::default(),
        }
    }

    /// Counts one more connection from `ip`, unless that would pass a cap.
    pub fn try_acquire(&self, ip: IpAddr) -> Result<ConnectionPermit, LimitExceeded> {
        let ip = canonical(ip);
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.total >= self.total_limit {
            return Err(LimitExceeded::Total {
                limit: self.total_limit,
            });
        }
        let from_ip = counts.per_ip.entry(ip).or_insert(0);
        if *from_ip >= self.per_ip_limit {
            return Err(LimitExceeded::PerIp {
                ip,
                limit: self.per_ip_limit,
            });
        }
        *from_ip += 1;
        counts.total += 1;
        Ok(ConnectionPermit {
            ip,
            counts: self.counts.clone(),
        })
    }

    /// Open connections: (from `ip`, in total).
    #[cfg(test)]
    pub fn open(&self, ip: IpAddr) -> (usize, usize) {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let from_ip = counts.per_ip.get(&canonical(ip)).copied().unwrap_or(0);
        (from_ip, counts.total)
    }
}

/// An IPv4 client reached over an IPv6 socket counts as its IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// One counted connection; dropping it gives the slot back.
#[derive(Debug)]
pub struct ConnectionPermit {
    ip: IpAddr,
    counts: Arc<Mutex<Counts>>,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.total = counts.total.saturating_sub(1);
        if let Some(from_ip) = counts.per_ip.get_mut(&self.ip) {
            *from_ip = from_ip.saturating_sub(1);
            if *from_ip == 0 {
                counts.per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn one_address_cannot_pass_its_cap_and_others_still_get_in() {
        let limiter = ConnectionLimiter::new(3, 100);
        let held: Vec<_> = (0..3)
            .map(|_| limiter.try_acquire(ip("10.0.0.1")).unwrap())
            .collect();
        assert_eq!(
            limiter.try_acquire(ip("10.0.0.1")).unwrap_err(),
            LimitExceeded::PerIp {
                ip: ip("10.0.0.1"),
                limit: 3
            }
        );
        let other = limiter.try_acquire(ip("10.0.0.2")).unwrap();
        assert_eq!(limiter.open(ip("10.0.0.1")), (3, 4));
        drop(other);
        drop(held);
        assert_eq!(limiter.open(ip("10.0.0.1")), (0, 0));
        assert!(limiter.try_acquire(ip("10.0.0.1")).is_ok());
    }

    #[test]
    fn the_total_cap_holds_across_addresses() {
        let limiter = ConnectionLimiter::new(10, 2);
        let a = limiter.try_acquire(ip("10.0.0.1")).unwrap();
        let _b = limiter.try_acquire(ip("10.0.0.2")).unwrap();
        assert_eq!(
            limiter.try_acquire(ip("10.0.0.3")).unwrap_err(),
            LimitExceeded::Total { limit: 2 }
        );
        drop(a);
        assert!(limiter.try_acquire(ip("10.0.0.3")).is_ok());
    }

    #[test]
    fn a_refused_connection_takes_no_slot() {
        let limiter = ConnectionLimiter::new(1, 10);
        let _held = limiter.try_acquire(ip("10.0.0.1")).unwrap();
        for _ in 0..5 {
            assert!(limiter.try_acquire(ip("10.0.0.1")).is_err());
        }
        assert_eq!(limiter.open(ip("10.0.0.1")), (1, 1));
    }

    #[test]
    fn ipv4_mapped_addresses_count_as_ipv4() {
        let limiter = ConnectionLimiter::new(1, 10);
        let _held = limiter.try_acquire(ip("192.0.2.7")).unwrap();
        assert!(limiter.try_acquire(ip("::ffff:192.0.2.7")).is_err());
        assert!(limiter.try_acquire(ip("2001:db8::7")).is_ok());
    }

    #[test]
    fn permits_released_from_many_threads_balance_out() {
        let limiter = ConnectionLimiter::new(1000, 1000);
        std::thread::scope(|scope| {
            for t in 0..8 {
                let limiter = limiter.clone();
                scope.spawn(move || {
                    for _ in 0..200 {
                        let permit = limiter.try_acquire(ip(&format!("10.0.0.{t}")));
                        drop(permit);
                    }
                });
            }
        });
        assert_eq!(limiter.open(ip("10.0.0.1")), (0, 0));
    }
}
