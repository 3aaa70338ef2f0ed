//! What a leader knows about one follower's log (Figure 2 "volatile state on leaders").

use crate::types::{LogIndex, NodeId};
use std::collections::VecDeque;

/// How the leader is currently talking to a follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Looking for the point where the logs agree: one message at a time.
    Probe,
    /// Logs agree up to `match_index`; entries stream ahead optimistically.
    Replicate,
    /// The follower needs entries we discarded; a snapshot through `index` was sent
    /// `ticks_since_sent` ago.
    Snapshot {
        index: LogIndex,
        ticks_since_sent: u32,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct Progress {
    pub(crate) id: NodeId,
    /// The next entry to send (optimistic in `Replicate` mode).
    pub(crate) next_index: LogIndex,
    /// The highest index known to match the leader's log.
    pub(crate) match_index: LogIndex,
    pub(crate) mode: Mode,
    /// The last index of each message with entries sent and not yet acknowledged, oldest
    /// first. Cleared every heartbeat, because messages can be lost.
    pub(crate) inflight: VecDeque<LogIndex>,
    /// In `Probe` mode: a probe is out and its answer awaited.
    pub(crate) probe_sent: bool,
    /// The commit index carried by the last AppendEntries sent (see `commit_notice`).
    pub(crate) commit_sent: LogIndex,
    /// The follower answered since the last quorum check (see `check_quorum`).
    pub(crate) recent_active: bool,
    /// The highest heartbeat round it answered at our term (see `read_index`).
    pub(crate) round_acked: u64,
    /// Our clock when the newest round it answered left, if remembered (see `lease`).
    pub(crate) acked_sent_at: Option<u64>,
}

impl Progress {
    pub(crate) fn new(id: NodeId, next_index: LogIndex) -> Progress {
        Progress {
            id,
            next_index,
            match_index: LogIndex(0),
            mode: Mode::Probe,
            inflight: VecDeque::new(),
            probe_sent: false,
            commit_sent: LogIndex(0),
            recent_active: false,
            round_acked: 0,
            acked_sent_at: None,
        }
    }

    /// The follower's log matches ours through `index` (a possibly stale, reordered answer:
    /// knowledge only ever grows).
    pub(crate) fn record_match(&mut self, index: LogIndex) {
        self.match_index = self.match_index.max(index);
        self.next_index = self.next_index.max(self.match_index.next());
        // Only messages whose entries this match covers are acknowledged.
        while self.inflight.front().is_some_and(|&last| last <= index) {
            self.inflight.pop_front();
        }
        self.probe_sent = false;
        match self.mode {
            Mode::Snapshot { index, .. } if self.match_index < index => {}
            _ => self.mode = Mode::Replicate,
        }
    }

    /// May another message with entries go out now?
    pub(crate) fn may_send_entries(&self, max_inflight: u32) -> bool {
        match self.mode {
            Mode::Probe => !self.probe_sent,
            Mode::Replicate => self.inflight.len() < max_inflight as usize,
            Mode::Snapshot { .. } => false,
        }
    }
}
