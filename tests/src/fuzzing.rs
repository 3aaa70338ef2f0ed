//! Fuzz entry points. Each takes arbitrary bytes and panics only on a real bug. The cargo-fuzz
//! targets in `fuzz/` call them; `tests/fuzz_corpus.rs` replays the committed seed corpus and
//! a stream of seeded random inputs through them on the stable toolchain.

use crate::schedule;
use raft_core::{Config, Event, LogIndex, Message, NodeId, PersistentState, RaftNode, SharedBytes};
use raft_sim::{Edition, Setup};

/// `Message::decode` never panics, and what it accepts survives a round trip. (Not byte for
/// byte: postcard also accepts overlong varints, which re-encode shorter.)
pub fn decode_message(data: &[u8]) {
    if let Ok(message) = Message::decode(data) {
        assert_eq!(Message::decode(&message.encode()), Ok(message));
    }
}

/// `PersistentState::decode` never panics; what it accepts round-trips and restores a node.
/// The bytes are tried as they are, and also framed with a valid header and checksum so that
/// the fuzzer reaches the body's decoding and validation.
pub fn decode_state(data: &[u8]) {
    check_state(data);
    let mut framed = b"RAFT\x01".to_vec();
    framed.extend_from_slice(data);
    let crc = crc32(&framed[4..]);
    framed.extend_from_slice(&crc.to_le_bytes());
    check_state(&framed);
}

fn check_state(data: &[u8]) {
    let Ok(state) = PersistentState::decode(data) else {
        return;
    };
    assert_eq!(
        PersistentState::decode(&state.encode()).as_ref(),
        Ok(&state)
    );
    let peers = vec![NodeId(0), NodeId(1), NodeId(2)];
    let node = RaftNode::new(Config::new(NodeId(0), peers, 1), Some(state));
    assert!(
        node.is_ok(),
        "a state that decodes must restore: {:?}",
        node.err()
    );
}

/// One node fed an arbitrary event sequence (ticks, proposals, snapshots, and messages decoded
/// from the bytes) never panics, and its internal invariants hold after every step (they are
/// asserted in debug builds).
pub fn step_events(data: &[u8]) {
    let peers = vec![NodeId(0), NodeId(1), NodeId(2)];
    let mut node = RaftNode::new(Config::new(NodeId(0), peers, 7), None).expect("valid config");
    let mut rest = data;
    while let Some((&kind, tail)) = rest.split_first() {
        rest = tail;
        let event = match kind % 8 {
            0..=2 => Event::Tick,
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
