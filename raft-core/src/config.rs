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
    /// This node's id; must be one of `peers`.
    pub id: NodeId,
    /// Every voting member of the cluster, this node included, without duplicates.
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
            seed,
        }
    }

    /// Checks the configuration; `RaftNode::new` calls this.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.peers.contains(&self.id) {
            return Err(ConfigError::SelfNotInPeers);
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
        Ok(())
    }
}

/// Why a [`Config`] was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// `id` is not listed in `peers`.
    SelfNotInPeers,
    /// A peer is listed twice.
    DuplicatePeer,
    /// `heartbeat_ticks` is zero.
    ZeroHeartbeat,
    /// The election timeout range is empty or not longer than a heartbeat interval.
    ElectionTimeoutRange,
    /// A message or in-flight limit is zero.
    ZeroLimit,
    /// The restored state is internally inconsistent (see `PersistentState::validate`).
    Restored(DecodeError),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::SelfNotInPeers => write!(f, "the node's id is not among the peers"),
            ConfigError::DuplicatePeer => write!(f, "a peer is listed twice"),
            ConfigError::ZeroHeartbeat => write!(f, "heartbeat_ticks must be at least 1"),
            ConfigError::ElectionTimeoutRange => write!(
                f,
                "need heartbeat_ticks < election_ticks_min < election_ticks_max"
            ),
            ConfigError::ZeroLimit => write!(f, "message and in-flight limits must be at least 1"),
            ConfigError::Restored(why) => write!(f, "restored state is unusable: {why}"),
        }
    }
}

impl std::error::Error for ConfigError {}
