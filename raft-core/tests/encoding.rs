//! The byte encodings: every `Message` variant and `PersistentState` round-trip, and damaged
//! bytes — truncated, bit-flipped, garbage, or well-sealed but wrong inside — decode to an
//! `Err` (the specific one where the format allows), never a panic.

mod support;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use raft_core::{
    AppendOutcome, DecodeError, HardState, LogIndex, Message, NodeId, PersistentState, SharedBytes,
    Snapshot, Term,
};
use support::*;

const MAGIC: &[u8; 4] = b"RAFT";
/// Version 2 added the snapshot's configuration; version 1 still decodes.
const VERSION: u8 = 2;
const HEADER_LEN: usize = 5;
const CHECKSUM_LEN: usize = 4;
/// The largest term and last index `PersistentState::validate` accepts.
const MAX_TERM: u64 = (u64::MAX >> 2) - 1;
const MAX_INDEX: u64 = u64::MAX >> 1;

/// CRC-32 as the format specifies it (IEEE, reflected, init and final xor all ones); written
/// here independently of the core's, so the tests pin the format rather than the code.
fn crc32_ieee(bytes: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    crc ^ u32::MAX
}

/// Frames `body` as a well-formed file: magic, version, body, checksum of version and body.
fn seal(body: &[u8]) -> Vec<u8> {
    let mut bytes = MAGIC.to_vec();
    bytes.push(VERSION);
    bytes.extend_from_slice(body);
    let crc = crc32_ieee(&bytes[MAGIC.len()..]);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

/// The postcard body inside an encoded state.
fn body_of(bytes: &[u8]) -> &[u8] {
    &bytes[HEADER_LEN..bytes.len() - CHECKSUM_LEN]
}

fn every_message() -> Vec<Message> {
    vec![
        vote_request(3, 10, 2),
        vote_request(u64::MAX, u64::MAX, u64::MAX),
        vote(3, true),
        vote(0, false),
        heartbeat(4, (0, 0), 0),
        append(4, (7, 3), entries_at(8, &[3, 4, 4]), 7),
        append(
            1,
            (0, 0),
            vec![raft_core::Entry::new(
                Term(1),
                SharedBytes::from(vec![0u8; 5000]),
            )],
            0,
        ),
        matched(4, 10),
        too_short(4, 9, 3),
        term_mismatch(4, 9, 2, 5),
        append_reply(4, AppendOutcome::StaleTerm),
        install(5, (100, 4), "snapshot bytes"),
        install(5, (0, 0), ""),
        install_reply(5, 100),
        pre_vote_request(6, 10, 2),
        pre_vote(6, true),
        pre_vote(5, false),
        timeout_now(7),
        transfer_vote_request(8, 12, 7),
        round(9, 3),
        round_reply(9, 0),
        forwarded_read(9, u64::MAX),
        read_response(9, 4, Some(12)),
        read_response(9, 4, None),
    ]
}

fn sample_states() -> Vec<PersistentState> {
    vec![
        PersistentState::default(),
        state(3, Some(2), &[]),
        state(4, None, &[1, 1, 2, 4]),
        state_after_snapshot(9, Some(1), (1000, 7), &[7, 8, 9, 9]),
        // The largest term and index a restored state may hold: long varints.
        PersistentState {
            hard_state: HardState {
                term: Term(MAX_TERM),
                voted_for: Some(NodeId(u64::MAX)),
            },
            snapshot: Snapshot {
                index: LogIndex(MAX_INDEX - 1),
                term: Term(5),
                data: SharedBytes::from(vec![0xAB; 3000]),
                membership: None,
            },
            entries: entries_at(MAX_INDEX, &[6]),
        },
    ]
}

#[test]
fn every_message_variant_round_trips() {
    let messages = every_message();
    let kinds: std::collections::BTreeSet<&str> = messages.iter().map(|m| m.kind()).collect();
    assert_eq!(kinds.len(), 14, "all fourteen variants are covered");
    for message in messages {
        let bytes = message.encode();
        assert_eq!(Message::decode(&bytes), Ok(message.clone()));
        assert_eq!(message.encoded_len(), bytes.len());
        // encode_into appends, keeping what the buffer held.
        let mut buf = b"prefix".to_vec();
        let written = message.encode_into(&mut buf);
        assert_eq!(written, bytes.len());
        assert_eq!(&buf[..6], b"prefix");
        assert_eq!(&buf[6..], &bytes[..]);
    }
}

#[test]
fn message_decode_rejects_every_truncation_and_trailing_bytes() {
    for message in every_message() {
        let bytes = message.encode();
        for len in 0..bytes.len() {
            assert!(
                matches!(
                    Message::decode(&bytes[..len]),
                    Err(DecodeError::Malformed(_))
                ),
                "{} cut to {len} bytes decoded",
                message.kind()
            );
        }
        let mut longer = bytes.clone();
        longer.extend_from_slice(&[0, 0, 7]);
        assert_eq!(Message::decode(&longer), Err(DecodeError::TrailingBytes(3)));
    }
}

#[test]
fn message_decode_rejects_unknown_variants_and_bad_fields() {
    // Variant tags 0..=13 exist (versions 1 and 2); 14 and beyond do not.
    for tag in [14u8, 15, 0x7F] {
        assert!(Message::decode(&[tag, 1, 1, 1]).is_err());
    }
    // An AppendEntriesReply with an unknown outcome tag.
    assert!(Message::decode(&[3, 1, 9]).is_err());
    // A RequestVoteReply whose bool is neither 0 nor 1.
    assert!(Message::decode(&[1, 1, 2]).is_err());
    // A varint longer than any u64.
    assert!(Message::decode(&[
        0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01
    ])
    .is_err());
    // An entry count far beyond the bytes that follow: an error, not a giant allocation.
    assert!(
        Message::decode(&[2, 1, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
            .is_err()
    );
}

/// Wire version 2 only adds tags: the version-1 messages keep their exact bytes (a node with
/// every feature off still talks to one that predates them), and the new ones take tags 6–13.
#[test]
fn version_one_bytes_are_pinned_and_version_two_only_adds_tags() {
    let pinned: [(Message, &[u8]); 4] = [
        (vote_request(3, 10, 2), &[0, 3, 10, 2]),
        (vote(3, true), &[1, 3, 1]),
        (heartbeat(4, (7, 3), 7), &[2, 4, 7, 3, 0, 7]),
        (matched(4, 10), &[3, 4, 0, 10]),
    ];
    for (message, bytes) in pinned {
        assert_eq!(message.encode(), bytes, "{message:?}");
        assert_eq!(message.wire_version(), 1);
    }
    for message in every_message() {
        let tag = message.encode()[0];
        let version = if tag <= 5 { 1 } else { 2 };
        assert_eq!(message.wire_version(), version, "{}", message.kind());
        assert!(tag <= 13, "{}", message.kind());
    }
    assert_eq!(timeout_now(7).encode(), [8, 7]);
    assert_eq!(round(9, 3).encode(), [10, 9, 3]);
}

#[test]
fn persistent_state_round_trips() {
    for state in sample_states() {
        let bytes = state.encode();
        assert_eq!(&bytes[..4], MAGIC);
        assert_eq!(bytes[4], VERSION);
        let decoded = PersistentState::decode(&bytes).expect("decodes");
        assert_eq!(decoded, state);
        assert_eq!(decoded.encode(), bytes, "encoding is canonical");
    }
}

#[test]
fn checksum_is_crc32_of_version_and_body() {
    for state in sample_states() {
        let bytes = state.encode();
        assert_eq!(seal(body_of(&bytes)), bytes);
    }
}

#[test]
fn every_truncation_of_a_state_is_an_error() {
    for state in sample_states() {
        let bytes = state.encode();
        for len in 0..bytes.len() {
            let result = PersistentState::decode(&bytes[..len]);
            let expected_short = len < HEADER_LEN + CHECKSUM_LEN;
            assert!(
                match &result {
                    Err(DecodeError::Truncated) => expected_short,
                    Err(DecodeError::ChecksumMismatch) => !expected_short,
                    _ => false,
                },
                "cut to {len} of {} bytes: {result:?}",
                bytes.len()
            );
        }
    }
}

/// What a single flipped bit at `byte` must decode to: the magic and version are named, and
/// CRC-32 catches every single-bit error in the rest.
#[track_caller]
fn assert_flip_detected(bytes: &[u8], byte: usize, bit: u8) {
    let mut damaged = bytes.to_vec();
    damaged[byte] ^= 1 << bit;
    let result = PersistentState::decode(&damaged);
    let expected = match byte {
        0..=3 => DecodeError::BadMagic,
        4 => DecodeError::UnsupportedVersion(damaged[4]),
        _ => DecodeError::ChecksumMismatch,
    };
    assert_eq!(result, Err(expected), "bit {bit} of byte {byte}");
}

#[test]
fn every_single_bit_flip_of_a_small_state_is_detected() {
    let bytes = state(3, Some(2), &[1, 3]).encode();
    for byte in 0..bytes.len() {
        for bit in 0..8 {
            assert_flip_detected(&bytes, byte, bit);
        }
    }
}

#[test]
fn sampled_bit_flips_of_a_large_state_are_detected() {
    let state = state_after_snapshot(9, Some(1), (1000, 7), &[7; 400]);
    let bytes = state.encode();
    let total_bits = bytes.len() * 8;
    for position in (0..total_bits).step_by(13) {
        assert_flip_detected(&bytes, position / 8, (position % 8) as u8);
    }
}

#[test]
fn wrong_magic_and_version_are_named() {
    let bytes = state(2, None, &[1]).encode();
    let mut wrong_magic = bytes.clone();
    wrong_magic[..4].copy_from_slice(b"TFAR");
    assert_eq!(
        PersistentState::decode(&wrong_magic),
        Err(DecodeError::BadMagic)
    );
    for version in [0u8, 3, 255] {
        let mut other = bytes.clone();
        other[4] = version;
        assert_eq!(
            PersistentState::decode(&other),
            Err(DecodeError::UnsupportedVersion(version))
        );
    }
    // The magic is checked first.
    let mut both = wrong_magic.clone();
    both[4] = 9;
    assert_eq!(PersistentState::decode(&both), Err(DecodeError::BadMagic));
    assert_eq!(PersistentState::decode(b""), Err(DecodeError::Truncated));
    assert_eq!(
        PersistentState::decode(b"RAFT\x01abc"),
        Err(DecodeError::Truncated)
    );
}

#[test]
fn well_sealed_but_bad_bodies_are_named() {
    let good = state(4, None, &[1, 2]).encode();

    let mut trailing = body_of(&good).to_vec();
    trailing.extend_from_slice(&[0, 0]);
    assert_eq!(
        PersistentState::decode(&seal(&trailing)),
        Err(DecodeError::TrailingBytes(2))
    );

    let cut = &body_of(&good)[..body_of(&good).len() - 1];
    assert!(matches!(
        PersistentState::decode(&seal(cut)),
        Err(DecodeError::Malformed(_))
    ));
    assert!(matches!(
        PersistentState::decode(&seal(&[])),
        Err(DecodeError::Malformed(_))
    ));
    // voted_for's Option tag must be 0 or 1.
    assert!(matches!(
        PersistentState::decode(&seal(&[4, 7])),
        Err(DecodeError::Malformed(_))
    ));
    // An entry count far beyond the bytes that follow.
    let huge_count = [
        4, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F,
    ];
    assert!(matches!(
        PersistentState::decode(&seal(&huge_count)),
        Err(DecodeError::Malformed(_))
    ));

    // `encode` does not judge; `decode` refuses states the node could not run from.
    let inconsistent = [
        state(1, None, &[1, 2]),
        state(3, None, &[2, 1]),
        state_after_snapshot(3, None, (4, 3), &[2]),
        state_after_snapshot(1, None, (4, 3), &[]),
    ];
    let mut overflowing = state(1, None, &[1]); // its entry would sit at u64::MAX + 1
    overflowing.snapshot = Snapshot {
        index: LogIndex(u64::MAX),
        term: Term(1),
        data: cmd(""),
        membership: None,
    };
    let inconsistent = inconsistent.into_iter().chain([overflowing]);
    for state in inconsistent {
        assert!(
            matches!(
                PersistentState::decode(&state.encode()),
                Err(DecodeError::Inconsistent(_))
            ),
            "{state:?}"
        );
    }
}

#[test]
fn raft_state_size_counts_the_log_but_not_the_snapshot_data() {
    let small = state_after_snapshot(2, None, (10, 1), &[2]);
    let mut big_snapshot = small.clone();
    big_snapshot.snapshot.data = SharedBytes::from(vec![1u8; 10_000]);
    assert_eq!(small.raft_state_size(), big_snapshot.raft_state_size());
    let longer = state_after_snapshot(2, None, (10, 1), &[2, 2, 2]);
    assert!(longer.raft_state_size() > small.raft_state_size());
    assert!(small.raft_state_size() < small.encode().len());
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

fn proptest_config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        rng_seed: RngSeed::Fixed(0x656e_636f),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Consistent states: terms never decrease and none exceeds the current term.
fn arb_state() -> impl Strategy<Value = PersistentState> {
    (
        0u64..1_000,
        proptest::option::of(0u64..10),
        (0u64..1_000, vec(any::<u8>(), 0..32)),
        vec((0u64..3, vec(any::<u8>(), 0..16)), 0..20),
    )
        .prop_map(|(term_base, voted_for, (snapshot_index, data), steps)| {
            // Index 0 is "no snapshot" (term 0, no data); every real position has a term >= 1.
            let (snapshot_term, data) = match snapshot_index {
                0 => (0, Vec::new()),
                _ => (1 + term_base / 2, data),
            };
            let mut term = snapshot_term.max(1);
            let entries: Vec<raft_core::Entry> = steps
                .into_iter()
                .map(|(step, command)| {
                    term += step;
                    raft_core::Entry::new(Term(term), SharedBytes::from(command))
                })
                .collect();
            PersistentState {
                hard_state: HardState {
                    term: Term(term.max(term_base).max(snapshot_term)),
                    voted_for: voted_for.map(NodeId),
                },
                snapshot: Snapshot {
                    index: LogIndex(snapshot_index),
                    term: Term(snapshot_term),
                    data: SharedBytes::from(data),
                    membership: None,
                },
                entries,
            }
        })
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn any_consistent_state_round_trips(state in arb_state()) {
        prop_assert_eq!(PersistentState::decode(&state.encode()), Ok(state));
    }

    #[test]
    fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..200)) {
        let _ = Message::decode(&bytes);
        let _ = PersistentState::decode(&bytes);
        // Past the checksum too, so the body parser and validation see the garbage.
        let sealed = seal(&bytes);
        if let Ok(state) = PersistentState::decode(&sealed) {
            prop_assert!(state.validate().is_ok());
            prop_assert_eq!(state.encode(), sealed);
        }
    }

    #[test]
    fn mutated_encodings_never_panic(
        state in arb_state(),
        edits in vec((any::<usize>(), any::<u8>()), 1..4),
    ) {
        // Corrupt the body, then re-seal so the damage reaches the parser.
        let mut body = body_of(&state.encode()).to_vec();
        for (at, value) in edits {
            if !body.is_empty() {
                let i = at % body.len();
                body[i] = value;
            }
        }
        if let Ok(decoded) = PersistentState::decode(&seal(&body)) {
            prop_assert!(decoded.validate().is_ok());
        }
        let message = append(1, (0, 0), state.entries.clone(), 0);
        let mut bytes = message.encode();
        let len = bytes.len();
        bytes[len / 2] ^= 0x5A;
        let _ = Message::decode(&bytes);
    }
}
