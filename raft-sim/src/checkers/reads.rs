//! Linearizable Reads (Ongaro's thesis §6.4): a read answered with `ReadReady { index }` must
//! reflect every write committed before the read was asked for.
//!
//! The committed record (`committed.rs`) holds every entry some service has applied; the
//! highest of them when a read is asked for is its *floor*: a client could already have seen
//! that write acknowledged. The answer's index must reach the floor (else the protocol chose a
//! stale index), and the service that answers must have applied through the index (else it
//! serves a state the index does not describe). Together with State Machine Safety (every
//! service applies a prefix of one sequence), this makes every answered read linearizable: it
//! can be placed after every write committed before it started and before any write it does
//! not see was committed.

use super::{Check, Invariant, Violation};
use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub(crate) struct Reads {
    /// The floor of each read asked for and not answered yet, by (server, read id).
    started: BTreeMap<(usize, u64), u64>,
}

impl Reads {
    pub(crate) fn started(&mut self, server: usize, id: u64, floor: u64) {
        self.started.insert((server, id), floor);
    }

    /// Server `server` answered read `id` at `index`, its service having applied through
    /// `service_applied`.
    pub(crate) fn ready(
        &mut self,
        server: usize,
        id: u64,
        index: u64,
        service_applied: u64,
    ) -> Check {
        let violation = |detail: String| Err(Violation::new(Invariant::LinearizableReads, detail));
        let Some(floor) = self.started.remove(&(server, id)) else {
            return violation(format!(
                "server {server} answered read #{id}, which it was not asked (or answered twice)"
            ));
        };
        if index < floor {
            return violation(format!(
                "server {server} answered read #{id} at index {index}, but index {floor} was \
                 committed before the read was asked for: a stale read"
            ));
        }
        if service_applied < index {
            return violation(format!(
                "server {server} answered read #{id} at index {index}, but its service has \
                 applied only through {service_applied}"
            ));
        }
        Ok(())
    }

    /// The read failed: nothing to check.
    pub(crate) fn failed(&mut self, server: usize, id: u64) {
        self.started.remove(&(server, id));
    }

    /// A crash forgets the server's reads: they will never be answered.
    pub(crate) fn crashed(&mut self, server: usize) {
        self.started.retain(|&(s, _), _| s != server);
    }
}
