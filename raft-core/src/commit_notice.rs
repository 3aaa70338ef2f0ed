//! The commit notice: followers learn of a new commit index at once, not at the next heartbeat.
//!
//! Followers learn the commit index only from the leader's messages (Figure 2, `leaderCommit`).
//! Usually it rides on the next AppendEntries, but once traffic stops that is the next
//! heartbeat, a whole heartbeat interval later. So at the end of every call, a leader sends an
//! empty AppendEntries to each follower in replicate mode that (a) holds entries committed
//! since it was last told, (b) has nothing in flight whose reply could still trigger a later
//! notice, and (c) got no message in this call that already carries the commit index. A
//! follower's apply latency is then one round trip plus the notice.
//!
//! Notices cost at most one message per follower per call, and only after the commit index or
//! the follower's match index moved and its pipeline drained: an idle cluster sends none, a
//! busy one piggybacks (the lab's RPC-count test bounds both).

use crate::message::{AppendEntries, Message};
use crate::node::{RaftNode, Role};
use crate::progress::Mode;

impl RaftNode {
    /// Sends the AppendEntries `request` to follower `k`, noting the commit index it carries.
    pub(crate) fn send_append_request(&mut self, k: usize, request: AppendEntries) {
        let Role::Leader(leader) = &mut self.role else {
            unreachable!("only a leader sends AppendEntries");
        };
        let p = &mut leader.progress[k];
        p.commit_sent = request.leader_commit;
        let to = p.id;
        self.send(to, Message::AppendEntries(request));
    }

    /// Tells each follower that needs it about the commit index (see the module's comment).
    pub(crate) fn send_commit_notices(&mut self) {
        let Role::Leader(leader) = &self.role else {
            return;
        };
        for k in 0..leader.progress.len() {
            if let Some(notice) = self.commit_notice_for(k) {
                self.send_append_request(k, notice);
            }
        }
    }

    /// The notice follower `k` needs, if any: a heartbeat anchored at the follower's known
    /// match, so it is accepted even if entries sent after it are still on the way or lost,
    /// and vouches for commits only through that match (§5.3).
    fn commit_notice_for(&self, k: usize) -> Option<AppendEntries> {
        let Role::Leader(leader) = &self.role else {
            return None;
        };
        let p = &leader.progress[k];
        let teaches = self.commit_index.min(p.match_index);
        // Not while probing or installing a snapshot, nor while entries are in flight: that
        // exchange goes on, and its next message (or a notice after its last reply) will
        // carry the commit index anyway.
        if p.mode != Mode::Replicate || !p.inflight.is_empty() || teaches <= p.commit_sent {
            return None;
        }
        let prev_log_term = self.log.term_at(p.match_index)?; // below our snapshot: no notice
        Some(AppendEntries {
            term: self.hard_state.term,
            prev_log_index: p.match_index,
            prev_log_term,
            entries: Vec::new(),
            leader_commit: self.commit_index,
        })
    }
}
