//! Memory stays bounded by snapshots: three in-memory nodes on one thread
//! commit 2 M entries in batches of 64 while the service snapshots every 10 000; resident
//! memory and the in-memory log must not grow with the number of entries committed (the bench
//! fails if the log outgrows twice the interval). Durable state is an in-memory
//! `PersistentState` to which every `Persist` is applied; messages go through a FIFO queue.
//!
//! `cargo bench -p raft-core --bench memory`. Speed is measured side by side with raft-rs by
//! `cargo run --release -p raft-perf -- compare`.

use raft_core::{Action, Config, Event, Message, NodeId, PersistentState, RaftNode};
use std::collections::VecDeque;

struct Cluster {
    nodes: Vec<RaftNode>,
    durable: Vec<PersistentState>,
    applied: Vec<u64>,
    queue: VecDeque<(usize, usize, Message)>,
    actions: Vec<Action>,
    /// The service snapshots once this many entries are applied past its last snapshot
    /// (0: never).
    snapshot_every: u64,
}

impl Cluster {
    fn new() -> Cluster {
        let ids: Vec<NodeId> = (0..3).map(NodeId).collect();
        let nodes = ids
            .iter()
            .map(|&id| RaftNode::new(Config::new(id, ids.clone(), id.0 + 1), None).expect("valid"))
            .collect();
        Cluster {
            nodes,
            durable: vec![PersistentState::default(); 3],
            applied: vec![0; 3],
            queue: VecDeque::new(),
            actions: Vec::new(),
            snapshot_every: 0,
        }
    }

    fn step(&mut self, i: usize, event: Event) {
        let mut actions = std::mem::take(&mut self.actions);
        self.nodes[i].step_into(event, &mut actions);
        for action in actions.drain(..) {
            match action {
                Action::Persist(change) => self.durable[i].apply(&change).expect("in order"),
                Action::Send { to, message } => self.queue.push_back((i, to.0 as usize, message)),
                Action::Apply { .. } => self.applied[i] += 1,
                _ => {}
            }
        }
        self.actions = actions;
        let node = &self.nodes[i];
        if self.snapshot_every > 0
            && node.last_applied().0 - node.snapshot_index().0 >= self.snapshot_every
        {
            let index = node.last_applied();
            let data = raft_core::SharedBytes::from(&index.0.to_le_bytes()[..]);
            self.step(i, Event::Snapshot { index, data });
        }
    }

    fn deliver_all(&mut self) {
        while let Some((from, to, message)) = self.queue.pop_front() {
            self.step(
                to,
                Event::Receive {
                    from: NodeId(from as u64),
                    message,
                },
            );
        }
    }

    fn elect(&mut self) -> usize {
        loop {
            for i in 0..3 {
                self.step(i, Event::Tick);
            }
            self.deliver_all();
            if let Some(leader) = (0..3).find(|&i| self.nodes[i].is_leader()) {
                return leader;
            }
        }
    }
}

fn main() {
    memory_stays_bounded();
}

/// Commits 2 M entries in batches of 64 while the service snapshots every 10 000: resident
/// memory and the in-memory log must not grow with the number of entries committed.
fn memory_stays_bounded() {
    const SNAPSHOT_EVERY: u64 = 10_000;
    const QUARTER: u64 = 500_000;
    let mut cluster = Cluster::new();
    cluster.snapshot_every = SNAPSHOT_EVERY;
    let leader = cluster.elect();
    let mut proposed = 0u64;
    let mut longest_log = 0;
    let mut rss = Vec::new();
    while proposed < 4 * QUARTER {
        let commands = (proposed..proposed + 64)
            .map(|k| raft_core::SharedBytes::from(&k.to_le_bytes().repeat(2)[..]))
            .collect();
        cluster.step(leader, Event::ProposeBatch { commands });
        proposed += 64;
        cluster.deliver_all();
        longest_log = longest_log.max(cluster.nodes.iter().map(|n| n.log_len()).max().unwrap_or(0));
        if proposed >= QUARTER * (rss.len() as u64 + 1) {
            rss.push(resident_kib());
        }
    }
    let durable = cluster
        .durable
        .iter()
        .map(|d| d.entries.len())
        .max()
        .unwrap_or(0);
    println!(
        "memory: 2M entries, snapshot every {SNAPSHOT_EVERY}: resident KiB after each 500k: {rss:?}; \
         longest in-memory log {longest_log} entries, durable log {durable} entries"
    );
    assert!(
        longest_log as u64 <= 2 * SNAPSHOT_EVERY,
        "the log outgrew the snapshot interval"
    );
    assert!(
        durable as u64 <= 2 * SNAPSHOT_EVERY,
        "the durable log outgrew the snapshot interval"
    );
}

/// This process's resident set size (Linux), 0 where unknown.
fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
