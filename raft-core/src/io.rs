//! The node's whole interface with the world: events in, actions out.

use crate::membership::{Membership, MembershipError};
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
    /// Several commands at once, in order: one log append, one durable write and one message
    /// per follower for all of them, instead of one each. Answered in the same call by
    /// [`Action::ProposedBatch`] or [`Action::NotLeader`].
    ProposeBatch {
        /// The opaque commands, to sit at consecutive indexes.
        commands: Vec<SharedBytes>,
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
    /// The answer to [`Action::PersistAsync`]: the log through `index`, whose entry there has
    /// `term`, is durable. Only used with [`Config::pipelined_persistence`](crate::Config);
    /// a report the node cannot match to its log (stale, from before a crash) is ignored.
    Persisted {
        /// The `index` of the completed `PersistAsync`.
        index: LogIndex,
        /// The `term` of the completed `PersistAsync`.
        term: Term,
    },
    /// Hand leadership to `to` (Ongaro's thesis §3.10): this leader stops accepting
    /// proposals, brings `to` up to date and tells it to stand for election at once
    /// (`TimeoutNow`). If `to` has not taken over within the longest election timeout, the
    /// transfer is abandoned and proposals are accepted again. Answered by
    /// [`Action::Refused`] if this node does not lead or `to` is not a peer; a transfer to
    /// the leader itself, or to the target already being transferred to, does nothing.
    TransferLeader {
        /// The peer to take over.
        to: NodeId,
    },
    /// A linearizable read (thesis §6.4), only with [`Config::read_index`](crate::Config):
    /// answered by [`Action::ReadReady`]` { id, index }` once the service's state includes
    /// every entry committed before this event, or by [`Action::ReadFailed`]. A follower
    /// forwards it to the leader it knows and serves it locally at the index returned.
    ReadIndex {
        /// The driver's id for the read, echoed in the answer.
        id: u64,
    },
    /// Change the cluster's membership (Raft paper §6, Ongaro's thesis §4.3), on the leader:
    /// the new configuration has these voters and learners. Answered in the same call by
    /// [`Action::MembershipProposed`] or [`Action::Refused`] (`NotLeader`, `Transferring`,
    /// [`Refusal::ChangeInProgress`], [`Refusal::InvalidMembership`]).
    ///
    /// If the voters change, the leader appends the joint configuration C_old,new, in which
    /// every decision needs a majority of the old voters and one of the new; once that entry
    /// commits, it appends C_new by itself. If only the learners change, it appends the new
    /// configuration directly. A configuration takes effect on each server as soon as its
    /// entry is appended there ([`Action::MembershipChanged`]). To add a server, start it
    /// with empty [`Config::peers`](crate::Config) and name it here (as a learner first, so
    /// that it catches up before it counts; then again among `voters` to promote it). A
    /// leader that is not among the new voters steps down once C_new commits, handing over
    /// (`TimeoutNow`) to a new voter that holds its whole log. Never reuse the
    /// id of a server that lost its durable state (see [`embedding`](crate::embedding)); to
    /// add back a server that kept its disk, run the cluster with
    /// [`Config::pre_vote`](crate::Config::pre_vote).
    ChangeMembership {
        /// The voters of the new configuration.
        voters: Vec<NodeId>,
        /// The learners of the new configuration: they receive the log, but neither vote nor
        /// count toward commitment.
        learners: Vec<NodeId>,
    },
}

/// Why a node refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// This node does not lead; the leader of its term, if known.
    NotLeader {
        /// The leader of the current term, if this node knows it.
        leader_hint: Option<NodeId>,
    },
    /// This leader is handing over to `to` (`Event::TransferLeader`) and accepts no
    /// proposals until that succeeds or is abandoned.
    Transferring {
        /// The peer leadership is being handed to.
        to: NodeId,
    },
    /// Leadership changed before the read could be confirmed: retry (at the new leader).
    LeaderChanged,
    /// A forwarded read got no usable answer within the longest election timeout.
    TimedOut,
    /// The feature is off in this node's `Config`.
    Disabled,
    /// `TransferLeader` named a node that is not a voter.
    UnknownPeer,
    /// `ChangeMembership` while a change is not finished: the configuration in force is joint,
    /// or its entry is not committed yet. Retry once it is (one change at a time, §6).
    ChangeInProgress,
    /// `ChangeMembership` with an unusable configuration.
    InvalidMembership(MembershipError),
}

/// Something the driver must do, in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Make this change to durable state, and have it durable before carrying out any later
    /// action (of this call or any later one). At most one `Persist` or `PersistAsync` per
    /// call, always first.
    Persist(PersistChange),
    /// Only with [`Config::pipelined_persistence`](crate::Config), only from a leader whose
    /// change is nothing but its own new entries: start making this change durable, but do
    /// not hold later actions back for it — the entries' `AppendEntries` may leave at once
    /// (Ongaro's thesis §10.2.1). When it is durable, feed back
    /// [`Event::Persisted`]` { index, term }`; until then the leader does not count itself
    /// toward committing these entries. Changes are still written in the order given: a later
    /// `Persist` is durable only once this one is. A crash may lose it; nothing that depended
    /// on it was promised.
    PersistAsync {
        /// The change: an append of the leader's own entries.
        change: PersistChange,
        /// The index of the last entry appended, to report back.
        index: LogIndex,
        /// The term of that entry, to report back.
        term: Term,
    },
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
    /// The answer to `ProposeBatch`: the commands were appended in `term` at `first_index`,
    /// `first_index + 1`, … in order (an empty batch appends nothing).
    ProposedBatch {
        /// Where the first command sits in the log.
        first_index: LogIndex,
        /// The leader's term.
        term: Term,
    },
    /// The answer to `Propose` or `ProposeBatch` when this node is not the leader.
    NotLeader {
        /// The leader of the current term, if this node knows it.
        leader_hint: Option<NodeId>,
    },
    /// The answer to `Propose` or `ProposeBatch` while this leader hands over leadership
    /// (`Refusal::Transferring`), and to a `TransferLeader` that cannot be carried out.
    Refused {
        /// Why.
        reason: Refusal,
    },
    /// The read `id` may be served now: the service has applied through `index`, which
    /// covers every entry committed before the read was asked for (after every `Apply` up to
    /// it in the same call).
    ReadReady {
        /// The read's id.
        id: u64,
        /// The read index: serve the read from the service's state, which includes it.
        index: LogIndex,
    },
    /// The read `id` cannot be served by this node now; the client may retry (perhaps
    /// elsewhere).
    ReadFailed {
        /// The read's id.
        id: u64,
        /// Why.
        reason: Refusal,
    },
    /// The answer to `ChangeMembership`: the first configuration entry of the change (the
    /// joint one, or the new configuration itself when only learners change) was appended at
    /// `index` in `term`. The change may yet be lost if this leader is deposed before that
    /// entry commits; watch [`Action::MembershipChanged`] to see where it ends.
    MembershipProposed {
        /// Where the configuration entry sits in the log.
        index: LogIndex,
        /// The leader's term.
        term: Term,
    },
    /// The configuration in force on this node changed: an entry carrying one was appended
    /// or truncated, or a snapshot installed. The driver opens connections to new members
    /// and may close those to nodes no longer in it. It comes before the `Send`s of the same
    /// call. (After a restart, read [`RaftNode::membership`](crate::RaftNode::membership).)
    MembershipChanged {
        /// The configuration now in force.
        membership: Membership,
    },
}
