//! The node's whole interface with the world: events in, actions out.

use crate::message::Message;
use crate::persist::PersistChange;
use crate::types::{Entry, LogIndex, NodeId, SharedBytes, Term};

/// Something that happened to the node. [`RaftNode::step`](crate::RaftNode::step) takes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// One logical tick of time elapsed.
    Tick,
    /// A message from a peer arrived.
    Receive {
        /// The sender, as authenticated by the driver.
        from: NodeId,
        /// What it said.
        message: Message,
    },
    /// A client asks to replicate a command (the lab's `Start`). Answered in the same call by
    /// [`Action::Proposed`] or [`Action::NotLeader`].
    Propose {
        /// The opaque command.
        command: SharedBytes,
    },
    /// The service has compacted its state through `index` into `data` (the lab's
    /// `Snapshot()`); the node may discard its log up to there. Ignored unless `index` is
    /// applied and beyond the current snapshot.
    Snapshot {
        /// The last index the snapshot covers; must be already applied.
        index: LogIndex,
        /// The service's snapshot.
        data: SharedBytes,
    },
}

/// Something the driver must do, in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Make this change to durable state, and have it durable before carrying out any later
    /// action of the same call. At most one per call, always first.
    Persist(PersistChange),
    /// Send a message to a peer. Delivery may fail; Raft retries on its own.
    Send {
        /// The recipient.
        to: NodeId,
        /// The message.
        message: Message,
    },
    /// Hand a committed entry to the service. Entries come in index order, each exactly once
    /// per incarnation of the node.
    Apply {
        /// The entry's index.
        index: LogIndex,
        /// The entry.
        entry: Entry,
    },
    /// Replace the service's state with this snapshot (received from the leader). Later
    /// `Apply` actions continue from `index + 1`.
    ApplySnapshot {
        /// The last index the snapshot covers.
        index: LogIndex,
        /// The term of that entry.
        term: Term,
        /// The snapshot bytes.
        data: SharedBytes,
    },
    /// The answer to `Propose`: the command was appended at `index` in `term` (it may yet be
    /// lost if this leader is deposed before it commits).
    Proposed {
        /// Where the command sits in the log.
        index: LogIndex,
        /// The leader's term.
        term: Term,
    },
    /// The answer to `Propose` when this node is not the leader.
    NotLeader {
        /// The leader of the current term, if this node knows it.
        leader_hint: Option<NodeId>,
    },
}
