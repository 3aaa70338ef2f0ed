//! Static configuration of one node, and its validation.

use crate::persist::DecodeError;
use crate::types::NodeId;
use std::fmt;

/// Everything a node is told once, at construction.
///
/// Time is counted in ticks; the driver decides how long a tick is. With the defaults and a
/// 10 ms tick (what the simulator uses), a leader sends 10 heartbeats per second to each
/// follower, and a follower waits 300–600 ms without hearing from a leader before it stands for
/// election — comfortably inside the lab's "new leader within 5 s" even when 10 % of messages
/// are lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// This node's id; must be one of `peers` unless `peers` is empty.
    pub id: NodeId,
    /// The bootstrap configuration: every voting member of the cluster as it first starts,
    /// this node included, without duplicates. Used only while the node's log and snapshot
    /// hold no configuration (§6): once a membership change has reached it, the log decides.
    /// Empty for a server that joins a running cluster: it has no configuration, never stands
    /// for election, and takes its configuration from what the leader sends (start it, then
    /// add it with `Event::ChangeMembership` on the leader).
    pub peers: Vec<NodeId>,
    /// Ticks between two heartbeats from a leader to each follower.
    pub heartbeat_ticks: u32,
    /// Lower bound (inclusive) of the randomized election timeout, in ticks (§5.2).
    pub election_ticks_min: u32,
    /// Upper bound (exclusive) of the randomized election timeout, in ticks.
    pub election_ticks_max: u32,
    /// At most this many entries in one AppendEntries message.
    pub max_entries_per_message: usize,
    /// At most about this many command bytes in one AppendEntries message (always at least one
    /// entry, so a single large command still goes through).
    pub max_bytes_per_message: usize,
    /// At most this many AppendEntries messages carrying entries may be unacknowledged to one
    /// follower; beyond that, new entries wait for a reply or the next heartbeat and then travel
    /// together.
    pub max_inflight_messages: u32,
    /// Pipelined persistence (Ongaro's thesis §10.2.1), off by default. When on, a leader
    /// hands its own new entries to the driver as [`Action::PersistAsync`](crate::Action):
    /// they go to followers while its own write is still under way, and the leader counts
    /// itself toward commitment only once the driver reports them durable with
    /// [`Event::Persisted`](crate::Event). Followers still persist before they acknowledge,
    /// and every other durable change stays a plain `Persist`.
    pub pipelined_persistence: bool,
    /// PreVote (Ongaro's thesis §9.6), off by default. A node whose election timer fires
    /// first asks the others whether they *would* vote for it, without raising its term, and
    /// stands for election only if a majority would. A node cut off from the cluster then
    /// never raises its term, so when it comes back it does not depose a healthy leader.
    /// Cost: one more round trip before every election.
    ///
    /// Turn it on if you change membership and a removed server may keep running, or may be
    /// added back with its disk. Removed while it was down or cut off, such a server does not
    /// know it was removed and stands for election in its old configuration at ever higher
    /// terms. Added back, its vote may be needed (in a configuration of two voters, always),
    /// and without PreVote the servers that could win learn its term only from its refusals:
    /// if its clock runs faster than theirs, it is a term ahead of every candidate, and no
    /// one is elected. With PreVote its term stays where it was.
    pub pre_vote: bool,
    /// CheckQuorum (thesis §6.2) with leader stickiness (§4.2.3), off by default. A leader
    /// that has not heard from a majority during the longest election timeout steps down, so
    /// a leader cut off from a majority stops holding followers it can still reach. And a
    /// node that has heard from a leader within the minimum election timeout (or leads, or
    /// has just started) ignores `RequestVote` and `PreVote` for a newer term: it neither
    /// grants them nor adopts their term. Cost: a leader that hears from too few followers
    /// steps down even if it could still commit later; a lone server or a leader behind a
    /// flaky majority loses office more often.
    pub check_quorum: bool,
    /// ReadIndex (thesis §6.4), off by default: `Event::ReadIndex` answered with a read index
    /// confirmed by one round of numbered heartbeats (shared by the reads that arrive
    /// together). A new leader first commits an entry of its own term, so with this on it
    /// appends one with an empty command on taking office: the service must treat an empty
    /// command as a no-op, and the log's numbering is one entry per election further on than
    /// without it. Cost: a heartbeat round trip per batch of reads, and that no-op.
    pub read_index: bool,
    /// Lease reads (thesis §6.4.1), off by default; need `check_quorum` and `read_index`.
    /// While a majority has acknowledged a heartbeat sent less than a lease ago, the leader
    /// answers reads at once, without a round: those followers refuse votes for the minimum
    /// election timeout after hearing from it, so no other leader can exist yet. The lease is
    /// measured in the leader's own ticks and shortened for `clock_drift_percent`; it is
    /// safe only while every clock runs within that bound of the nominal rate. A leader stops
    /// using it for the rest of its term once it sends `TimeoutNow`. Cost: one extra message
    /// per follower per heartbeat interval to keep it fresh, and the clock assumption.
    pub lease_reads: bool,
    /// The most any node's clock (the rate of its ticks) may run fast or slow, in percent
    /// of the nominal rate; lease reads assume it. Default 10.
    pub clock_drift_percent: u32,
    /// Seed of the node's random generator (election timeouts). Nothing else is random.
    /// Give every node of a cluster a different seed (a restarted node a fresh one too): nodes
    /// with equal seeds draw equal timeouts, and if they start together they stand for
    /// election together and split the vote in every term.
    pub seed: u64,
}

impl Config {
    /// A configuration with the default timing for node `id` of the cluster `peers`.
    pub fn new(id: NodeId, peers: Vec<NodeId>, seed: u64) -> Config {
        Config {
            id,
            peers,
            heartbeat_ticks: 10,
            election_ticks_min: 30,
            election_ticks_max: 60,
            max_entries_per_message: 512,
            max_bytes_per_message: 1 << 20,
            max_inflight_messages: 4,
            pipelined_persistence: false,
            pre_vote: false,
            check_quorum: false,
            read_index: false,
            lease_reads: false,
            clock_drift_percent: 10,
            seed,
        }
    }

    /// Checks the configuration; `RaftNode::new` calls this.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.peers.is_empty() && !self.peers.contains(&self.id) {
            return Err(ConfigError::SelfNotInPeers);
        }
        if self.peers.len() > crate::membership::MAX_MEMBERS {
            return Err(ConfigError::TooManyPeers);
        }
        let mut sorted = self.peers.clone();
        sorted.sort();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            return Err(ConfigError::DuplicatePeer);
        }
        if self.heartbeat_ticks == 0 {
            return Err(ConfigError::ZeroHeartbeat);
        }
        // A follower must not time out between two heartbeats of a healthy leader (§5.6).
        if self.election_ticks_min <= self.heartbeat_ticks
            || self.election_ticks_max <= self.election_ticks_min
        {
            return Err(ConfigError::ElectionTimeoutRange);
        }
        if self.max_entries_per_message == 0
            || self.max_bytes_per_message == 0
            || self.max_inflight_messages == 0
        {
            return Err(ConfigError::ZeroLimit);
        }
        if self.lease_reads {
            if !self.check_quorum || !self.read_index {
                return Err(ConfigError::LeaseNeedsCheckQuorumAndReadIndex);
            }
            if self.clock_drift_percent >= 100 || self.lease_ticks() == 0 {
                return Err(ConfigError::LeaseTooShort);
            }
        }
        Ok(())
    }

    /// How many of its own ticks a leader's lease lasts after the heartbeat a majority
    /// acknowledged was sent (thesis §6.4.1).
    ///
    /// A follower refuses votes until `election_ticks_min` of its own ticks have passed since
    /// it heard from the leader; the first of them may come at once, so that is at least
    /// `election_ticks_min - 1` whole ticks of its clock after the heartbeat left. With every
    /// clock within `clock_drift_percent` (d) of the nominal rate, the leader's lease of L
    /// ticks ends before that if L · (1 + d) ≤ (`election_ticks_min` − 1) · (1 − d).
    pub fn lease_ticks(&self) -> u64 {
        let drift = u64::from(self.clock_drift_percent.min(99));
        let whole = u64::from(self.election_ticks_min.saturating_sub(1));
        whole * (100 - drift) / (100 + drift)
    }
}

/// Why a [`Config`] was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// `peers` is not empty and does not list `id`.
    SelfNotInPeers,
    /// A peer is listed twice.
    DuplicatePeer,
    /// `peers` lists more than `MAX_MEMBERS` nodes.
    TooManyPeers,
    /// `heartbeat_ticks` is zero.
    ZeroHeartbeat,
    /// The election timeout range is empty or not longer than a heartbeat interval.
    ElectionTimeoutRange,
    /// A message or in-flight limit is zero.
    ZeroLimit,
    /// The restored state is internally inconsistent (see `PersistentState::validate`).
    Restored(DecodeError),
    /// `lease_reads` is on without `check_quorum` and `read_index`.
    LeaseNeedsCheckQuorumAndReadIndex,
    /// `clock_drift_percent` is 100 or more, or leaves a lease of no tick at all.
    LeaseTooShort,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::SelfNotInPeers => write!(f, "the node's id is not among the peers"),
            ConfigError::DuplicatePeer => write!(f, "a peer is listed twice"),
            ConfigError::TooManyPeers => {
                write!(f, "more than {} peers", crate::membership::MAX_MEMBERS)
            }
            ConfigError::ZeroHeartbeat => write!(f, "heartbeat_ticks must be at least 1"),
            ConfigError::ElectionTimeoutRange => write!(
                f,
                "need heartbeat_ticks < election_ticks_min < election_ticks_max"
            ),
            ConfigError::ZeroLimit => write!(f, "message and in-flight limits must be at least 1"),
            ConfigError::Restored(why) => write!(f, "restored state is unusable: {why}"),
            ConfigError::LeaseNeedsCheckQuorumAndReadIndex => {
                write!(f, "lease_reads needs check_quorum and read_index")
            }
            ConfigError::LeaseTooShort => write!(
                f,
                "clock_drift_percent must be below 100 and leave a lease of at least one tick"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}
