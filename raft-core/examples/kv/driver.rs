//! The node's loop, on a thread of its own: inputs in, group commit, actions out.
//!
//! ```text
//! loop {
//!     wait for an input or the next tick; take every other input that is ready (a group);
//!     actions = node.step_many(group)         messages, then a tick if due, then one
//!                                             ProposeBatch with the group's client commands
//!     Persist      -> one log record, one fsync, before anything below
//!     Send         -> the peer's connection task (dropped if its queue is full)
//!     Apply        -> the service; the waiting client gets its result
//!     ReadReady    -> the service has applied through the read index: answer the Get
//!     ProposedBatch / NotLeader -> where each client command sits, or a redirection
//!     PersistAsync -> written after the group's sends went out; Persisted fed back next time
//! }
//! ```
//!
//! Writes go through the log; a `Get` does not: it becomes an `Event::ReadIndex` (thesis §6.4),
//! and is answered from the service's state when `ReadReady` says that state includes every
//! write committed before the Get arrived. A follower forwards the read to its leader and
//! serves it itself.
//!
//! The disk is written synchronously on this thread: while an fsync runs, the network tasks
//! keep queueing inputs, which become the next group. Missed ticks are skipped: after a stall
//! the node gets one tick, messages first (see `raft_core::embedding`).

#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // a real node has a real clock

use crate::net::{Input, Outbox};
use crate::protocol::{Command, Op, Reply, Status};
use crate::service::Kv;
use crate::store::Store;
use raft_core::{Action, Entry, Event, LogIndex, RaftNode, Refusal, RoleKind, SharedBytes, Term};
use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// How the loop runs.
pub struct Options {
    /// The length of a tick.
    pub tick: Duration,
    /// Snapshot once this many bytes were appended to the log since the last compaction.
    pub snapshot_bytes: u64,
    /// At most this many inputs in one group.
    pub max_group: usize,
}

/// A client command in the log, waiting to commit at its index.
struct Waiter {
    /// The term it was appended in: the entry applied at its index is ours only if its term
    /// is this one (Log Matching, §5.3).
    term: Term,
    reply: oneshot::Sender<Reply>,
}

/// The inputs of one `step_many`.
#[derive(Default)]
struct Group {
    events: Vec<Event>,
    commands: Vec<SharedBytes>,
    clients: Vec<oneshot::Sender<Reply>>,
}

/// The node, its disk, its service and its connections to the world.
pub struct Driver {
    node: RaftNode,
    store: Store,
    kv: Kv,
    inbox: Receiver<Input>,
    outbox: Outbox,
    options: Options,
    waiters: BTreeMap<LogIndex, Waiter>,
    /// Gets waiting for `ReadReady`, by read id: the key and the client.
    reads: BTreeMap<u64, (String, oneshot::Sender<Reply>)>,
    next_read: u64,
    /// `Persisted` reports for the next group.
    persisted: Vec<Event>,
    next_tick: Instant,
    shown: (RoleKind, Term),
}

impl Driver {
    /// A loop for `node`, restored from `store`, with `kv` restored from its snapshot.
    pub fn new(
        node: RaftNode,
        store: Store,
        kv: Kv,
        inbox: Receiver<Input>,
        outbox: Outbox,
        options: Options,
    ) -> Driver {
        let shown = (node.role(), node.term());
        Driver {
            node,
            store,
            kv,
            inbox,
            outbox,
            next_tick: Instant::now() + options.tick,
            options,
            waiters: BTreeMap::new(),
            reads: BTreeMap::new(),
            next_read: 0,
            persisted: Vec::new(),
            shown,
        }
    }

    /// Runs until the disk fails (an `Err`: the node must stop) or the inputs end.
    pub fn run(mut self) -> Result<(), String> {
        while let Some(group) = self.gather() {
            let actions = self.node.step_many(group.events);
            self.carry_out(actions, group.clients)?;
            self.compact_if_due()?;
            self.after_step();
        }
        Ok(())
    }

    /// Waits for an input or the next tick, then takes whatever else is ready.
    fn gather(&mut self) -> Option<Group> {
        let mut group = Group {
            events: std::mem::take(&mut self.persisted),
            ..Group::default()
        };
        if group.events.is_empty() {
            let wait = self.next_tick.saturating_duration_since(Instant::now());
            match self.inbox.recv_timeout(wait) {
                Ok(input) => self.take(input, &mut group),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
        while group.events.len() + group.commands.len() < self.options.max_group {
            match self.inbox.try_recv() {
                Ok(input) => self.take(input, &mut group),
                Err(_) => break,
            }
        }
        let now = Instant::now();
        if now >= self.next_tick {
            group.events.push(Event::Tick);
            // Skip the ticks missed while the loop was busy or the process stalled.
            self.next_tick = (self.next_tick + self.options.tick).max(now);
        }
        if !group.commands.is_empty() {
            let commands = std::mem::take(&mut group.commands);
            group.events.push(Event::ProposeBatch { commands });
        }
        Some(group)
    }

    fn take(&mut self, input: Input, group: &mut Group) {
        match input {
            Input::Peer { from, message } => group.events.push(Event::Receive { from, message }),
            Input::Client {
                command:
                    Command {
                        op: Op::Get { key },
                        ..
                    },
                reply,
            } => {
                self.next_read += 1;
                self.reads.insert(self.next_read, (key, reply));
                group.events.push(Event::ReadIndex { id: self.next_read });
            }
            Input::Client { command, reply } => {
                group
                    .commands
                    .push(crate::protocol::encode(&command).into());
                group.clients.push(reply);
            }
            Input::Status { reply } => {
                let _ = reply.send(Reply::Status(self.status()));
            }
        }
    }

    /// Carries out one call's actions in order; `clients` are the senders of the group's
    /// `ProposeBatch`, in order.
    fn carry_out(
        &mut self,
        actions: Vec<Action>,
        mut clients: Vec<oneshot::Sender<Reply>>,
    ) -> Result<(), String> {
        let mut unsynced = None;
        for action in actions {
            match action {
                Action::Persist(change) => self.persist(change)?,
                Action::PersistAsync {
                    change,
                    index,
                    term,
                } => unsynced = Some((change, Event::Persisted { index, term })),
                Action::Send { to, message } => self.outbox.send(to, message),
                Action::Apply { index, entry } => self.apply(index, entry),
                Action::ApplySnapshot { index, data, .. } => self.install(index, &data)?,
                Action::ProposedBatch { first_index, term } => {
                    for (k, reply) in clients.drain(..).enumerate() {
                        let waiter = Waiter { term, reply };
                        self.waiters.insert(first_index.plus(k as u64), waiter);
                    }
                }
                Action::NotLeader { leader_hint } => {
                    let leader = leader_hint.map(|id| id.0);
                    for reply in clients.drain(..) {
                        let _ = reply.send(Reply::NotLeader { leader });
                    }
                }
                Action::ReadReady { id, .. } => self.answer_read(id, None),
                Action::ReadFailed { id, reason } => self.answer_read(id, Some(reason)),
                Action::Proposed { .. } => {} // this driver proposes in batches only
                // This driver asks for no transfers and no membership changes: its cluster is
                // the fixed one given on the command line.
                Action::Refused { .. }
                | Action::MembershipProposed { .. }
                | Action::MembershipChanged { .. } => {}
            }
        }
        // Pipelined: the entries' messages are on their way; now make them durable.
        if let Some((change, persisted)) = unsynced {
            self.persist(change)?;
            self.persisted.push(persisted);
        }
        Ok(())
    }

    fn persist(&mut self, change: raft_core::PersistChange) -> Result<(), String> {
        let id = self.node.id();
        match self.store.persist(change) {
            Ok(Some(bytes)) => {
                let through = self.store.state().snapshot.index;
                say!(
                    "node {}: compacted through {through}: log rewritten, {bytes} bytes",
                    id.0
                );
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(e) => Err(format!("node {}: cannot write its log: {e}", id.0)),
        }
    }

    /// Executes a committed command and answers the client waiting for it, if any.
    fn apply(&mut self, index: LogIndex, entry: Entry) {
        let result = self.kv.apply(&entry.command);
        let Some(waiter) = self.waiters.remove(&index) else {
            return;
        };
        let reply = match result {
            Some((_, value)) if waiter.term == entry.term => Reply::Done { value },
            _ => Reply::Retry, // another leader's entry took the command's place
        };
        let _ = waiter.reply.send(reply);
    }

    /// Answers a Get: from the service's state, which `ReadReady` (coming after the `Apply`s
    /// it needs) says is recent enough, or with where to retry.
    fn answer_read(&mut self, id: u64, failure: Option<Refusal>) {
        let Some((key, reply)) = self.reads.remove(&id) else {
            return;
        };
        let answer = match failure {
            None => Reply::Done {
                value: self.kv.get(&key),
            },
            Some(Refusal::NotLeader { leader_hint }) => Reply::NotLeader {
                leader: leader_hint.map(|id| id.0),
            },
            Some(_) => Reply::Retry,
        };
        let _ = reply.send(answer);
    }

    /// A leader's snapshot replaces the service's state.
    fn install(&mut self, index: LogIndex, data: &[u8]) -> Result<(), String> {
        self.kv = Kv::restore(data).map_err(|e| format!("node {}: {e}", self.node.id().0))?;
        say!(
            "node {}: installed the leader's snapshot through {index}",
            self.node.id().0
        );
        let later = self.waiters.split_off(&index.next());
        for (_, waiter) in std::mem::replace(&mut self.waiters, later) {
            let _ = waiter.reply.send(Reply::Retry);
        }
        Ok(())
    }

    /// Hands the node the service's snapshot once the log has grown enough (§7).
    fn compact_if_due(&mut self) -> Result<(), String> {
        let applied = self.node.last_applied();
        if self.store.appended_since_compaction() < self.options.snapshot_bytes
            || applied <= self.node.snapshot_index()
        {
            return Ok(());
        }
        let data = self.kv.snapshot().into();
        let actions = self.node.step(Event::Snapshot {
            index: applied,
            data,
        });
        self.carry_out(actions, Vec::new())
    }

    /// Commands waiting on a node that no longer leads their term will never be answered
    /// here: tell their clients to try again (the command may still commit; its `seq` makes
    /// the resend harmless). Also reports role changes.
    fn after_step(&mut self) {
        let (term, leading) = (self.node.term(), self.node.is_leader());
        let stale: Vec<LogIndex> = (self.waiters.iter())
            .filter(|(_, w)| !leading || w.term != term)
            .map(|(&index, _)| index)
            .collect();
        for index in stale {
            if let Some(waiter) = self.waiters.remove(&index) {
                let _ = waiter.reply.send(Reply::Retry);
            }
        }
        let now = (self.node.role(), term);
        if now != self.shown && (now.0 == RoleKind::Leader || self.shown.0 == RoleKind::Leader) {
            let id = self.node.id().0;
            match now.0 {
                RoleKind::Leader => say!("node {id}: leader of term {}", term.0),
                _ => say!("node {id}: no longer leads (now term {})", term.0),
            }
        }
        self.shown = now;
    }

    fn status(&self) -> Status {
        let node = &self.node;
        Status {
            id: node.id().0,
            term: node.term().0,
            leader: node.is_leader(),
            leader_hint: node.leader_hint().map(|id| id.0),
            commit: node.commit_index().0,
            last_index: node.last_index().0,
            snapshot_index: node.snapshot_index().0,
        }
    }
}
