//! Batched proposals: many commands in one event.
//!
//! One `Propose` per command costs one log append, one durable write and (flow control
//! permitting) one message per follower for every command. `ProposeBatch` appends all its
//! commands at once, so they cost one durable write and travel together (up to the message
//! limits of `Config`), with the same answer-in-the-same-call rule as `Propose`.

use crate::io::Action;
use crate::node::RaftNode;
use crate::types::SharedBytes;

impl RaftNode {
    /// Appends `commands` at consecutive indexes and answers with where the first one sits.
    pub(crate) fn propose_batch(&mut self, commands: Vec<SharedBytes>) {
        if let Some((first_index, term)) = self.append_proposals(commands.into_iter()) {
            self.out.push(Action::ProposedBatch { first_index, term });
        }
    }
}
