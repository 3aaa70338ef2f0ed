//! Lease reads (Ongaro's thesis §6.4.1), enabled by `Config::lease_reads` (which needs
//! `check_quorum` and `read_index`).
//!
//! With CheckQuorum's stickiness, a follower that accepted a heartbeat refuses every vote
//! (bar a `TransferVote`) until the minimum election timeout has passed on its own clock since
//! it received it. So once a majority has answered a numbered heartbeat that the leader sent at
//! its tick `s`, no other leader can be elected before those followers' stickiness ends, which
//! is no earlier than `s` plus `Config::lease_ticks()` of the leader's ticks, as long as every
//! clock runs within `clock_drift_percent` of the nominal rate. Until then the leader answers
//! reads at its commit index without a round (ReadIndex's step 2, see `read_index`).
//!
//! To keep the lease fresh, a leader with lease reads sends a numbered heartbeat round at every
//! heartbeat. The lease counts only rounds of the current term (each term's leader state starts
//! empty), never outlives its holder's leadership, and is given up for the rest of the term
//! once `TimeoutNow` has left (`transfer`).
//!
//! Trade-off: the answer rests on a timing assumption; a clock running faster or slower than
//! the bound can return a stale read. The bound only shortens the lease, so a generous bound
//! costs nothing but more reads falling back to a round.

use crate::node::{RaftNode, Role};
use crate::types::NodeId;

impl RaftNode {
    /// Whether this leader's lease holds now (its commit index is not checked here).
    pub(crate) fn lease_valid(&self) -> bool {
        let Role::Leader(leader) = &self.role else {
            return false;
        };
        if !self.config.lease_reads || !leader.lease_allowed {
            return false;
        }
        // When the heartbeat each voter last answered left; ourselves, now. The lease starts
        // at the latest time a majority (of each side while joint) has acknowledged.
        let me = self.config.id;
        let sent_at = |id: NodeId| match id == me {
            true => Some(self.clock),
            false => leader.progress_of(id).and_then(|p| p.acked_sent_at),
        };
        let start = self.membership.quorum_value(sent_at);
        start.is_some_and(|start| self.clock < start.saturating_add(self.config.lease_ticks()))
    }
}
