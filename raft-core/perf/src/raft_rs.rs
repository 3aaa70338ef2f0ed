//! tikv's raft-rs 0.7 in the harness, driven through its `RawNode` / `Ready` interface with
//! its `MemStorage` as the durable store.

use crate::harness::{fill_command, Cluster, COMPACT_EVERY};
use raft::eraftpb::{Entry, Message, MessageType};
use raft::raw_node::RawNode;
use raft::storage::MemStorage;
use raft::StateRole;
use std::collections::VecDeque;

pub struct RaftRs {
    /// Node `i` has raft id `i + 1` (raft-rs reserves 0).
    nodes: Vec<RawNode<MemStorage>>,
    applied: Vec<u64>,
    /// The index of the last entry applied, and where the log was last compacted.
    applied_index: Vec<u64>,
    compacted_index: Vec<u64>,
    queue: VecDeque<Message>,
    buf: Vec<u8>,
    messages: u64,
    writes: u64,
}

/// The same timing as raft-core's defaults (a heartbeat every 10 ticks, elections after 30 to
/// 60), messages of up to 1 MiB, and raft-rs's own default in-flight window.
fn config(id: u64) -> raft::Config {
    raft::Config {
        id,
        election_tick: 30,
        heartbeat_tick: 10,
        max_size_per_msg: 1 << 20,
        ..raft::Config::default()
    }
}

impl RaftRs {
    fn send_all(&mut self, messages: Vec<Message>) {
        self.messages += messages.len() as u64;
        self.queue.extend(messages);
    }

    fn apply(&mut self, i: usize, entries: Vec<Entry>) {
        // Empty entries are the ones a new leader appends for itself, not commands.
        self.applied[i] += entries.iter().filter(|e| !e.data.is_empty()).count() as u64;
        if let Some(last) = entries.last() {
            self.applied_index[i] = last.index;
        }
    }

    /// The service has its state; the log before the applied index goes (raft-rs leaves
    /// compaction to the application's storage).
    fn compact_if_due(&mut self, i: usize) {
        let applied = self.applied_index[i];
        if applied - self.compacted_index[i] >= COMPACT_EVERY {
            self.compacted_index[i] = applied;
            let store = self.nodes[i].mut_store();
            store
                .wl()
                .compact(applied)
                .expect("applied entries compact");
        }
    }

    /// Handles node `i`'s `Ready`, in the order raft-rs documents: messages that may leave at
    /// once, the snapshot, committed entries, the durable entries and hard state, messages
    /// that wait for them, then `advance` and what it releases.
    fn handle_ready(&mut self, i: usize) {
        if !self.nodes[i].has_ready() {
            return;
        }
        let mut ready = self.nodes[i].ready();
        self.send_all(ready.take_messages());
        if !ready.snapshot().is_empty() {
            let snapshot = ready.snapshot().clone();
            self.nodes[i]
                .mut_store()
                .wl()
                .apply_snapshot(snapshot)
                .expect("snapshot applies");
        }
        self.apply(i, ready.take_committed_entries());
        if ready.must_sync() {
            self.writes += 1;
        }
        if !ready.entries().is_empty() {
            let store = self.nodes[i].mut_store();
            store.wl().append(ready.entries()).expect("entries append");
        }
        if let Some(hard_state) = ready.hs() {
            self.nodes[i]
                .mut_store()
                .wl()
                .set_hardstate(hard_state.clone());
        }
        self.send_all(ready.take_persisted_messages());
        let mut light = self.nodes[i].advance(ready);
        if let Some(commit) = light.commit_index() {
            self.nodes[i].mut_store().wl().mut_hard_state().commit = commit;
        }
        self.send_all(light.take_messages());
        self.apply(i, light.take_committed_entries());
        self.nodes[i].advance_apply();
        self.compact_if_due(i);
    }

    fn command(&mut self, seq: u64, size: usize) -> Vec<u8> {
        fill_command(&mut self.buf, seq, size);
        self.buf.clone()
    }
}

impl Cluster for RaftRs {
    fn new(nodes: usize) -> RaftRs {
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let voters: Vec<u64> = (1..=nodes as u64).collect();
        let nodes = voters
            .iter()
            .map(|&id| {
                let storage = MemStorage::new_with_conf_state((voters.clone(), vec![]));
                RawNode::new(&config(id), storage, &logger).expect("valid configuration")
            })
            .collect();
        RaftRs {
            applied: vec![0; voters.len()],
            applied_index: vec![0; voters.len()],
            compacted_index: vec![0; voters.len()],
            nodes,
            queue: VecDeque::new(),
            buf: Vec::new(),
            messages: 0,
            writes: 0,
        }
    }

    fn tick_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.nodes[i].tick();
            self.handle_ready(i);
        }
    }

    fn deliver_one(&mut self) -> bool {
        let Some(message) = self.queue.pop_front() else {
            return false;
        };
        let i = message.to as usize - 1;
        // A refused message (raft-rs answers unknown senders with an error) is simply lost.
        let _ = self.nodes[i].step(message);
        self.handle_ready(i);
        true
    }

    fn leader(&self) -> Option<usize> {
        self.nodes
            .iter()
            .position(|n| n.raft.state == StateRole::Leader)
    }

    fn propose(&mut self, leader: usize, first: u64, count: usize, size: usize) {
        if count == 1 {
            let data = self.command(first, size);
            self.nodes[leader]
                .propose(Vec::new(), data)
                .expect("the leader accepts");
        } else {
            // raft-rs's batched proposal: one MsgPropose carrying every entry.
            let entries: Vec<Entry> = (0..count as u64)
                .map(|k| Entry {
                    data: self.command(first + k, size).into(),
                    ..Entry::default()
                })
                .collect();
            let mut message = Message::default();
            message.set_msg_type(MessageType::MsgPropose);
            message.from = leader as u64 + 1;
            message.set_entries(entries.into());
            self.nodes[leader]
                .step(message)
                .expect("the leader accepts");
        }
        self.handle_ready(leader);
    }

    fn min_applied(&self) -> u64 {
        self.applied.iter().copied().min().unwrap_or(0)
    }

    fn messages(&self) -> u64 {
        self.messages
    }

    fn durable_writes(&self) -> u64 {
        self.writes
    }
}
