//! What runs on top of each server's Raft: the application the world hands committed entries
//! to.
//!
//! The lab's Raft tests put the tester's appliers there ([`Appliers`](crate::applier::Appliers));
//! the key/value lab puts its servers there ([`kv::Rsm`](crate::kv::Rsm)). The world calls a
//! service synchronously, in the order the node's actions come out, so a service sees exactly
//! what the lab's `applyCh` reader would see, with no scheduling of its own.

use raft_core::{PersistentState, SharedBytes};
use std::any::Any;

/// The application layer of every server of one world (one object for the whole cluster, so
/// that it can compare servers, as the lab's appliers do).
pub trait Service: Any {
    /// A new incarnation of `server` starts; `snapshot` is the service data of its persisted
    /// snapshot (empty if none), which it restores from (the lab's `ReadSnapshot()` at
    /// start-up). An `Err` fails the run.
    fn start(&mut self, server: usize, snapshot: &[u8]) -> Result<(), String>;

    /// `server` crashed: its volatile state is gone.
    fn crash(&mut self, server: usize);

    /// `server` applies the committed `command` at `index`; `durable` is what its Raft has
    /// made durable so far (the lab's persister). Returns snapshot data when the service wants
    /// Raft to compact its log through `index` (the lab's `Snapshot(index, data)`).
    fn apply(
        &mut self,
        server: usize,
        index: u64,
        command: &[u8],
        durable: &PersistentState,
    ) -> Result<Option<SharedBytes>, String>;

    /// `server` installs a snapshot received from the leader, covering the log through
    /// `index`.
    fn apply_snapshot(&mut self, server: usize, index: u64, data: &[u8]) -> Result<(), String>;

    /// `server`'s disk was wiped (it will rejoin as a new member): whatever its service kept
    /// across restarts is gone too. Most services keep nothing, hence the default.
    fn wiped(&mut self, _server: usize) {}

    /// For downcasting to the concrete service.
    fn as_any(&self) -> &dyn Any;

    /// For downcasting to the concrete service.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}
