//! Fuzz entry points. Each takes arbitrary bytes and panics only on a real bug. The cargo-fuzz
//! targets in `fuzz/` call them; `tests/fuzz_corpus.rs` replays the committed seed corpus and
//! a stream of seeded random inputs through them on the stable toolchain.

use crate::schedule;
use raft_core::{
    wal, Action, Config, Event, LogIndex, Message, NodeId, PersistentState, RaftNode, SharedBytes,
};
use raft_sim::{Edition, Setup};

/// `Message::decode` never panics, and what it accepts survives a round trip. (Not byte for
/// byte: postcard also accepts overlong varints, which re-encode shorter.)
pub fn decode_message(data: &[u8]) {
    if let Ok(message) = Message::decode(data) {
        assert_eq!(Message::decode(&message.encode()), Ok(message));
    }
}

/// `PersistentState::decode` never panics; what it accepts round-trips, restores a node, and
/// (unless it is [`near_the_limits`]) that node can still take part in a working cluster: see
/// [`restored_cluster_commits`].
/// The bytes are tried as they are, and also framed with a valid header and checksum so that
/// the fuzzer reaches the body's decoding and validation.
pub fn decode_state(data: &[u8]) {
    check_state(data);
    check_state(&frame(data));
}

/// `body` framed as an encoded state: magic, version, body, CRC-32 of version and body.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut framed = b"RAFT\x01".to_vec();
    framed.extend_from_slice(body);
    let crc = crc32(&framed[4..]);
    framed.extend_from_slice(&crc.to_le_bytes());
    framed
}

fn check_state(data: &[u8]) {
    let Ok(state) = PersistentState::decode(data) else {
        return;
    };
    assert_eq!(
        PersistentState::decode(&state.encode()).as_ref(),
        Ok(&state)
    );
    if near_the_limits(&state) {
        let peers = vec![NodeId(0), NodeId(1), NodeId(2)];
        let node = RaftNode::new(Config::new(NodeId(0), peers, 1), Some(state));
        assert!(
            node.is_ok(),
            "a decoded state must restore: {:?}",
            node.err()
        );
    } else if let Err(why) = restored_cluster_commits(&state) {
        panic!("an accepted state must leave a working node: {why}\nstate: {state:?}");
    }
}

/// The core's limits (see `raft-core/src/types.rs`): it ignores messages from terms at or past
/// `TERM_CEILING` and starts no election reaching it, and ignores messages with indexes past
/// `MAX_SANE_INDEX`.
const TERM_CEILING: u64 = u64::MAX >> 2;
const MAX_SANE_INDEX: u64 = u64::MAX >> 2;

/// Whether `state` is within 2^20 terms or indexes of the core's limits. Only a hostile peer
/// takes a node there (an honest cluster would need some 2^62 elections or entries), and there
/// a cluster may stop electing leaders or accepting entries rather than misbehave, as the core
/// documents. Such a state must still decode and restore, so that a node never refuses to
/// restart from what it persisted itself; it is only spared the liveness check.
pub fn near_the_limits(state: &PersistentState) -> bool {
    const ROOM: u64 = 1 << 20;
    state.hard_state.term.0 > TERM_CEILING - ROOM || state.last_index().0 > MAX_SANE_INDEX - ROOM
}

/// Restores `state` on one node of a three-node cluster (the others fresh), and then on all
/// three (a whole cluster restarting from identical disks); each time a leader must be elected
/// and commit three new commands at consecutive indexes after the log's end, within
/// [`CLUSTER_ROUNDS`] ticks.
pub fn restored_cluster_commits(state: &PersistentState) -> Result<(), String> {
    for restored_nodes in [1, 3] {
        let mut cluster = MiniCluster::new(state, restored_nodes)?;
        cluster
            .elect_and_commit(3)
            .map_err(|why| format!("{restored_nodes} of 3 nodes restored: {why}"))?;
    }
    Ok(())
}

/// How many ticks [`restored_cluster_commits`] allows: a few dozen election timeouts (30–60
/// ticks each), far more than a cluster on a perfect network needs.
pub const CLUSTER_ROUNDS: u32 = 3_000;

/// A three-node cluster on a perfect FIFO network, each node's durable state kept up to date
/// from its `Persist` actions.
struct MiniCluster {
    nodes: Vec<RaftNode>,
    durable: Vec<PersistentState>,
    queue: std::collections::VecDeque<(NodeId, NodeId, Message)>,
    applied: Vec<Vec<(LogIndex, SharedBytes)>>,
}

impl MiniCluster {
    fn new(state: &PersistentState, restored_nodes: usize) -> Result<MiniCluster, String> {
        let peers: Vec<NodeId> = (0..3).map(NodeId).collect();
        let mut nodes = Vec::new();
        let mut durable = Vec::new();
        for (i, &id) in peers.iter().enumerate() {
            let restored = (i < restored_nodes).then(|| state.clone());
            durable.push(restored.clone().unwrap_or_default());
            // Seeds must differ, or identical nodes time out together and split every vote.
            let config = Config::new(id, peers.clone(), 1000 + i as u64);
            nodes.push(RaftNode::new(config, restored).map_err(|e| e.to_string())?);
        }
        Ok(MiniCluster {
            nodes,
            durable,
            queue: Default::default(),
            applied: vec![Vec::new(); 3],
        })
    }

    fn step(&mut self, i: usize, event: Event) -> Result<Vec<Action>, String> {
        let actions = self.nodes[i].step(event);
        for action in &actions {
            match action {
                Action::Persist(change) => self.durable[i]
                    .apply(change)
                    .map_err(|e| format!("node {i}: {e}"))?,
                Action::Send { to, message } => {
                    self.queue
                        .push_back((NodeId(i as u64), *to, message.clone()))
                }
                Action::Apply { index, entry } => {
                    self.applied[i].push((*index, entry.command.clone()))
                }
                _ => {}
            }
        }
        Ok(actions)
    }

    fn round(&mut self) -> Result<(), String> {
        for i in 0..self.nodes.len() {
            self.step(i, Event::Tick)?;
        }
        while let Some((from, to, message)) = self.queue.pop_front() {
            self.step(to.0 as usize, Event::Receive { from, message })?;
        }
        Ok(())
    }

    /// Waits for a leader, proposes `count` commands to it, and waits until it applied them.
    fn elect_and_commit(&mut self, count: u8) -> Result<(), String> {
        let mut proposed: Vec<(LogIndex, SharedBytes)> = Vec::new();
        for _ in 0..CLUSTER_ROUNDS {
            self.round()?;
            let Some(leader) = self.nodes.iter().position(RaftNode::is_leader) else {
                continue;
            };
            if proposed.is_empty() {
                proposed = self.propose(leader, count)?;
            }
            if proposed.iter().all(|p| self.applied[leader].contains(p)) {
                return Ok(());
            }
        }
        Err(format!(
            "no leader committed {count} proposals in {CLUSTER_ROUNDS} ticks \
             (terms {:?}, leaders {:?}, proposed {proposed:?})",
            self.nodes.iter().map(|n| n.term().0).collect::<Vec<_>>(),
            self.nodes
                .iter()
                .map(RaftNode::is_leader)
                .collect::<Vec<_>>(),
        ))
    }

    /// Proposes `count` commands to `leader`; they must land at consecutive indexes right after
    /// its log's end.
    fn propose(
        &mut self,
        leader: usize,
        count: u8,
    ) -> Result<Vec<(LogIndex, SharedBytes)>, String> {
        let last = self.nodes[leader].last_index();
        let mut proposed = Vec::new();
        for k in 0..count {
            let command = SharedBytes::from(&[b'p', k][..]);
            let event = Event::Propose {
                command: command.clone(),
            };
            let index = self.step(leader, event)?.iter().find_map(|a| match a {
                Action::Proposed { index, .. } => Some(*index),
                _ => None,
            });
            // Checked, not saturating: two proposals at one index is the bug to catch.
            let expected = last.0.checked_add(u64::from(k) + 1).map(LogIndex);
            match index {
                Some(index) if Some(index) == expected => proposed.push((index, command)),
                other => {
                    let why = format!("placed at {other:?}, expected {expected:?}");
                    return Err(format!("proposal {k} to leader {leader}: {why}"));
                }
            }
        }
        Ok(proposed)
    }
}

/// One node fed an arbitrary event sequence (ticks, proposals, snapshots, leadership
/// transfers, reads, and messages decoded from the bytes) never panics, and its internal
/// invariants hold after every step (they are asserted in debug builds).
///
/// The first byte says where the node starts: if it is odd, a length byte and that many bytes
/// of an encoded state's body follow, and the node is restored from them (inputs whose state
/// does not decode end there: `decode_state` covers those); otherwise the node starts fresh.
/// Its bits 4 to 7 turn on PreVote, CheckQuorum, ReadIndex and lease reads.
pub fn step_events(data: &[u8]) {
    let Some((&head, mut rest)) = data.split_first() else {
        return;
    };
    let restored = if head % 2 == 1 {
        let Some((&len, tail)) = rest.split_first() else {
            return;
        };
        let (body, tail) = tail.split_at(usize::from(len).min(tail.len()));
        rest = tail;
        match PersistentState::decode(&frame(body)) {
            Ok(state) => Some(state),
            Err(_) => return,
        }
    } else {
        None
    };
    let peers = vec![NodeId(0), NodeId(1), NodeId(2)];
    let mut config = Config::new(NodeId(0), peers, 7);
    // The first byte's high bits turn the production features on.
    config.pre_vote = head & 0x10 != 0;
    config.lease_reads = head & 0x80 != 0;
    config.check_quorum = head & 0x20 != 0 || config.lease_reads;
    config.read_index = head & 0x40 != 0 || config.lease_reads;
    let mut node = RaftNode::new(config, restored).expect("a decoded state restores");
    while let Some((&kind, tail)) = rest.split_first() {
        rest = tail;
        let event = match kind % 8 {
            0..=2 => Event::Tick,
            // Half the would-be proposals with the top bit set are transfers and reads.
            3 if kind & 0xC0 == 0xC0 => Event::TransferLeader {
                to: NodeId(u64::from(kind >> 3) % 4),
            },
            3 if kind & 0x80 != 0 => Event::ReadIndex {
                id: u64::from(kind),
            },
            3 => Event::Propose {
                command: SharedBytes::from(&[kind][..]),
            },
            4 => Event::Snapshot {
                index: LogIndex(node.last_applied().0.saturating_sub(u64::from(kind % 3))),
                data: SharedBytes::from(&b"snapshot"[..]),
            },
            _ => {
                let Some((&len, tail)) = rest.split_first() else {
                    break;
                };
                let len = usize::from(len).min(tail.len());
                let (bytes, tail) = tail.split_at(len);
                rest = tail;
                let from = NodeId(u64::from(kind >> 3) % 4);
                match Message::decode(bytes) {
                    Ok(message) => Event::Receive { from, message },
                    Err(_) => continue,
                }
            }
        };
        node.step(event);
    }
}

/// `wal::decode` and `wal::replay` never panic, whatever the bytes; decoded records survive a
/// round trip; the good prefix decodes to the same records with nothing left over; and a
/// replayed state restores a node. The bytes are tried as a log, and also sealed as one record
/// with a valid length and checksum, so that the fuzzer reaches the body's decoding.
pub fn decode_wal(data: &[u8]) {
    check_wal(data);
    check_wal(&seal_record(data));
}

/// `body` as one log record of version 1 with a valid length and checksum.
pub fn seal_record(body: &[u8]) -> Vec<u8> {
    let length = (body.len() as u32 + 1).to_le_bytes();
    let mut checked = length.to_vec();
    checked.push(wal::VERSION);
    checked.extend_from_slice(body);
    let mut record = length.to_vec();
    record.extend_from_slice(&crc32(&checked).to_le_bytes());
    record.extend_from_slice(&checked[4..]);
    record
}

fn check_wal(data: &[u8]) {
    let decoded = wal::decode(data);
    let mut encoded = Vec::new();
    for record in &decoded.records {
        encoded.clear();
        wal::encode_record(record, &mut encoded).expect("a decoded record fits");
        assert_eq!(wal::decode(&encoded).records, std::slice::from_ref(record));
    }
    let prefix = wal::decode(&data[..decoded.valid_len]);
    assert_eq!((prefix.records, prefix.stop), (decoded.records, None));
    let Ok(replay) = wal::replay(data) else {
        return;
    };
    assert_eq!(replay.valid_len, decoded.valid_len);
    let peers = vec![NodeId(0), NodeId(1), NodeId(2)];
    let node = RaftNode::new(Config::new(NodeId(0), peers, 1), Some(replay.state));
    assert!(
        node.is_ok(),
        "a replayed log must restore: {:?}",
        node.err()
    );
}

/// A whole simulated run from bytes: the first byte picks the cluster and the seed, the rest
/// is a fault schedule. Safety must hold throughout and the healed cluster must agree.
pub fn simulated_run(data: &[u8]) {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let servers = if head % 2 == 0 { 3 } else { 5 };
    let snapshot = head % 4 >= 2;
    let edition = if head % 8 >= 4 {
        Edition::Y2025
    } else {
        Edition::Y2024
    };
    let ops = schedule::decode(servers, &rest[..rest.len().min(400)]);
    let setup = Setup {
        servers,
        reliable: true,
        snapshot,
    };
    let outcome = schedule::run(setup, edition, u64::from(head), ops.clone());
    if let Err(failure) = outcome.result {
        panic!("{failure}\nschedule: {ops:?}");
    }
}

/// CRC-32 (IEEE), as the state encoding's trailer uses; written out here so the fuzzer does
/// not depend on the core's private helper.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}
