//! What nodes say to each other (Figure 2), and its reference wire encoding (postcard).
//!
//! # Wire versions
//!
//! A message is encoded as its variant's tag (a varint) followed by its fields, so the tags are
//! the format's version marks:
//!
//! | version | tags | messages |
//! |---|---|---|
//! | 1 | 0–5 | the paper's three RPCs and their replies (Figure 2, §7) |
//! | 2 | 6–13 | PreVote (thesis §9.6), TimeoutNow and its votes (§3.10), numbered heartbeats (§6.4), forwarded reads (§6.4) |
//! | 3 | 2, 4 | configuration entries in `AppendEntries`, a snapshot's configuration in `InstallSnapshot` (§6): a term with bit 62 set marks them |
//!
//! Version 2 only adds tags: every version-1 message encodes to the same bytes as before, and
//! a node with every production feature off ([`Config`](crate::Config)) sends nothing but
//! version-1 messages. A version-1 decoder refuses a version-2 tag as malformed input, which a
//! node drops like any other; [`Message::wire_version`] says which version a message needs.
//!
//! Version 3 changes no tag: a configuration entry's term, or an `InstallSnapshot`'s
//! `last_included_term`, has bit 62 set (no real term does) and the configuration follows. A
//! cluster that never changes its membership sends exactly the bytes it sent before; an older
//! decoder sees a term beyond the ceiling in a version-3 message and drops it.

use crate::membership::Membership;
use crate::persist::DecodeError;
use crate::types::{Entry, LogIndex, SharedBytes, Term};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A message between two nodes. Requests (`RequestVote`, `AppendEntries`, `InstallSnapshot`)
/// are answered with at most one reply of the matching kind, in the same `step` — none only
/// when the request is dropped as malformed or impossible — so a driver that models RPCs can
/// pair every reply with the request it answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// A candidate asks for a vote (§5.2).
    RequestVote(RequestVote),
    /// The answer to a `RequestVote`.
    RequestVoteReply(RequestVoteReply),
    /// A leader replicates entries, or just asserts its leadership (§5.3).
    AppendEntries(AppendEntries),
    /// The answer to an `AppendEntries`.
    AppendEntriesReply(AppendEntriesReply),
    /// A leader ships its snapshot to a follower that needs discarded entries (§7).
    InstallSnapshot(InstallSnapshot),
    /// The answer to an `InstallSnapshot`.
    InstallSnapshotReply(InstallSnapshotReply),
    // ---- wire version 2 -----------------------------------------------------------------
    /// Would you vote for me? (thesis §9.6) `term` is the term the sender *would* stand
    /// for; neither side changes its term or vote for it.
    PreVote(RequestVote),
    /// The answer to a `PreVote`: a grant carries the pre-vote's term, a refusal the
    /// voter's own.
    PreVoteReply(RequestVoteReply),
    /// A leader hands over (thesis §3.10): the recipient, which the leader has brought up to
    /// date, stands for election at once. One-way: it gets no reply.
    TimeoutNow(TimeoutNow),
    /// A `RequestVote` from a candidate that a leader handed over to with `TimeoutNow`:
    /// judged like one, except that voters grant it even while they hear from a leader
    /// (thesis §3.10, §4.2.3). Answered by a `RequestVoteReply`.
    TransferVote(RequestVote),
    /// A numbered heartbeat: asserts leadership like an empty AppendEntries but touches no
    /// log. Its reply echoes the number, so the leader knows the follower accepted it after
    /// it was sent (ReadIndex, thesis §6.4; leases, §6.4.1).
    Heartbeat(Heartbeat),
    /// The answer to a `Heartbeat`.
    HeartbeatReply(HeartbeatReply),
    /// A follower forwards a client's read to the leader (thesis §6.4). One-way: the answer
    /// comes later, as a `ReadIndexResponse`.
    ReadIndex(ReadIndexRequest),
    /// The leader's answer to a forwarded read: the index to serve it at, once confirmed.
    /// One-way, sent when the read is confirmed (or refused).
    ReadIndexResponse(ReadIndexResponse),
}

/// RequestVote arguments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestVote {
    /// The candidate's term.
    pub term: Term,
    /// Index of the candidate's last log entry (§5.4.1).
    pub last_log_index: LogIndex,
    /// Term of the candidate's last log entry (§5.4.1).
    pub last_log_term: Term,
}

/// RequestVote results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestVoteReply {
    /// The voter's current term, for the candidate to update itself.
    pub term: Term,
    /// Whether the vote was granted.
    pub granted: bool,
}

/// TimeoutNow arguments (thesis §3.10).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeoutNow {
    /// The leader's term; the recipient stands for the next one.
    pub term: Term,
}

/// A numbered heartbeat (see [`Message::Heartbeat`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The leader's term.
    pub term: Term,
    /// The leader's round number, growing within its term.
    pub round: u64,
}

/// The answer to a [`Heartbeat`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatReply {
    /// The follower's term (newer than the heartbeat's if it refused it).
    pub term: Term,
    /// The round answered.
    pub round: u64,
}

/// A read forwarded by a follower (see [`Message::ReadIndex`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadIndexRequest {
    /// The follower's term.
    pub term: Term,
    /// The follower's id for the read (its driver's, from `Event::ReadIndex`).
    pub id: u64,
}

/// The leader's answer to a forwarded read (see [`Message::ReadIndexResponse`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadIndexResponse {
    /// The leader's term.
    pub term: Term,
    /// The read's id, as the follower sent it.
    pub id: u64,
    /// Serve the read once this index is applied; `None`: refused (not the leader, or reads
    /// are off there).
    pub index: Option<LogIndex>,
}

/// AppendEntries arguments. With no entries it is a heartbeat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendEntries {
    /// The leader's term.
    pub term: Term,
    /// Index of the entry just before `entries`.
    pub prev_log_index: LogIndex,
    /// Term of the entry at `prev_log_index`.
    pub prev_log_term: Term,
    /// Entries to store, at `prev_log_index + 1` onward.
    pub entries: Vec<Entry>,
    /// The leader's commit index; followers learn about commits from it, piggybacked.
    pub leader_commit: LogIndex,
}

/// AppendEntries results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendEntriesReply {
    /// The follower's current term.
    pub term: Term,
    /// Success, or where the logs differ.
    pub outcome: AppendOutcome,
}

/// How an AppendEntries went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppendOutcome {
    /// The follower's log now matches the leader's up to and including this index.
    Matched(LogIndex),
    /// The consistency check at `rejected` failed. The hint lets the leader skip a whole term
    /// per round trip (the lab's XTerm / XIndex / XLen, §5.3 "optimization").
    Rejected {
        /// The `prev_log_index` of the rejected request.
        rejected: LogIndex,
        /// Where the leader should look next.
        hint: ConflictHint,
    },
    /// The message was refused because its term is stale; only `term` matters.
    StaleTerm,
}

/// The follower's description of the conflict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConflictHint {
    /// The follower's log ends before the requested index; `next` is its last index + 1 (XLen).
    LogTooShort {
        /// The follower's last index + 1.
        next: LogIndex,
    },
    /// The follower has an entry of `term` at the requested index; the first entry of that term
    /// it holds is at `first_index` (XTerm / XIndex).
    TermMismatch {
        /// The conflicting term (XTerm).
        term: Term,
        /// The follower's first index holding `term` (XIndex).
        first_index: LogIndex,
    },
}

/// InstallSnapshot arguments (the whole snapshot in one message; no chunking).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallSnapshot {
    /// The leader's term.
    pub term: Term,
    /// The snapshot replaces the log up to and including this index.
    pub last_included_index: LogIndex,
    /// The term of that entry.
    pub last_included_term: Term,
    /// The service's snapshot bytes.
    pub data: SharedBytes,
    /// The configuration in force at `last_included_index` (§6, thesis §4.1), or `None` if
    /// the log there never held a configuration entry (the cluster's bootstrap
    /// configuration, `Config::peers`). Wire version 3 when present (see `wire_version`).
    pub membership: Option<Arc<Membership>>,
}

/// InstallSnapshot results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallSnapshotReply {
    /// The follower's current term.
    pub term: Term,
    /// The follower's log now matches the leader's through this index (the request's
    /// `last_included_index`); `None` when the request was refused as coming from an older
    /// term — which says nothing about the follower's log, even if the sender leads by now.
    pub matched: Option<LogIndex>,
}

impl Message {
    /// The sender's term, carried by every message (§5.1).
    pub fn term(&self) -> Term {
        match self {
            Message::RequestVote(m) => m.term,
            Message::RequestVoteReply(m) => m.term,
            Message::AppendEntries(m) => m.term,
            Message::AppendEntriesReply(m) => m.term,
            Message::InstallSnapshot(m) => m.term,
            Message::InstallSnapshotReply(m) => m.term,
            Message::PreVote(m) | Message::TransferVote(m) => m.term,
            Message::PreVoteReply(m) => m.term,
            Message::TimeoutNow(m) => m.term,
            Message::Heartbeat(m) => m.term,
            Message::HeartbeatReply(m) => m.term,
            Message::ReadIndex(m) => m.term,
            Message::ReadIndexResponse(m) => m.term,
        }
    }

    /// Whether this message starts an exchange rather than answering one: a request (answered
    /// in the same step by at most one reply) or a one-way message (`TimeoutNow`, `ReadIndex`,
    /// `ReadIndexResponse`, which get none). Replies are the rest.
    pub fn is_request(&self) -> bool {
        matches!(
            self,
            Message::RequestVote(_)
                | Message::AppendEntries(_)
                | Message::InstallSnapshot(_)
                | Message::PreVote(_)
                | Message::TimeoutNow(_)
                | Message::TransferVote(_)
                | Message::Heartbeat(_)
                | Message::ReadIndex(_)
                | Message::ReadIndexResponse(_)
        )
    }

    /// Whether only a leader sends this message, so that its sender leads its term.
    pub fn is_from_leader(&self) -> bool {
        matches!(
            self,
            Message::AppendEntries(_)
                | Message::InstallSnapshot(_)
                | Message::TimeoutNow(_)
                | Message::Heartbeat(_)
        )
    }

    /// The wire version this message needs (see the module's table): 3 for an
    /// `AppendEntries` carrying a configuration entry or an `InstallSnapshot` carrying a
    /// configuration, else the version that introduced its kind.
    pub fn wire_version(&self) -> u8 {
        match self {
            Message::AppendEntries(m) if m.entries.iter().any(|e| e.membership().is_some()) => 3,
            Message::InstallSnapshot(m) if m.membership.is_some() => 3,
            Message::RequestVote(_)
            | Message::RequestVoteReply(_)
            | Message::AppendEntries(_)
            | Message::AppendEntriesReply(_)
            | Message::InstallSnapshot(_)
            | Message::InstallSnapshotReply(_) => 1,
            _ => 2,
        }
    }

    /// A short name of the kind, for traces.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::RequestVote(_) => "RequestVote",
            Message::RequestVoteReply(_) => "RequestVoteReply",
            Message::AppendEntries(_) => "AppendEntries",
            Message::AppendEntriesReply(_) => "AppendEntriesReply",
            Message::InstallSnapshot(_) => "InstallSnapshot",
            Message::InstallSnapshotReply(_) => "InstallSnapshotReply",
            Message::PreVote(_) => "PreVote",
            Message::PreVoteReply(_) => "PreVoteReply",
            Message::TimeoutNow(_) => "TimeoutNow",
            Message::TransferVote(_) => "TransferVote",
            Message::Heartbeat(_) => "Heartbeat",
            Message::HeartbeatReply(_) => "HeartbeatReply",
            Message::ReadIndex(_) => "ReadIndex",
            Message::ReadIndexResponse(_) => "ReadIndexResponse",
        }
    }

    /// The reference encoding (postcard).
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("encoding into a Vec cannot fail")
    }

    /// Appends the reference encoding to `buf` and returns its length, reusing `buf`'s memory.
    pub fn encode_into(&self, buf: &mut Vec<u8>) -> usize {
        let start = buf.len();
        let taken = std::mem::take(buf);
        *buf = postcard::to_extend(self, taken).expect("encoding into a Vec cannot fail");
        buf.len() - start
    }

    /// The size of the reference encoding, in bytes.
    pub fn encoded_len(&self) -> usize {
        postcard::experimental::serialized_size(self).expect("sizing cannot fail")
    }

    /// Decodes the reference encoding. Malformed bytes are an `Err`, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        match postcard::take_from_bytes::<Message>(bytes) {
            Ok((message, [])) => Ok(message),
            Ok((_, rest)) => Err(DecodeError::TrailingBytes(rest.len())),
            Err(e) => Err(DecodeError::Malformed(e.to_string())),
        }
    }
}
