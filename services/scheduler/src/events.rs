//! What Docker's events tell the scheduler between passes. A process that dies is taken out of
//! the route table at once (not at the next pass) and the loop is woken to replace it; a
//! process the kernel killed for memory is remembered so its crash says so. The bookkeeping
//! is plain data (`Liveness`), so the race between an event and a pass that listed the
//! containers just before it is tested without Docker.

use paas_router::RouteTable;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

/// Which processes are routed, and which of them died since the last pass listed them.
#[derive(Debug, Default)]
pub(crate) struct Liveness {
    /// Every running web process the last pass routed or could route: id -> (app, address).
    addr_of: HashMap<String, (String, SocketAddr)>,
    /// Processes reported dead that the last listing still showed running.
    dead: HashSet<String>,
    /// Processes reported killed for memory, until they are gone.
    out_of_memory: HashSet<String>,
}

impl Liveness {
    /// An event said the process `id` died: returns the route to take out now, if any.
    pub(crate) fn died(&mut self, id: &str) -> Option<(String, SocketAddr)> {
        self.dead.insert(id.to_string());
        self.addr_of.get(id).cloned()
    }

    /// An event said the kernel killed a process of container `id` for memory.
    pub(crate) fn out_of_memory(&mut self, id: &str) {
        self.out_of_memory.insert(id.to_string());
    }

    pub(crate) fn was_out_of_memory(&self, id: &str) -> bool {
        self.out_of_memory.contains(id)
    }

    /// Whether an event reported `id` dead although a listing may still show it running.
    pub(crate) fn is_dead(&self, id: &str) -> bool {
        self.dead.contains(id)
    }

    /// After a pass: `running` is what its listing showed running (id -> app and address),
    /// `listed` every container it listed. Deaths the listing already shows are forgotten;
    /// processes reported dead since are taken out of `table` before it is published (the
    /// pass may have planned with a listing older than the event).
    pub(crate) fn settle(
        &mut self,
        running: HashMap<String, (String, SocketAddr)>,
        listed: &HashSet<String>,
        table: &mut RouteTable,
    ) {
        self.dead.retain(|id| running.contains_key(id));
        self.out_of_memory.retain(|id| listed.contains(id));
        self.addr_of = running;
        for id in &self.dead {
            if let Some((app, addr)) = self.addr_of.get(id) {
                if let Some(route) = table.apps.get_mut(app) {
                    route.backends.retain(|b| b.addr != *addr);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paas_router::{AppRoute, Backend};

    fn addr(n: u8) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, n], 5000))
    }

    fn table(addrs: &[u8]) -> RouteTable {
        let mut t = RouteTable::default();
        t.apps.insert(
            "a".into(),
            AppRoute {
                backends: addrs
                    .iter()
                    .map(|n| Backend {
                        addr: addr(*n),
                        dyno: format!("web.{n}"),
                    })
                    .collect(),
                ..Default::default()
            },
        );
        t
    }

    fn running(ids: &[(&str, u8)]) -> HashMap<String, (String, SocketAddr)> {
        ids.iter()
            .map(|(id, n)| (id.to_string(), ("a".to_string(), addr(*n))))
            .collect()
    }

    #[test]
    fn a_death_names_the_route_to_drop() {
        let mut l = Liveness::default();
        let listed = HashSet::from(["x".to_string(), "y".to_string()]);
        l.settle(running(&[("x", 1), ("y", 2)]), &listed, &mut table(&[1, 2]));
        assert_eq!(l.died("x"), Some(("a".to_string(), addr(1))));
        assert_eq!(l.died("unknown"), None);
    }

    #[test]
    fn a_pass_listed_before_the_death_does_not_route_the_dead_process_again() {
        let mut l = Liveness::default();
        let listed = HashSet::from(["x".to_string(), "y".to_string()]);
        l.settle(running(&[("x", 1), ("y", 2)]), &listed, &mut table(&[1, 2]));
        l.died("x");
        // The pass listed x as running before the event arrived.
        let mut t = table(&[1, 2]);
        l.settle(running(&[("x", 1), ("y", 2)]), &listed, &mut t);
        assert_eq!(t, table(&[2]));
        assert!(l.is_dead("x"));
        // Once a listing shows it stopped, the death is forgotten (its address may be reused).
        let mut t = table(&[1, 2]);
        l.settle(running(&[("z", 1), ("y", 2)]), &listed, &mut t);
        assert_eq!(t, table(&[1, 2]));
        assert!(!l.is_dead("x"));
    }

    #[test]
    fn out_of_memory_is_remembered_until_the_container_is_gone() {
        let mut l = Liveness::default();
        l.out_of_memory("x");
        let listed = HashSet::from(["x".to_string()]);
        l.settle(HashMap::new(), &listed, &mut RouteTable::default());
        assert!(l.was_out_of_memory("x"));
        l.settle(HashMap::new(), &HashSet::new(), &mut RouteTable::default());
        assert!(!l.was_out_of_memory("x"));
    }
}
