//! Restored state: every state a node could not run from is a typed `DecodeError`, from
//! `PersistentState::decode` and `validate` alike, and `RaftNode::new` refuses it too.

mod support;

use raft_core::{
    ConfigError, DecodeError, HardState, Inconsistency, LogIndex, NodeId, PersistentState,
    RaftNode, SharedBytes, Snapshot, Term,
};
use support::*;

/// The largest last index a restored state may hold.
const MAX_INDEX: u64 = u64::MAX >> 1;
/// The smallest current term a restored state may not hold (the core never reaches it).
const TERM_CEILING: u64 = u64::MAX >> 2;

fn with_snapshot(term: u64, (index, snapshot_term): (u64, u64), data: &str) -> PersistentState {
    PersistentState {
        hard_state: HardState {
            term: Term(term),
            voted_for: None,
        },
        snapshot: Snapshot {
            index: LogIndex(index),
            term: Term(snapshot_term),
            data: SharedBytes::from(data.as_bytes()),
            membership: None,
        },
        entries: Vec::new(),
    }
}

/// Decoding, validating and restoring all give the same typed error.
fn assert_refused(state: &PersistentState, why: Inconsistency) {
    let expected = DecodeError::Inconsistent(why);
    assert_eq!(state.validate(), Err(expected.clone()), "{state:?}");
    assert_eq!(
        PersistentState::decode(&state.encode()),
        Err(expected.clone()),
        "{state:?}"
    );
    assert_eq!(
        RaftNode::new(config(1, 3), Some(state.clone())).err(),
        Some(ConfigError::Restored(expected)),
        "{state:?}"
    );
}

/// The first state: "no snapshot" with term 5. Restored, it led term 6 while every
/// follower rejected `prev = 0` forever; nothing was ever committed.
#[test]
fn no_snapshot_with_a_term_or_data_is_refused() {
    assert_refused(
        &with_snapshot(5, (0, 5), ""),
        Inconsistency::EmptySnapshotNotEmpty {
            term: Term(5),
            data_len: 0,
        },
    );
    assert_refused(
        &with_snapshot(5, (0, 0), "data"),
        Inconsistency::EmptySnapshotNotEmpty {
            term: Term(0),
            data_len: 4,
        },
    );
}

/// The second state: indexes near `u64::MAX`, where index arithmetic saturated and
/// three proposals got the same index.
#[test]
fn indexes_beyond_the_limit_are_refused() {
    for index in [u64::MAX, u64::MAX - 2, MAX_INDEX + 1] {
        assert_refused(
            &with_snapshot(5, (index, 5), "s"),
            Inconsistency::IndexTooLarge(LogIndex(index)),
        );
    }
    // The snapshot is in range but the log runs past the limit (or past u64::MAX).
    for index in [MAX_INDEX, u64::MAX] {
        let mut state = with_snapshot(5, (index, 5), "s");
        state.entries = entries_at(1, &[5]);
        assert_refused(&state, Inconsistency::IndexTooLarge(LogIndex(index)));
    }
}

#[test]
fn terms_beyond_the_limit_are_refused() {
    for term in [u64::MAX, TERM_CEILING] {
        assert_refused(
            &state(term, None, &[]),
            Inconsistency::TermTooLarge(Term(term)),
        );
    }
}

#[test]
fn every_other_inconsistency_is_named() {
    let cases = [
        (
            state(3, None, &[2, 1]),
            Inconsistency::TermDecreases {
                index: LogIndex(2),
                term: Term(1),
                previous: Term(2),
            },
        ),
        (
            state_after_snapshot(3, None, (4, 3), &[2]),
            Inconsistency::TermDecreases {
                index: LogIndex(5),
                term: Term(2),
                previous: Term(3),
            },
        ),
        (
            state(1, None, &[1, 2]),
            Inconsistency::TermAfterCurrent {
                index: LogIndex(2),
                term: Term(2),
                current: Term(1),
            },
        ),
        (
            state_after_snapshot(1, None, (4, 3), &[]),
            Inconsistency::TermAfterCurrent {
                index: LogIndex(4),
                term: Term(3),
                current: Term(1),
            },
        ),
    ];
    for (state, why) in cases {
        assert_refused(&state, why);
    }
}

/// The limits themselves are accepted: a restored node may sit right at them.
#[test]
fn states_at_the_limits_are_accepted() {
    let mut at_limits = with_snapshot(TERM_CEILING - 1, (MAX_INDEX - 2, 7), "s");
    at_limits.hard_state.voted_for = Some(NodeId(2));
    at_limits.entries = entries_at(MAX_INDEX - 1, &[7, TERM_CEILING - 1]);
    for state in [PersistentState::default(), at_limits] {
        assert_eq!(PersistentState::decode(&state.encode()), Ok(state.clone()));
        assert!(RaftNode::new(config(1, 3), Some(state)).is_ok());
    }
}

#[test]
fn errors_say_what_is_wrong() {
    let error = PersistentState::decode(&with_snapshot(5, (0, 5), "").encode()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "inconsistent state: no snapshot (index 0) but term t5 and 0 bytes of data"
    );
    let error = RaftNode::new(config(1, 3), Some(state(3, None, &[2, 1]))).unwrap_err();
    assert_eq!(
        error.to_string(),
        "restored state is unusable: inconsistent state: entry i2 has term t1 after term t2"
    );
}
