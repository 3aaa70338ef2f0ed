//! What nodes say to each other (Figure 2), and its reference wire encoding (postcard).

use crate::persist::DecodeError;
use crate::types::{Entry, LogIndex, SharedBytes, Term};
use serde::{Deserialize, Serialize};

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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallSnapshot {
    /// The leader's term.
    pub term: Term,
    /// The snapshot replaces the log up to and including this index.
    pub last_included_index: LogIndex,
    /// The term of that entry.
    pub last_included_term: Term,
    /// The service's snapshot bytes.
    pub data: SharedBytes,
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
        }
    }

    /// Whether this is a request (to be answered) rather than a reply.
    pub fn is_request(&self) -> bool {
        matches!(
            self,
            Message::RequestVote(_) | Message::AppendEntries(_) | Message::InstallSnapshot(_)
        )
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
