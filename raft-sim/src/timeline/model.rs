//! What a timeline shows: per server, spans of role and term, downtime and isolation, the
//! commit and applied indexes over time, and marks; for the cluster, the topologies, the
//! harness's steps, the messages and the failure.

use crate::checkers::Invariant;
use crate::world::SimTime;
use raft_core::RoleKind;

/// Something that lasts from `start` to `end` (virtual microseconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span<T> {
    /// When it began.
    pub start: SimTime,
    /// When it ended (the end of the run, if it never did).
    pub end: SimTime,
    /// What it was.
    pub what: T,
}

/// A moment on a server's lane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mark {
    /// The service snapshotted, or a leader's snapshot was written: the log now starts after
    /// `index`.
    Snapshot {
        /// Its last index.
        index: u64,
        /// Whether it came from a leader (InstallSnapshot) rather than the service.
        installed: bool,
    },
    /// The server crashed inside a write; `parts` of its `of` parts landed.
    TornWrite {
        /// Parts written.
        parts: usize,
        /// Parts the write had.
        of: usize,
    },
    /// The server's unsafe disk lost the last write it had reported durable.
    DiskLost,
}

/// One server's row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lane {
    /// Role and term, while alive.
    pub roles: Vec<Span<(RoleKind, u64)>>,
    /// Down: from a crash to the next start.
    pub down: Vec<Span<()>>,
    /// Cut off from some or all peers, and how (`disconnected`, `cut →1 ←2`).
    pub isolated: Vec<Span<String>>,
    /// The commit index over time, one step line per incarnation: `(time, index)`.
    pub commit: Vec<Vec<(SimTime, u64)>>,
    /// The applied index likewise.
    pub applied: Vec<Vec<(SimTime, u64)>>,
    /// When it wrote to its disk.
    pub persists: Vec<SimTime>,
    /// Snapshots, torn writes, lost writes.
    pub marks: Vec<(SimTime, Mark)>,
}

/// A message, from its sending to its delivery (or loss).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arrow {
    /// Sent at (for a dropped message: when it was lost).
    pub sent: SimTime,
    /// Delivered (or lost) at.
    pub at: SimTime,
    /// Sender.
    pub from: usize,
    /// Receiver.
    pub to: usize,
    /// Its kind (`AppendEntries`, ...).
    pub kind: &'static str,
    /// Whether it was lost.
    pub dropped: bool,
    /// Its one-line summary.
    pub summary: String,
}

/// Where and why the run failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// When.
    pub at: SimTime,
    /// The invariant a checker saw violated, if a checker failed the run.
    pub invariant: Option<Invariant>,
    /// The explanation.
    pub why: String,
}

/// Everything a timeline draws.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Model {
    /// The header of the trace: what produced the run.
    pub header: Vec<(String, String)>,
    /// The time of the last event.
    pub end: SimTime,
    /// One lane per server.
    pub lanes: Vec<Lane>,
    /// The network's topologies (named sets of one-way cuts).
    pub topologies: Vec<Span<String>>,
    /// The harness's steps in words.
    pub notes: Vec<(SimTime, String)>,
    /// Messages, oldest first (the last [`Model::MAX_ARROWS`] only).
    pub arrows: Vec<Arrow>,
    /// Messages left out to keep the page small (the earliest ones).
    pub arrows_left_out: u64,
    /// The failure, if the run failed.
    pub failure: Option<Failure>,
    /// The highest commit or applied index of any server.
    pub max_index: u64,
}

impl Model {
    /// The most messages a page carries (the last ones, nearest a failure).
    pub const MAX_ARROWS: usize = 150_000;
    /// The most harness notes a page carries (the last ones).
    pub const MAX_NOTES: usize = 50_000;
}
