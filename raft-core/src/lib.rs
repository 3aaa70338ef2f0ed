//! # raft-core
//!
//! A pure, sans-IO implementation of Raft (the extended paper: Figure 2, §5 and §7): leader
//! election, log replication with fast back-up, persistence, and snapshots. It never reads a
//! clock, spawns a thread, touches a socket or hides a random generator. A driver feeds
//! [`Event`]s to [`RaftNode::step`] and carries out the returned [`Action`]s in order:
//!
//! - [`Action::Persist`] (always first when present) must be durable before anything after it;
//! - [`Action::Send`] goes to the network, which may lose, delay or reorder it;
//! - [`Action::Apply`] / [`Action::ApplySnapshot`] go to the service, in index order;
//! - [`Action::Proposed`] / [`Action::NotLeader`] answer an [`Event::Propose`] at once.
//!
//! For throughput: [`Event::ProposeBatch`] appends many commands with one durable write and one
//! message per follower; [`RaftNode::step_many`] feeds several events and returns their durable
//! changes as one `Persist` (group commit); [`Config::pipelined_persistence`] lets a leader send
//! its entries while its own write is under way ([`Action::PersistAsync`], answered by
//! [`Event::Persisted`]). Followers learn a new commit index at once, not at the next
//! heartbeat.
//!
//! To run it in a real process (a clock, sockets, a disk), read [`embedding`]: restart from
//! disk and the service's snapshot, seeds, tick length and late ticks, group commit and what
//! must be durable before which action. [`wal`] is a write-ahead log format for the durable
//! changes, with a replay that stops at a torn write.
//!
//! For production clusters, each off by default (see [`Config`] for the trade-offs):
//! PreVote ([`Config::pre_vote`], thesis §9.6), CheckQuorum with leader stickiness
//! ([`Config::check_quorum`], §6.2 and §4.2.3), linearizable reads through ReadIndex
//! ([`Config::read_index`], [`Event::ReadIndex`] answered by [`Action::ReadReady`], §6.4) and
//! through a lease ([`Config::lease_reads`], §6.4.1), and leadership transfer
//! ([`Event::TransferLeader`], §3.10). Their messages are wire version 2 (see [`Message`]).
//!
//! Membership changes ([`Event::ChangeMembership`], Raft paper §6, thesis §4.3) go through the
//! joint configuration C_old,new to C_new on their own; learners catch up before they vote.
//! The driver opens and closes connections on [`Action::MembershipChanged`], its service skips
//! configuration entries ([`Entry::membership`]), and a server joining a running cluster starts
//! with empty [`Config::peers`]. `cargo run -p raft-core --example membership` grows three
//! servers to five and replaces a dead one.
//!
//! ```
//! use raft_core::{Action, Config, Event, NodeId, RaftNode};
//!
//! let mut config = Config::new(NodeId(1), vec![NodeId(1)], 7);
//! config.pre_vote = true;
//! config.check_quorum = true;
//! config.read_index = true;
//! let mut node = RaftNode::new(config, None).unwrap();
//! while !node.is_leader() {
//!     node.step(Event::Tick);
//! }
//! // A read: answered once the service has applied every write committed before it.
//! let actions = node.step(Event::ReadIndex { id: 42 });
//! assert!(actions.contains(&Action::ReadReady { id: 42, index: node.commit_index() }));
//! ```
//!
//! Time is [`Event::Tick`]s; [`Config`] says how many make a heartbeat interval and an
//! election timeout. The only randomness is a `ChaCha8Rng` seeded from [`Config::seed`], so the
//! same configuration and the same events give byte-identical actions.
//!
//! ```
//! use raft_core::{Action, Config, Event, Message, NodeId, RaftNode};
//!
//! // Three nodes, a perfect network, and a hand-written loop.
//! let ids = [NodeId(1), NodeId(2), NodeId(3)];
//! // Every node needs its own seed: equal seeds draw equal election timeouts, so nodes that
//! // start together would stand for election together and split the vote, term after term.
//! let seed_of = |id: NodeId| 1000 + id.0;
//! let mut nodes: Vec<RaftNode> = ids
//!     .iter()
//!     .map(|&id| RaftNode::new(Config::new(id, ids.to_vec(), seed_of(id)), None).unwrap())
//!     .collect();
//! let mut inbox: Vec<(NodeId, NodeId, Message)> = Vec::new(); // (from, to, message)
//! let mut applied = vec![Vec::new(); 3];
//! let mut proposed = false;
//! for _ in 0..1000 {
//!     for (i, node) in nodes.iter_mut().enumerate() {
//!         let mut actions = node.step(Event::Tick);
//!         if node.is_leader() && !proposed {
//!             proposed = true;
//!             actions.extend(node.step(Event::Propose { command: b"hello".as_slice().into() }));
//!         }
//!         for action in actions {
//!             match action {
//!                 Action::Send { to, message } => inbox.push((ids[i], to, message)),
//!                 Action::Apply { entry, .. } => applied[i].push(entry.command),
//!                 _ => {} // a real driver persists `Persist` before going on
//!             }
//!         }
//!     }
//!     while let Some((from, to, message)) = inbox.pop() {
//!         let i = ids.iter().position(|&id| id == to).unwrap();
//!         for action in nodes[i].step(Event::Receive { from, message }) {
//!             match action {
//!                 Action::Send { to, message } => inbox.push((ids[i], to, message)),
//!                 Action::Apply { entry, .. } => applied[i].push(entry.command),
//!                 _ => {}
//!             }
//!         }
//!     }
//! }
//! assert!(applied.iter().all(|log| log.len() == 1 && &log[0][..] == b"hello"));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod batch;
mod check_quorum;
mod commit_notice;
mod config;
mod election;
pub mod embedding;
mod follower;
mod group;
#[cfg(debug_assertions)]
mod invariants;
mod io;
mod leader;
mod lease;
mod log;
mod membership;
mod message;
mod node;
mod persist;
mod pipeline;
mod prevote;
mod progress;
mod read_index;
mod reconfig;
mod snapshot;
mod transfer;
mod types;
pub mod wal;
mod wire;

pub use config::{Config, ConfigError};
pub use io::{Action, Event, Refusal};
pub use membership::{Membership, MembershipError, MAX_MEMBERS};
pub use message::{
    AppendEntries, AppendEntriesReply, AppendOutcome, ConflictHint, Heartbeat, HeartbeatReply,
    InstallSnapshot, InstallSnapshotReply, Message, ReadIndexRequest, ReadIndexResponse,
    RequestVote, RequestVoteReply, TimeoutNow,
};
pub use node::{RaftNode, RoleKind};
pub use persist::{
    ChangeError, DecodeError, HardState, Inconsistency, LogAppend, PersistChange, PersistentState,
    Snapshot,
};
pub use types::{Entry, LogIndex, NodeId, SharedBytes, Term};
