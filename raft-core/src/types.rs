//! Newtypes for the three numbers Raft juggles, and the log entry.

use crate::membership::Membership;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// Indexes beyond this are refused outright: no real log gets near it, and refusing keeps all
/// index arithmetic far from overflow.
pub(crate) const MAX_SANE_INDEX: u64 = u64::MAX >> 2;

/// Terms at or beyond this are refused, and no node starts an election that would reach it,
/// so every term in circulation stays below it. (Only a hostile peer can bring a cluster near
/// it; such a cluster stops electing leaders rather than misbehaving.)
pub(crate) const TERM_CEILING: u64 = u64::MAX >> 2;

/// The largest last log index a restored state may hold. The core refuses messages with
/// indexes beyond [`MAX_SANE_INDEX`], so a log gets past this one only by 2^62 appends beyond
/// that limit, which never happens; below it, index arithmetic never overflows.
pub(crate) const MAX_RESTORED_INDEX: u64 = u64::MAX >> 1;

/// Bytes shared by reference count: a command or snapshot is stored once and the same buffer is
/// handed to every follower's message, the persister and the applier, without copying.
pub type SharedBytes = Arc<[u8]>;

/// The identity of a server in the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NodeId(pub u64);

/// A Raft term (§5.1): a logical clock that only grows.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Term(pub u64);

/// A position in the replicated log. Index 0 is the empty prefix; the first entry is at 1.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct LogIndex(pub u64);

impl Term {
    /// The term after this one.
    pub fn next(self) -> Term {
        Term(self.0.saturating_add(1))
    }
}

impl LogIndex {
    /// The index after this one.
    pub fn next(self) -> LogIndex {
        LogIndex(self.0.saturating_add(1))
    }

    /// The index before this one (0 stays 0).
    pub fn prev(self) -> LogIndex {
        LogIndex(self.0.saturating_sub(1))
    }

    /// This index moved forward by `n` positions, saturating.
    pub fn plus(self, n: u64) -> LogIndex {
        LogIndex(self.0.saturating_add(n))
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}", self.0)
    }
}

impl fmt::Display for LogIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "i{}", self.0)
    }
}

/// One log entry: the term in which a leader created it and the client's opaque command, or
/// a cluster configuration (§6).
///
/// Build ordinary entries with [`Entry::new`]. A *configuration entry* ([`Entry::config`],
/// appended by the core itself on `Event::ChangeMembership`) has an empty command and a
/// [`Membership`]: it reaches the service through `Action::Apply` like every entry (so
/// indexes stay contiguous), and the service skips it ([`Entry::membership`] is `Some`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The leader's term when the entry was proposed.
    pub term: Term,
    /// The command, opaque to Raft (empty in a configuration entry).
    pub command: SharedBytes,
    /// The configuration a configuration entry carries.
    pub(crate) membership: Option<Arc<Membership>>,
}

impl Entry {
    /// An ordinary entry carrying a client's command.
    pub fn new(term: Term, command: SharedBytes) -> Entry {
        Entry {
            term,
            command,
            membership: None,
        }
    }

    /// A configuration entry: it carries `membership` and an empty command.
    pub fn config(term: Term, membership: Membership) -> Entry {
        Entry {
            term,
            command: SharedBytes::from(&[][..]),
            membership: Some(Arc::new(membership)),
        }
    }

    /// The configuration this entry carries, if it is a configuration entry. A service skips
    /// such entries when it applies the log.
    pub fn membership(&self) -> Option<&Membership> {
        self.membership.as_deref()
    }
}
