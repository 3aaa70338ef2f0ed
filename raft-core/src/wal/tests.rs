use super::*;
use crate::types::{NodeId, SharedBytes, Term};

fn entry(term: u64, command: &str) -> Entry {
    Entry::new(Term(term), SharedBytes::from(command.as_bytes()))
}

fn append(first: u64, entries: Vec<Entry>) -> Option<LogAppend> {
    Some(LogAppend {
        first_index: LogIndex(first),
        entries,
    })
}

/// A history of changes a node could hand out, one of each kind and some together.
fn changes() -> Vec<PersistChange> {
    vec![
        PersistChange {
            hard_state: Some(HardState {
                term: Term(1),
                voted_for: Some(NodeId(1)),
            }),
            ..Default::default()
        },
        PersistChange {
            append: append(1, vec![entry(1, "a"), entry(1, "bb")]),
            ..Default::default()
        },
        PersistChange {
            hard_state: Some(HardState {
                term: Term(2),
                voted_for: None,
            }),
            truncate_after: Some(LogIndex(1)),
            append: append(2, vec![entry(2, "c")]),
            ..Default::default()
        },
        PersistChange {
            snapshot: Some(Snapshot {
                index: LogIndex(2),
                term: Term(2),
                data: SharedBytes::from(&b"service state"[..]),
                membership: None,
            }),
            ..Default::default()
        },
        PersistChange {
            append: append(3, vec![entry(2, ""), entry(2, "dddd")]),
            ..Default::default()
        },
        // Version 2: a configuration entry, then a snapshot that records it.
        PersistChange {
            append: append(5, vec![Entry::config(Term(2), membership())]),
            ..Default::default()
        },
        PersistChange {
            snapshot: Some(Snapshot {
                index: LogIndex(5),
                term: Term(2),
                data: SharedBytes::from(&b"state at 5"[..]),
                membership: Some(std::sync::Arc::new(membership())),
            }),
            ..Default::default()
        },
    ]
}

fn membership() -> crate::Membership {
    crate::Membership::new(vec![NodeId(1), NodeId(2)], vec![NodeId(3)])
}

#[test]
fn only_records_with_configurations_are_version_2() {
    let (bytes, starts) = log();
    let versions: Vec<u8> = starts[..starts.len() - 1]
        .iter()
        .map(|&at| bytes[at + HEADER_LEN])
        .collect();
    assert_eq!(versions, [1, 1, 1, 1, 1, 2, 2]);
    let state = replay(&bytes).unwrap().state;
    assert_eq!(state.snapshot.membership.as_deref(), Some(&membership()));
    // A version-1 record cannot carry a configuration: a marked entry in one is refused
    // only by the state's checks, but a version-2 body in a version-1 record is malformed.
    let mut payload = vec![1];
    payload.extend_from_slice(&bytes[starts[6] + HEADER_LEN + 1..starts[7]]);
    let stop = decode(&seal(&payload)).stop;
    assert!(matches!(stop, Some(StopKind::Malformed(_))), "{stop:?}");
}

/// The encoded log of `changes()`, and where each record starts (plus the end).
fn log() -> (Vec<u8>, Vec<usize>) {
    let mut bytes = Vec::new();
    let mut starts = vec![0];
    for change in changes() {
        encode_record(&change, &mut bytes).unwrap();
        starts.push(bytes.len());
    }
    (bytes, starts)
}

/// A record with a valid length and checksum around an arbitrary payload.
fn seal(payload: &[u8]) -> Vec<u8> {
    let length = (payload.len() as u32).to_le_bytes();
    let mut record = length.to_vec();
    record.extend_from_slice(&record_crc(&length, payload).to_le_bytes());
    record.extend_from_slice(payload);
    record
}

#[test]
fn records_round_trip() {
    let (bytes, _) = log();
    let decoded = decode(&bytes);
    assert_eq!(decoded.records, changes());
    assert_eq!(decoded.valid_len, bytes.len());
    assert_eq!(decoded.stop, None);
    assert_eq!(decode(&[]), Decoded::default());
}

#[test]
fn the_encoding_is_pinned() {
    let change = PersistChange {
        hard_state: Some(HardState {
            term: Term(2),
            voted_for: Some(NodeId(1)),
        }),
        append: append(1, vec![entry(2, "x")]),
        ..Default::default()
    };
    let mut bytes = vec![0xAA]; // appends after what is there
    let len = encode_record(&change, &mut bytes).unwrap();
    // length 12 | crc | version 1 | Some(term 2, Some(1)) | None | None | Some(1, [(2, "x")])
    let payload = [1, 1, 2, 1, 1, 0, 0, 1, 1, 1, 2, 1, b'x'];
    let mut expected = vec![0xAA, 13, 0, 0, 0];
    let crc = crc32_update(crc32_update(!0, &[13, 0, 0, 0]), &payload);
    expected.extend_from_slice(&(!crc).to_le_bytes());
    expected.extend_from_slice(&payload);
    assert_eq!(bytes, expected);
    assert_eq!(len, expected.len() - 1);
    // The checksum written out, as zlib's crc32 computes it over the length bytes and the
    // payload: the format is CRC-32 (IEEE), not whatever our code happens to compute.
    assert_eq!(&bytes[5..9], &0x3776_80A8u32.to_le_bytes());
}

#[test]
fn every_truncation_keeps_the_whole_records_before_it() {
    let (bytes, starts) = log();
    let all = changes();
    for cut in 0..=bytes.len() {
        let decoded = decode(&bytes[..cut]);
        let whole = starts.iter().rposition(|&s| s <= cut).unwrap();
        assert_eq!(decoded.records, all[..whole], "cut at {cut}");
        assert_eq!(decoded.valid_len, starts[whole], "cut at {cut}");
        let at_boundary = starts[whole] == cut;
        assert_eq!(decoded.stop.is_none(), at_boundary, "cut at {cut}");
        if let Some(stop) = decoded.stop {
            assert!(matches!(stop, StopKind::Incomplete { .. }), "cut at {cut}");
        }
        let replayed = replay(&bytes[..cut]).unwrap();
        assert_eq!(replayed.valid_len, starts[whole]);
        assert_eq!(replayed.records, whole);
        let mut expected = PersistentState::default();
        all[..whole].iter().for_each(|c| expected.apply(c).unwrap());
        assert_eq!(replayed.state, expected, "cut at {cut}");
    }
}

#[test]
fn every_bit_flip_stops_at_the_damaged_record() {
    let (bytes, starts) = log();
    let all = changes();
    for bit in 0..bytes.len() * 8 {
        let mut damaged = bytes.clone();
        damaged[bit / 8] ^= 1 << (bit % 8);
        let record = starts.iter().rposition(|&s| s <= bit / 8).unwrap();
        let decoded = decode(&damaged);
        assert_eq!(decoded.records, all[..record], "bit {bit}");
        assert_eq!(decoded.valid_len, starts[record], "bit {bit}");
        let stop = decoded.stop.expect("a damaged record stops the decoding");
        assert!(stop.is_torn_write(), "bit {bit}: {stop}");
        assert_eq!(replay(&damaged).unwrap().valid_len, starts[record]);
    }
}

#[test]
fn zeros_and_garbage_are_a_torn_tail() {
    let (mut bytes, _) = log();
    let good = bytes.len();
    bytes.extend_from_slice(&[0; 64]); // a file extended by a write whose data never landed
    let replayed = replay(&bytes).unwrap();
    assert_eq!(replayed.valid_len, good);
    assert_eq!(replayed.torn, Some(StopKind::ChecksumMismatch));
    bytes.truncate(good);
    bytes.extend_from_slice(&[0xFF; 6]);
    let replayed = replay(&bytes).unwrap();
    assert_eq!(replayed.valid_len, good);
    assert_eq!(
        replayed.torn,
        Some(StopKind::Incomplete {
            needed: HEADER_LEN,
            available: 6
        })
    );
}

#[test]
fn whole_records_that_cannot_be_used_are_refused() {
    let (bytes, _) = log();
    let at = bytes.len();
    let cases = [
        (seal(&[3, 0, 0, 0, 0]), "unknown version 3"),
        (seal(&[VERSION, 7]), "malformed record"),
        (seal(&[VERSION, 0, 0, 0, 0, 9]), "1 trailing bytes"),
    ];
    for (record, message) in cases {
        let mut log = bytes.clone();
        log.extend_from_slice(&record);
        let error = replay(&log).unwrap_err();
        assert!(
            matches!(error, ReplayError::Unreadable { offset, .. } if offset == at),
            "{error}"
        );
        assert!(error.to_string().contains(message), "{error}");
        assert!(!decode(&log).stop.unwrap().is_torn_write());
    }
}

#[test]
fn a_record_that_does_not_fit_is_refused() {
    let (mut bytes, _) = log();
    let at = bytes.len();
    let gap = PersistChange {
        append: append(9, vec![entry(2, "e")]),
        ..Default::default()
    };
    encode_record(&gap, &mut bytes).unwrap();
    let error = replay(&bytes).unwrap_err();
    assert!(
        matches!(error, ReplayError::DoesNotFit { offset, .. } if offset == at),
        "{error}"
    );
}

#[test]
fn a_log_that_builds_an_inconsistent_state_is_refused() {
    let mut bytes = Vec::new();
    let future = PersistChange {
        append: append(1, vec![entry(5, "from a term not yet seen")]),
        ..Default::default()
    };
    encode_record(&future, &mut bytes).unwrap();
    let error = replay(&bytes).unwrap_err();
    assert!(matches!(error, ReplayError::Inconsistent(_)), "{error}");
}

#[test]
fn a_whole_state_is_one_record() {
    let mut full = PersistentState::default();
    for change in changes() {
        full.apply(&change).unwrap();
    }
    let no_snapshot = PersistentState {
        hard_state: full.hard_state,
        snapshot: Snapshot::default(),
        entries: vec![entry(1, "a"), entry(2, "b")],
    };
    let only_snapshot = PersistentState {
        entries: Vec::new(),
        ..full.clone()
    };
    for state in [PersistentState::default(), full, no_snapshot, only_snapshot] {
        let mut bytes = Vec::new();
        encode_record(&PersistChange::from_state(state.clone()), &mut bytes).unwrap();
        let replayed = replay(&bytes).unwrap();
        assert_eq!(replayed.state, state);
        assert_eq!((replayed.records, replayed.torn), (1, None));
    }
}
