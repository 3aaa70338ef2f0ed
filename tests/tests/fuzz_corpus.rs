//! The fuzz targets on the stable toolchain: every input of the committed seed corpus
//! (`fuzz/seeds/<target>/`), then a stream of seeded random and mutated inputs.

use raft_core::{
    wal, AppendEntries, Entry, HardState, LogAppend, LogIndex, Message, NodeId, PersistChange,
    PersistentState, RequestVote, SharedBytes, Snapshot, Term,
};
use raft_sim::rng::Stream;
use raft_tests::fuzzing;
use std::path::PathBuf;

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("readable directory").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seed inputs in {}", dir.display());
    files
        .iter()
        .map(|f| std::fs::read(f).expect("readable seed"))
        .collect()
}

/// `n` inputs: random bytes, and the valid `examples` with a few bytes overwritten.
fn inputs(label: &str, n: u64, examples: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut rng = Stream::new(1, label, 0);
    (0..n)
        .map(|k| {
            let mut bytes = if k % 2 == 0 || examples.is_empty() {
                (0..rng.below(64)).map(|_| rng.next_u64() as u8).collect()
            } else {
                examples[(k as usize / 2) % examples.len()].clone()
            };
            for _ in 0..rng.below(4) {
                if !bytes.is_empty() {
                    let at = rng.below(bytes.len() as u64) as usize;
                    bytes[at] = rng.next_u64() as u8;
                }
            }
            bytes
        })
        .collect()
}

fn example_messages() -> Vec<Vec<u8>> {
    let entry = Entry::new(Term(2), SharedBytes::from(&b"cmd"[..]));
    vec![
        Message::RequestVote(RequestVote {
            term: Term(3),
            last_log_index: LogIndex(5),
            last_log_term: Term(2),
        })
        .encode(),
        Message::AppendEntries(AppendEntries {
            term: Term(3),
            prev_log_index: LogIndex(1),
            prev_log_term: Term(1),
            entries: vec![entry.clone(), entry],
            leader_commit: LogIndex(1),
        })
        .encode(),
    ]
}

fn example_state() -> Vec<u8> {
    PersistentState {
        hard_state: HardState {
            term: Term(4),
            voted_for: Some(NodeId(1)),
        },
        snapshot: Snapshot {
            index: LogIndex(3),
            term: Term(2),
            data: SharedBytes::from(&b"s"[..]),
            membership: None,
        },
        entries: vec![Entry::new(Term(3), SharedBytes::from(&b"x"[..]))],
    }
    .encode()
}

#[test]
fn decode_message_corpus() {
    for input in seeds("decode_message")
        .iter()
        .chain(&inputs("msg", 5000, &example_messages()))
    {
        fuzzing::decode_message(input);
    }
}

#[test]
fn decode_state_corpus() {
    for input in seeds("decode_state")
        .iter()
        .chain(&inputs("state", 5000, &[example_state()]))
    {
        fuzzing::decode_state(input);
    }
}

/// A log of three records: a vote, two entries, a snapshot and one more entry.
fn example_wal() -> Vec<u8> {
    let entry = |term, command: &[u8]| Entry::new(Term(term), SharedBytes::from(command));
    let changes = [
        PersistChange {
            hard_state: Some(HardState {
                term: Term(2),
                voted_for: Some(NodeId(1)),
            }),
            append: Some(LogAppend {
                first_index: LogIndex(1),
                entries: vec![entry(1, b"a"), entry(2, b"b")],
            }),
            ..Default::default()
        },
        PersistChange {
            snapshot: Some(Snapshot {
                index: LogIndex(1),
                term: Term(1),
                data: SharedBytes::from(&b"s"[..]),
                membership: None,
            }),
            ..Default::default()
        },
        PersistChange {
            append: Some(LogAppend {
                first_index: LogIndex(3),
                entries: vec![entry(2, b"c")],
            }),
            ..Default::default()
        },
    ];
    let mut bytes = Vec::new();
    for change in &changes {
        wal::encode_record(change, &mut bytes).expect("small");
    }
    bytes
}

#[test]
fn decode_wal_corpus() {
    let log = example_wal();
    let torn = log[..log.len() - 3].to_vec();
    for input in seeds("decode_wal")
        .iter()
        .chain(&inputs("wal", 5000, &[log, torn]))
    {
        fuzzing::decode_wal(input);
    }
}

/// A step_events input: a node restored from `state` (an odd first byte, then the state's
/// body with its length), then `events`.
fn restored_then(state: &PersistentState, events: &[u8]) -> Vec<u8> {
    let encoded = state.encode();
    let body = &encoded[5..encoded.len() - 4];
    let mut input = vec![1, body.len() as u8];
    input.extend_from_slice(body);
    input.extend_from_slice(events);
    input
}

#[test]
fn step_events_corpus() {
    let mut examples = example_messages();
    examples.iter_mut().for_each(|m| {
        m.insert(0, m.len() as u8);
        m.insert(0, 0); // a fresh node
    });
    let state = PersistentState::decode(&example_state()).expect("a valid example");
    let restored: Vec<Vec<u8>> = example_messages()
        .iter()
        .map(|m| {
            let mut events = vec![0, 0, 5, m.len() as u8];
            events.extend_from_slice(m);
            restored_then(&state, &events)
        })
        .collect();
    examples.extend(restored);
    for input in seeds("step_events")
        .iter()
        .chain(&inputs("step", 3000, &examples))
    {
        fuzzing::step_events(input);
    }
}

#[test]
fn simulated_run_corpus() {
    for input in seeds("simulated_run")
        .iter()
        .chain(&inputs("run", 300, &[]))
    {
        fuzzing::simulated_run(input);
    }
}

/// States at the edge of what the liveness check covers (2^20 short of the core's limits) and
/// the default: restored on one node or all three, a leader is elected and commits three new
/// commands at consecutive indexes.
#[test]
fn restored_states_below_the_limits_elect_and_commit() {
    let room = 1 << 20;
    let high_term = (u64::MAX >> 2) - room;
    let high_index = (u64::MAX >> 2) - room - 2;
    let high = PersistentState {
        hard_state: HardState {
            term: Term(high_term),
            voted_for: Some(NodeId(2)),
        },
        snapshot: Snapshot {
            index: LogIndex(high_index),
            term: Term(high_term - 1),
            data: SharedBytes::from(&b"s"[..]),
            membership: None,
        },
        entries: vec![
            Entry::new(Term(high_term - 1), SharedBytes::from(&b"a"[..])),
            Entry::new(Term(high_term), SharedBytes::from(&b"b"[..])),
        ],
    };
    let example = PersistentState::decode(&example_state()).expect("a valid example");
    for state in [PersistentState::default(), example, high] {
        assert!(!fuzzing::near_the_limits(&state), "{state:?}");
        fuzzing::restored_cluster_commits(&state).unwrap_or_else(|why| panic!("{why}"));
    }
}
