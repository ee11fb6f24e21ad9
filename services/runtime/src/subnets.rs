//! Choosing subnets for app networks. Docker's default address pools give every bridge
//! network a /16 and run out after about 30 networks; with one network per app that is ~30
//! apps. paas instead carves small subnets (default /24) out of a pool of its own, skipping any
//! that overlap a network the engine already has. Pure functions, tested as data.

use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 network in CIDR form, e.g. `172.28.0.0/14`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Net {
    pub base: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Net {
    fn mask(prefix: u8) -> u32 {
        if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(prefix))
        }
    }

    fn start(&self) -> u32 {
        u32::from(self.base) & Self::mask(self.prefix)
    }

    fn end(&self) -> u32 {
        self.start() | !Self::mask(self.prefix)
    }

    pub fn overlaps(&self, other: &Ipv4Net) -> bool {
        self.start() <= other.end() && other.start() <= self.end()
    }

    /// The first usable address, used as the gateway.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.start() + 1)
    }
}

impl std::fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.start()), self.prefix)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IPv4 network like 172.28.0.0/14")]
pub struct Ipv4NetError(pub String);

impl FromStr for Ipv4Net {
    type Err = Ipv4NetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || Ipv4NetError(s.to_string());
        let (addr, prefix) = s.trim().split_once('/').ok_or_else(err)?;
        let base: Ipv4Addr = addr.parse().map_err(|_| err())?;
        let prefix: u8 = prefix.parse().map_err(|_| err())?;
        if prefix > 30 {
            return Err(err());
        }
        Ok(Self { base, prefix })
    }
}

/// The pool app networks come from and the size of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubnetPool {
    pub pool: Ipv4Net,
    /// Prefix length of each app network (24 = 254 addresses).
    pub prefix: u8,
}

impl Default for SubnetPool {
    fn default() -> Self {
        Self {
            pool: Ipv4Net {
                base: Ipv4Addr::new(172, 28, 0, 0),
                prefix: 14,
            },
            prefix: 24,
        }
    }
}

impl SubnetPool {
    /// The first subnet of the pool that overlaps none of `taken`.
    pub fn first_free(&self, taken: &[Ipv4Net]) -> Option<Ipv4Net> {
        if self.prefix < self.pool.prefix {
            return None;
        }
        let step = 1u64 << (32 - u32::from(self.prefix));
        let mut start = u64::from(self.pool.start());
        let end = u64::from(self.pool.end());
        while start + step - 1 <= end {
            let candidate = Ipv4Net {
                base: Ipv4Addr::from(start as u32),
                prefix: self.prefix,
            };
            if !taken.iter().any(|t| t.overlaps(&candidate)) {
                return Some(candidate);
            }
            start += step;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_prints() {
        assert_eq!(net("172.28.0.0/14").to_string(), "172.28.0.0/14");
        assert_eq!(net("10.1.2.3/24").to_string(), "10.1.2.0/24");
        for bad in [
            "",
            "10.0.0.0",
            "10.0.0/8",
            "10.0.0.0/33",
            "x/8",
            "10.0.0.0/31",
        ] {
            assert!(bad.parse::<Ipv4Net>().is_err(), "{bad}");
        }
        assert_eq!(net("172.28.5.0/24").gateway(), Ipv4Addr::new(172, 28, 5, 1));
    }

    #[test]
    fn picks_the_first_subnet_clear_of_existing_networks() {
        let pool = SubnetPool::default();
        assert_eq!(pool.first_free(&[]), Some(net("172.28.0.0/24")));
        let taken = [
            net("172.17.0.0/16"),
            net("172.28.0.0/24"),
            net("172.28.1.0/24"),
        ];
        assert_eq!(pool.first_free(&taken), Some(net("172.28.2.0/24")));
        // A /16 the engine gave some other network covers 256 candidates.
        let taken = [net("172.28.0.0/16")];
        assert_eq!(pool.first_free(&taken), Some(net("172.29.0.0/24")));
        // A full pool has nothing left.
        let small = SubnetPool {
            pool: net("10.0.0.0/23"),
            prefix: 24,
        };
        assert_eq!(
            small.first_free(&[net("10.0.0.0/24"), net("10.0.1.0/24")]),
            None
        );
        assert_eq!(
            small.first_free(&[net("10.0.1.0/24")]),
            Some(net("10.0.0.0/24"))
        );
    }
}
