//! The core never panics on anything a peer can send (README, "Hostile input never panics"),
//! and a small cluster stays safe whatever the network does. The core checks its own invariants at the end
//! of every step in debug builds, so "no panic" here also means "invariants held"; the test
//! harness adds the persistence checks of `support::persist_and_check`.
//!
//! The property tests use a fixed proptest seed so that `cargo test` is reproducible; set
//! `RAFT_CORE_PROPTEST_SEED=<u64>` (and `PROPTEST_CASES`) to explore other inputs.

mod support;

use proptest::collection::vec;
use proptest::prelude::*;
use raft_core::{
    AppendOutcome, Config, ConflictHint, Entry, Event, LogIndex, Membership, Message, NodeId,
    PersistentState, RaftNode, SharedBytes, Term,
};
use support::*;

// ---------------------------------------------------------------------------------------------
// Hostile input, one node
// ---------------------------------------------------------------------------------------------

/// Mostly small terms and indexes (so that messages often almost make sense), sometimes
/// the extremes.
fn number() -> impl Strategy<Value = u64> {
    prop_oneof![
        12 => 0u64..8,
        1 => 8u64..600,
        1 => Just(u64::MAX),
        1 => Just(u64::MAX >> 2),
        1 => Just((u64::MAX >> 2) + 1),
        1 => any::<u64>(),
    ]
}

fn arb_entry() -> impl Strategy<Value = Entry> {
    prop_oneof![
        8 => (0u64..7, vec(any::<u8>(), 0..6))
            .prop_map(|(term, command)| Entry::new(Term(term), SharedBytes::from(command))),
        1 => (0u64..7, arb_membership())
            .prop_map(|(term, membership)| Entry::config(Term(term), membership)),
    ]
}

/// A configuration over nodes 0..6: usually well-formed, sometimes not (unsorted,
/// duplicated, empty, a voter also a learner).
fn arb_membership() -> impl Strategy<Value = Membership> {
    let ids = || vec((0u64..6).prop_map(NodeId), 0..5);
    (ids(), proptest::option::of(ids()), ids(), any::<bool>()).prop_map(
        |(voters, outgoing, learners, tidy)| {
            let raw = Membership {
                voters,
                outgoing,
                learners,
            };
            match tidy {
                false => raw,
                true => {
                    let mut m = Membership::new(raw.voters, raw.learners);
                    m.learners.retain(|l| !m.voters.contains(l));
                    m.outgoing = raw.outgoing.map(|o| Membership::new(o, vec![]).voters);
                    m
                }
            }
        },
    )
}

fn arb_entries() -> impl Strategy<Value = Vec<Entry>> {
    prop_oneof![
        // Well-formed runs (terms never decrease), as a real leader sends.
        6 => vec(arb_entry(), 0..6).prop_map(|mut entries| {
            entries.sort_by_key(|e| e.term);
            entries
        }),
        // Malformed: terms in any order.
        2 => vec(arb_entry(), 0..6),
        // A huge batch.
        1 => (0u64..7, 100usize..400).prop_map(|(term, n)| {
            vec![Entry::new(Term(term), SharedBytes::from(&b"h"[..])); n]
        }),
    ]
}

fn arb_hint() -> impl Strategy<Value = ConflictHint> {
    prop_oneof![
        number().prop_map(|next| ConflictHint::LogTooShort {
            next: LogIndex(next)
        }),
        (number(), number()).prop_map(|(term, first)| ConflictHint::TermMismatch {
            term: Term(term),
            first_index: LogIndex(first),
        }),
    ]
}

fn arb_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (number(), number(), number()).prop_map(|(t, i, lt)| vote_request(t, i, lt)),
        (number(), any::<bool>()).prop_map(|(t, g)| vote(t, g)),
        (number(), number(), number(), arb_entries(), number())
            .prop_map(|(t, pi, pt, entries, c)| append(t, (pi, pt), entries, c)),
        (number(), number()).prop_map(|(t, i)| matched(t, i)),
        (number(), number(), arb_hint()).prop_map(|(t, rejected, hint)| append_reply(
            t,
            AppendOutcome::Rejected {
                rejected: LogIndex(rejected),
                hint
            }
        )),
        number().prop_map(|t| append_reply(t, AppendOutcome::StaleTerm)),
        (number(), number(), number(), vec(any::<u8>(), 0..4)).prop_map(|(t, i, st, data)| {
            Message::InstallSnapshot(raft_core::InstallSnapshot {
                term: Term(t),
                last_included_index: LogIndex(i),
                last_included_term: Term(st),
                data: SharedBytes::from(data),
                membership: None,
            })
        }),
        (number(), number(), number(), arb_membership()).prop_map(|(t, i, st, m)| {
            Message::InstallSnapshot(raft_core::InstallSnapshot {
                term: Term(t),
                last_included_index: LogIndex(i),
                last_included_term: Term(st),
                data: SharedBytes::from(&b"s"[..]),
                membership: Some(std::sync::Arc::new(m)),
            })
        }),
        (number(), number()).prop_map(|(t, i)| install_reply(t, i)),
        // Wire version 2.
        (number(), number(), number()).prop_map(|(t, i, lt)| pre_vote_request(t, i, lt)),
        (number(), any::<bool>()).prop_map(|(t, g)| pre_vote(t, g)),
        (number(), number(), number()).prop_map(|(t, i, lt)| transfer_vote_request(t, i, lt)),
        number().prop_map(timeout_now),
        (number(), number()).prop_map(|(t, r)| round(t, r)),
        (number(), number()).prop_map(|(t, r)| round_reply(t, r)),
        (number(), number()).prop_map(|(t, id)| forwarded_read(t, id)),
        (number(), number(), proptest::option::of(number()))
            .prop_map(|(t, id, index)| read_response(t, id, index)),
    ]
}

/// Which production features the node under test runs with.
#[derive(Clone, Copy, Debug)]
struct Features {
    pre_vote: bool,
    check_quorum: bool,
    read_index: bool,
    lease: bool,
}

fn arb_features() -> impl Strategy<Value = Features> {
    (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(p, c, r, l)| Features {
        pre_vote: p,
        check_quorum: c || l,
        read_index: r || l,
        lease: l,
    })
}

/// One thing that happens to the node under test (n1 of n1..=n3).
#[derive(Clone, Debug)]
enum Op {
    Ticks(u8),
    Propose(Vec<u8>),
    /// The service snapshots `back` entries before its last applied one.
    Snapshot {
        back: u64,
    },
    /// A service snapshot at an arbitrary index.
    SnapshotAt(u64),
    /// Any message from any sender: peers n2, n3, the node itself, strangers n0, n4, n5.
    Receive(u64, Message),
    /// A message from a peer whose term is made the node's current term (plus `term_shift`
    /// minus one) and whose main index is moved near the node's last index, so that it gets
    /// past the term prelude and probes the edges of the log.
    Near {
        from: u64,
        message: Message,
        term_shift: u64,
    },
    /// A well-formed answer to one of the node's recent requests, granting or refusing it:
    /// this is what lets the node become leader and replicate.
    Answer {
        back: usize,
        favourable: bool,
    },
    /// A message the node received earlier, again.
    Replay {
        back: usize,
    },
    /// Crash and restart from the durable state.
    Restart,
    /// A batch of proposals.
    Batch(Vec<Vec<u8>>),
    /// A durability report, near the end of the log (`back` entries before it) or anywhere.
    Persisted {
        back: u64,
        term: u64,
    },
    /// A leadership transfer to any node, member or not.
    Transfer(u64),
    /// A read.
    Read(u64),
    /// `ChangeMembership` with these voters and learners (possibly invalid).
    Change(Vec<u64>, Vec<u64>),
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u8..40).prop_map(Op::Ticks),
        2 => vec(any::<u8>(), 0..8).prop_map(Op::Propose),
        1 => (0u64..4).prop_map(|back| Op::Snapshot { back }),
        1 => number().prop_map(Op::SnapshotAt),
        5 => (0u64..6, arb_message()).prop_map(|(from, m)| Op::Receive(from, m)),
        8 => (2u64..4, arb_message(), prop::sample::select(vec![0u64, 1, 1, 1, 2]))
            .prop_map(|(from, message, term_shift)| Op::Near { from, message, term_shift }),
        6 => (0usize..8, prop::bool::weighted(0.8))
            .prop_map(|(back, favourable)| Op::Answer { back, favourable }),
        2 => (0usize..8).prop_map(|back| Op::Replay { back }),
        1 => Just(Op::Restart),
        1 => vec(vec(any::<u8>(), 0..4), 0..5).prop_map(Op::Batch),
        2 => (0u64..4, prop_oneof![Just(0u64), number()])
            .prop_map(|(back, term)| Op::Persisted { back, term }),
        1 => (0u64..6).prop_map(Op::Transfer),
        2 => (0u64..6).prop_map(Op::Read),
        1 => (vec(0u64..6, 0..5), vec(0u64..6, 0..3)).prop_map(|(v, l)| Op::Change(v, l)),
    ]
}

/// `message` with its term replaced by `term` and its main index (and commit) offset by `base`.
fn near(mut message: Message, term: u64, base: u64) -> Message {
    let shift = |i: &mut LogIndex| *i = LogIndex(i.0.saturating_add(base));
    match &mut message {
        Message::RequestVote(m) => {
            m.term = Term(term);
            shift(&mut m.last_log_index);
        }
        Message::RequestVoteReply(m) => m.term = Term(term),
        Message::AppendEntries(m) => {
            m.term = Term(term);
            shift(&mut m.prev_log_index);
            shift(&mut m.leader_commit);
            // Keep it well-formed more often: entries no newer than the request's term.
            for e in &mut m.entries {
                e.term = Term(e.term.0.min(term));
            }
            m.prev_log_term = Term(m.prev_log_term.0.min(term));
        }
        Message::AppendEntriesReply(m) => {
            m.term = Term(term);
            match &mut m.outcome {
                AppendOutcome::Matched(i) => shift(i),
                AppendOutcome::Rejected { rejected, hint } => {
                    shift(rejected);
                    match hint {
                        ConflictHint::LogTooShort { next } => shift(next),
                        ConflictHint::TermMismatch { first_index, .. } => shift(first_index),
                    }
                }
                AppendOutcome::StaleTerm => {}
            }
        }
        Message::InstallSnapshot(m) => {
            m.term = Term(term);
            m.last_included_term = Term(m.last_included_term.0.min(term));
            shift(&mut m.last_included_index);
        }
        Message::InstallSnapshotReply(m) => {
            m.term = Term(term);
            if let Some(matched) = &mut m.matched {
                shift(matched);
            }
        }
        Message::PreVote(m) | Message::TransferVote(m) => {
            m.term = Term(term);
            shift(&mut m.last_log_index);
        }
        Message::PreVoteReply(m) => m.term = Term(term),
        Message::TimeoutNow(m) => m.term = Term(term),
        Message::Heartbeat(m) => m.term = Term(term),
        Message::HeartbeatReply(m) => m.term = Term(term),
        Message::ReadIndex(m) => m.term = Term(term),
        Message::ReadIndexResponse(m) => {
            m.term = Term(term);
            if let Some(index) = &mut m.index {
                shift(index);
            }
        }
    }
    message
}

/// The reply a real peer could give to `request`.
fn answer(request: &Message, favourable: bool) -> Option<Message> {
    Some(match request {
        Message::RequestVote(m) => vote(m.term.0, favourable),
        Message::AppendEntries(m) if favourable => {
            matched(m.term.0, m.prev_log_index.0 + m.entries.len() as u64)
        }
        Message::AppendEntries(m) => {
            too_short(m.term.0, m.prev_log_index.0, m.prev_log_index.0 / 2)
        }
        Message::InstallSnapshot(m) => install_reply(m.term.0, m.last_included_index.0),
        Message::PreVote(m) => pre_vote(m.term.0, favourable),
        Message::TransferVote(m) => vote(m.term.0, favourable),
        Message::Heartbeat(m) => round_reply(m.term.0, m.round),
        Message::ReadIndex(m) => read_response(m.term.0, m.id, favourable.then_some(m.term.0)),
        _ => return None,
    })
}

fn nth_back<T>(items: &[T], back: usize) -> Option<&T> {
    items
        .len()
        .checked_sub(1 + back % items.len().max(1))
        .map(|i| &items[i])
}

/// Runs `ops` against n1; panics (failing the property) on any broken check.
fn run_hostile(ops: &[Op], pipelined: bool, features: Features) {
    let config = Config {
        pipelined_persistence: pipelined,
        pre_vote: features.pre_vote,
        check_quorum: features.check_quorum,
        read_index: features.read_index,
        lease_reads: features.lease,
        ..config(1, 3)
    };
    let mut h = Harness::with_config(config.clone(), None);
    let mut requests: Vec<(NodeId, Message)> = Vec::new();
    let mut received: Vec<(u64, Message)> = Vec::new();
    for op in ops {
        let actions = match op {
            Op::Ticks(n) => {
                let mut all = Vec::new();
                for _ in 0..*n {
                    all.extend(h.tick());
                }
                all
            }
            Op::Propose(command) => h.step(Event::Propose {
                command: SharedBytes::from(command.clone()),
            }),
            Op::Snapshot { back } => {
                let index = h.node.last_applied().0.saturating_sub(*back);
                h.step(Event::Snapshot {
                    index: LogIndex(index),
                    data: cmd("snap"),
                })
            }
            Op::SnapshotAt(index) => h.step(Event::Snapshot {
                index: LogIndex(*index),
                data: cmd("snap"),
            }),
            Op::Receive(from, message) => {
                received.push((*from, message.clone()));
                h.receive(*from, message.clone())
            }
            Op::Near {
                from,
                message,
                term_shift,
            } => {
                let term = (h.node.term().0 + term_shift).saturating_sub(1);
                let base = h.node.last_index().0.saturating_sub(4);
                let message = near(message.clone(), term, base);
                received.push((*from, message.clone()));
                h.receive(*from, message)
            }
            Op::Answer { back, favourable } => {
                match nth_back(&requests, *back)
                    .and_then(|(to, m)| answer(m, *favourable).map(|a| (to.0, a)))
                {
                    Some((from, reply)) => {
                        received.push((from, reply.clone()));
                        h.receive(from, reply)
                    }
                    None => Vec::new(),
                }
            }
            Op::Replay { back } => match nth_back(&received, *back).cloned() {
                Some((from, message)) => h.receive(from, message),
                None => Vec::new(),
            },
            Op::Batch(commands) => h.step(Event::ProposeBatch {
                commands: commands
                    .iter()
                    .map(|c| SharedBytes::from(c.clone()))
                    .collect(),
            }),
            Op::Persisted { back, term } => {
                // Term 0 stands for "the term of that entry", the report a driver would make.
                let index = LogIndex(h.node.last_index().0.saturating_sub(*back));
                let term = match *term {
                    0 => h.node.entry(index).map_or(Term(0), |e| e.term),
                    other => Term(other),
                };
                h.step(Event::Persisted { index, term })
            }
            Op::Transfer(to) => h.step(Event::TransferLeader { to: NodeId(*to) }),
            Op::Read(id) => h.step(Event::ReadIndex { id: *id }),
            Op::Change(voters, learners) => h.step(Event::ChangeMembership {
                voters: voters.iter().map(|&id| NodeId(id)).collect(),
                learners: learners.iter().map(|&id| NodeId(id)).collect(),
            }),
            Op::Restart => {
                let restored = PersistentState::decode(&h.durable.encode())
                    .expect("durable state always decodes");
                h = Harness::with_config(config.clone(), Some(restored));
                Vec::new()
            }
        };
        for (to, message) in sends(&actions) {
            if message.is_request() {
                requests.push((to, message.clone()));
            }
        }
        if requests.len() > 64 {
            requests.drain(..32);
        }
    }
    // Whatever happened, the durable state is a valid point to restart from.
    let restored = PersistentState::decode(&h.durable.encode()).expect("decodes");
    RaftNode::new(config, Some(restored)).expect("restartable");
}

proptest! {
    #![proptest_config(proptest_config(192))]

    #[test]
    fn node_never_panics_on_hostile_input(
        ops in vec(arb_op(), 1..120),
        pipelined in any::<bool>(),
        features in arb_features(),
    ) {
        run_hostile(&ops, pipelined, features);
    }
}

/// Every role, fed the nastiest messages we can think of; no panic, no broken invariant.
#[test]
fn extreme_values_are_survived_in_every_role() {
    let huge = u64::MAX;
    let sane = u64::MAX >> 2;
    let nasty = [
        append(1, (huge, 1), entries_at(1, &[1]), huge),
        append(1, (sane, 1), vec![], sane),
        append(1, (0, 0), vec![], huge),
        append(2, (0, 0), entries_at(1, &[2; 3000]), huge),
        append(huge, (0, 0), vec![], 0),
        append(sane, (0, 0), entries_at(1, &[sane]), sane),
        matched(1, huge),
        matched(2, sane),
        too_short(2, huge, 0),
        too_short(2, 1, huge),
        term_mismatch(2, huge, huge, huge),
        term_mismatch(2, 1, 0, 0),
        install(2, (huge, 1), "x"),
        install(2, (sane, 2), "x"),
        install(2, (3, huge), "x"),
        install_reply(2, huge),
        vote_request(huge, huge, huge),
        vote_request(sane, sane, sane),
        vote(huge, true),
        pre_vote_request(huge, huge, huge),
        pre_vote_request(sane, sane, sane),
        pre_vote(huge, true),
        pre_vote(3, true),
        transfer_vote_request(huge, huge, huge),
        timeout_now(huge),
        timeout_now(2),
        round(2, huge),
        round_reply(2, huge),
        round_reply(2, 1),
        forwarded_read(2, huge),
        read_response(2, 7, Some(huge)),
        read_response(2, 7, Some(sane)),
    ];
    // Follower, candidate, leader, and leader after compaction; features off, then all on.
    let roles: Vec<fn(Config) -> Harness> = vec![
        |c| Harness::with_config(c, Some(state(2, None, &[1, 2]))),
        |c| {
            let mut h = Harness::with_config(c, Some(state(1, None, &[1])));
            h.tick_until_candidate();
            h
        },
        |c| {
            let mut h = Harness::with_config(c, Some(state(1, None, &[1])));
            h.elect();
            h.propose("x");
            h
        },
        |c| {
            let state = state_after_snapshot(1, None, (5, 1), &[1]);
            let mut h = Harness::with_config(c, Some(state));
            h.elect();
            h.receive(2, matched(2, 6));
            h.propose("x");
            h
        },
    ];
    let all_on = Config {
        pre_vote: true,
        check_quorum: true,
        read_index: true,
        lease_reads: true,
        ..config(1, 3)
    };
    for make in roles {
        for features in [config(1, 3), all_on.clone()] {
            for message in &nasty {
                for from in [2, 3] {
                    let mut h = make(features.clone());
                    // Twice: the first may change the role, the second hits the new one.
                    h.receive(from, message.clone());
                    h.receive(from, message.clone());
                    for _ in 0..100 {
                        h.tick();
                    }
                    for event in [
                        Event::Snapshot {
                            index: LogIndex(huge),
                            data: cmd("s"),
                        },
                        Event::Snapshot {
                            index: h.node.last_applied(),
                            data: cmd("s"),
                        },
                        Event::Propose {
                            command: cmd("after"),
                        },
                        Event::ReadIndex { id: huge },
                        Event::TransferLeader { to: NodeId(huge) },
                        Event::TransferLeader { to: NodeId(2) },
                    ] {
                        h.step(event);
                    }
                }
            }
        }
    }
}

/// Regression: a rejection naming a `prev_log_index` beyond the leader's log, received while
/// the follower was in replicate mode, moved `next_index` past the log and the next send
/// panicked on the missing `prev_log_term`.
#[test]
fn rejection_beyond_the_leaders_log_is_ignored() {
    let mut h = Harness::fresh(1, 3);
    h.elect();
    let term = h.node.term().0;
    h.receive(2, matched(term, 0)); // n2 now in replicate mode
    for reply in [too_short(term, 50, 50), term_mismatch(term, 50, term, 40)] {
        let actions = h.receive(2, reply);
        assert!(actions.is_empty(), "{actions:?}");
    }
    // Replication to n2 carries on normally.
    let actions = h.propose("x");
    assert_eq!(only_append_to(&actions, 2).prev_log_index, LogIndex(0));
}

// ---------------------------------------------------------------------------------------------
// Safety of a small cluster under an unreliable network
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum NetOp {
    TickAll(u8),
    /// Ticks of a healthy network: each tick, everything queued is delivered.
    Rounds(u8),
    Tick(usize),
    DeliverAll,
    Deliver(usize),
    Drop(usize),
    Duplicate(usize),
    Propose(usize),
    Snapshot(usize),
    Crash(usize),
    Restart(usize),
    Isolate(usize),
    Heal,
    /// Finishes the oldest pipelined write of a node (only with pipelined persistence).
    FinishWrite(usize),
    /// A batch of this many commands to whoever leads.
    ProposeBatch(u8),
}

fn arb_net_op() -> impl Strategy<Value = NetOp> {
    prop_oneof![
        6 => (1u8..15).prop_map(NetOp::TickAll),
        6 => (1u8..10).prop_map(NetOp::Rounds),
        2 => any::<usize>().prop_map(NetOp::Tick),
        3 => Just(NetOp::DeliverAll),
        12 => any::<usize>().prop_map(NetOp::Deliver),
        3 => any::<usize>().prop_map(NetOp::Drop),
        2 => any::<usize>().prop_map(NetOp::Duplicate),
        8 => any::<usize>().prop_map(NetOp::Propose),
        2 => any::<usize>().prop_map(NetOp::Snapshot),
        1 => any::<usize>().prop_map(NetOp::Crash),
        3 => any::<usize>().prop_map(NetOp::Restart),
        1 => any::<usize>().prop_map(NetOp::Isolate),
        2 => Just(NetOp::Heal),
        6 => any::<usize>().prop_map(NetOp::FinishWrite),
        2 => (0u8..5).prop_map(NetOp::ProposeBatch),
    ]
}

/// Runs `ops` on an `n`-node cluster. `Cluster` asserts Election Safety, agreement of applied
/// commands at every index, apply order and persistence after every step; at the end the
/// network is repaired and the cluster must still make progress. With `pipelined`, leaders'
/// own writes finish only on `FinishWrite`, and a crash loses the unfinished ones.
fn run_unreliable(n: u64, seed: u64, snapshot_every: Option<u64>, pipelined: bool, ops: &[NetOp]) {
    let configs = (1..=n)
        .map(|id| Config {
            pipelined_persistence: pipelined,
            ..Config::new(NodeId(id), ids(n), seed.wrapping_mul(31).wrapping_add(id))
        })
        .collect();
    let mut c = Cluster::with_configs(configs);
    c.finish_writes_at_once = !pipelined;
    c.snapshot_every = snapshot_every;
    let pick = |k: usize| NodeId(k as u64 % n + 1);
    let mut proposals = 0u32;
    for op in ops {
        match *op {
            NetOp::TickAll(t) => {
                for _ in 0..t {
                    c.tick_all();
                }
            }
            NetOp::Rounds(t) => c.run(u32::from(t)),
            NetOp::Tick(k) if c.is_up(pick(k)) => c.tick(pick(k)),
            NetOp::DeliverAll => c.deliver_all(),
            NetOp::Deliver(k) => c.deliver_nth(k),
            NetOp::Drop(k) => c.drop_nth(k),
            NetOp::Duplicate(k) => c.duplicate_nth(k),
            NetOp::Propose(k) => {
                // Mostly to whoever leads (possibly a deposed leader), sometimes to anyone.
                let to = match c.leader() {
                    Some(leader) if k % 4 != 0 => leader,
                    _ => pick(k),
                };
                if c.is_up(to) {
                    proposals += 1;
                    c.propose(to, cmd(&format!("p{proposals}")));
                }
            }
            NetOp::Snapshot(k) if c.is_up(pick(k)) => {
                let last = c.service(pick(k)).last().0;
                c.snapshot(pick(k), last);
            }
            NetOp::Crash(k) if c.is_up(pick(k)) => c.crash(pick(k)),
            NetOp::Restart(k) if !c.is_up(pick(k)) => c.restart(pick(k)),
            NetOp::Isolate(k) => c.isolate(pick(k)),
            NetOp::Heal => c.heal(),
            NetOp::FinishWrite(k) if c.is_up(pick(k)) => c.finish_write(pick(k)),
            NetOp::ProposeBatch(size) => {
                if let Some(leader) = c.leader() {
                    proposals += 1;
                    let commands = (0..size)
                        .map(|i| cmd(&format!("b{proposals}.{i}")))
                        .collect();
                    c.step(leader, Event::ProposeBatch { commands });
                }
            }
            _ => {}
        }
    }
    c.finish_writes_at_once = true;
    for id in c.ids.clone() {
        while c.is_up(id) && c.unfinished_writes(id) > 0 {
            c.finish_write(id);
        }
    }
    // Liveness once the network is whole again: a new command commits everywhere.
    for id in c.ids.clone() {
        if !c.is_up(id) {
            c.restart(id);
        }
    }
    c.heal();
    c.run(200);
    let leader = c.wait_for_leader();
    let (index, _) = c.propose(leader, cmd("final")).expect("the leader accepts");
    c.wait_applied(index.0);
    assert_eq!(c.committed_at(index.0), Some(&cmd("final")));
}

proptest! {
    #![proptest_config(proptest_config(96))]

    #[test]
    fn cluster_is_safe_under_drops_reorders_duplicates_and_crashes(
        n in prop_oneof![Just(3u64), Just(5u64)],
        seed in any::<u64>(),
        snapshot_every in prop_oneof![Just(None), (2u64..6).prop_map(Some)],
        pipelined in any::<bool>(),
        ops in vec(arb_net_op(), 1..300),
    ) {
        run_unreliable(n, seed, snapshot_every, pipelined, &ops);
    }
}

/// The same configuration and the same events give byte-identical actions (README, "No hidden
/// inputs").
#[test]
fn same_events_give_identical_actions() {
    let run = || {
        let mut c = Cluster::with_seed(3, 42);
        let mut trace = Vec::new();
        for round in 0..400u32 {
            for id in c.ids.clone() {
                trace.push(format!("{:?}", c.step(id, Event::Tick)));
            }
            if round % 7 == 0 {
                c.drop_nth(round as usize);
            }
            if let Some(leader) = c.leader() {
                if round % 5 == 0 {
                    c.propose(leader, cmd(&format!("r{round}")));
                }
            }
            c.deliver_all();
        }
        (trace, c.committed_len())
    };
    let (first, committed) = run();
    assert!(committed > 10, "the run did something");
    assert_eq!(first, run().0);
    let other_seed = Config::new(NodeId(1), ids(3), 43);
    assert_ne!(other_seed.seed, config(1, 3).seed);
}

/// A hostile term just under the ceiling must not leave the node speaking a term its peers
/// ignore: it follows that term but never starts an election past the ceiling.
#[test]
fn terms_never_reach_the_ceiling() {
    use raft_core::{Config, Event, Message, NodeId, RaftNode, RequestVoteReply, Term};
    let ceiling = u64::MAX >> 2;
    let config = Config::new(NodeId(1), vec![NodeId(1), NodeId(2), NodeId(3)], 5);
    let mut node = RaftNode::new(config, None).expect("valid");
    let hostile = Message::RequestVoteReply(RequestVoteReply {
        term: Term(ceiling - 1),
        granted: false,
    });
    node.step(Event::Receive {
        from: NodeId(2),
        message: hostile,
    });
    assert_eq!(node.term(), Term(ceiling - 1));
    for _ in 0..1000 {
        for action in node.step(Event::Tick) {
            if let raft_core::Action::Send { message, .. } = action {
                assert!(message.term().0 < ceiling, "sent a term at the ceiling");
            }
        }
    }
    assert_eq!(node.term(), Term(ceiling - 1));
    let at_ceiling = Message::RequestVoteReply(RequestVoteReply {
        term: Term(ceiling),
        granted: false,
    });
    node.step(Event::Receive {
        from: NodeId(2),
        message: at_ceiling,
    });
    assert_eq!(
        node.term(),
        Term(ceiling - 1),
        "a term at the ceiling is ignored"
    );
}
