//! raft-core in the harness.

use crate::harness::{fill_command, Cluster, COMPACT_EVERY};
use raft_core::{Action, Config, Event, Message, NodeId, PersistentState, RaftNode, SharedBytes};
use std::collections::VecDeque;

pub struct Ours {
    nodes: Vec<RaftNode>,
    /// Each node's durable store: every `Persist` is applied to it before going on.
    durable: Vec<PersistentState>,
    applied: Vec<u64>,
    compacted: Vec<u64>,
    queue: VecDeque<(usize, usize, Message)>,
    /// Reused by every step.
    actions: Vec<Action>,
    buf: Vec<u8>,
    messages: u64,
    writes: u64,
}

impl Ours {
    fn step(&mut self, i: usize, event: Event) {
        let mut actions = std::mem::take(&mut self.actions);
        self.nodes[i].step_into(event, &mut actions);
        self.carry_out(i, actions);
    }

    /// Feeds `events` to node `i` as one group (`step_many`) and carries out the actions.
    fn step_group(&mut self, i: usize, events: impl IntoIterator<Item = Event>) {
        let mut actions = std::mem::take(&mut self.actions);
        self.nodes[i].step_many_into(events, &mut actions);
        self.carry_out(i, actions);
    }

    fn carry_out(&mut self, i: usize, mut actions: Vec<Action>) {
        for action in actions.drain(..) {
            match action {
                Action::Persist(change) => {
                    self.durable[i].apply_owned(change).expect("changes fit");
                    self.writes += 1;
                }
                Action::Send { to, message } => {
                    self.messages += 1;
                    self.queue.push_back((i, to.0 as usize, message));
                }
                Action::Apply { .. } => self.applied[i] += 1,
                Action::PersistAsync { .. } => unreachable!("pipelined persistence is off"),
                Action::ApplySnapshot { .. }
                | Action::Proposed { .. }
                | Action::ProposedBatch { .. }
                | Action::NotLeader { .. }
                | Action::Refused { .. }
                | Action::ReadReady { .. }
                | Action::ReadFailed { .. }
                | Action::MembershipProposed { .. }
                | Action::MembershipChanged { .. } => {}
            }
        }
        self.actions = actions;
        if self.applied[i] - self.compacted[i] >= COMPACT_EVERY {
            self.compact(i);
        }
    }

    /// The service snapshots its state (here: how many commands it applied) and the node
    /// discards its log through there; the snapshot's write is housekeeping, not counted.
    fn compact(&mut self, i: usize) {
        self.compacted[i] = self.applied[i];
        let index = self.nodes[i].last_applied();
        let data = SharedBytes::from(&self.applied[i].to_le_bytes()[..]);
        let mut actions = std::mem::take(&mut self.actions);
        self.nodes[i].step_into(Event::Snapshot { index, data }, &mut actions);
        for action in actions.drain(..) {
            match action {
                Action::Persist(change) => {
                    self.durable[i].apply_owned(change).expect("changes fit")
                }
                other => unreachable!("a snapshot only persists: {other:?}"),
            }
        }
        self.actions = actions;
    }

    fn command(&mut self, seq: u64, size: usize) -> SharedBytes {
        fill_command(&mut self.buf, seq, size);
        SharedBytes::from(&self.buf[..])
    }
}

impl Cluster for Ours {
    fn new(nodes: usize) -> Ours {
        let ids: Vec<NodeId> = (0..nodes as u64).map(NodeId).collect();
        Ours {
            nodes: ids
                .iter()
                .map(|&id| RaftNode::new(Config::new(id, ids.clone(), id.0 + 1), None))
                .collect::<Result<_, _>>()
                .expect("valid configuration"),
            durable: vec![PersistentState::default(); nodes],
            applied: vec![0; nodes],
            compacted: vec![0; nodes],
            queue: VecDeque::new(),
            actions: Vec::new(),
            buf: Vec::new(),
            messages: 0,
            writes: 0,
        }
    }

    fn tick_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.step(i, Event::Tick);
        }
    }

    fn deliver_one(&mut self) -> bool {
        let Some((from, to, message)) = self.queue.pop_front() else {
            return false;
        };
        let from = NodeId(from as u64);
        self.step(to, Event::Receive { from, message });
        true
    }

    fn leader(&self) -> Option<usize> {
        self.nodes.iter().position(RaftNode::is_leader)
    }

    fn propose(&mut self, leader: usize, first: u64, count: usize, size: usize) {
        let event = if count == 1 {
            Event::Propose {
                command: self.command(first, size),
            }
        } else {
            let commands = (0..count as u64)
                .map(|k| self.command(first + k, size))
                .collect();
            Event::ProposeBatch { commands }
        };
        self.step(leader, event);
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

/// raft-core fed a batch as separate `Propose` events in one `step_many` call (group commit),
/// for drivers whose proposals arrive one by one.
pub struct Grouped(Ours);

impl Cluster for Grouped {
    fn new(nodes: usize) -> Grouped {
        Grouped(Ours::new(nodes))
    }

    fn tick_all(&mut self) {
        self.0.tick_all();
    }

    fn deliver_one(&mut self) -> bool {
        self.0.deliver_one()
    }

    fn leader(&self) -> Option<usize> {
        self.0.leader()
    }

    fn propose(&mut self, leader: usize, first: u64, count: usize, size: usize) {
        let events: Vec<Event> = (0..count as u64)
            .map(|k| Event::Propose {
                command: self.0.command(first + k, size),
            })
            .collect();
        self.0.step_group(leader, events);
    }

    fn min_applied(&self) -> u64 {
        self.0.min_applied()
    }

    fn messages(&self) -> u64 {
        self.0.messages()
    }

    fn durable_writes(&self) -> u64 {
        self.0.durable_writes()
    }
}
