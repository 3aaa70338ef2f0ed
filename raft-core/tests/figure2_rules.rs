//! One test per rule of Figure 2 (and §5.4, §7) of the extended Raft paper, each named after
//! the section it checks. A single node is driven by hand-made messages and its actions
//! inspected; `Harness` also checks, after every step, that the `Persist` actions rebuild the
//! node's durable state exactly.

mod support;

use raft_core::{
    Action, AppendOutcome, Config, ConfigError, ConflictHint, Event, HardState, LogIndex, Message,
    NodeId, PersistentState, RaftNode, RoleKind, Snapshot, Term,
};
use support::*;

/// A configuration whose election timeout is exactly `ticks` (the range is `[ticks, ticks+1)`).
fn fixed_timeout(id: u64, n: u64, ticks: u32) -> Config {
    Config {
        election_ticks_min: ticks,
        election_ticks_max: ticks + 1,
        ..config(id, n)
    }
}

fn hard(term: u64, voted_for: Option<u64>) -> Option<HardState> {
    Some(HardState {
        term: Term(term),
        voted_for: voted_for.map(NodeId),
    })
}

// ---------------------------------------------------------------------------------------------
// §5.1: terms
// ---------------------------------------------------------------------------------------------

#[test]
fn s5_1_higher_term_makes_leader_step_down() {
    // (what arrives from n2 in the next term, whether it names n2 as leader)
    let cases: Vec<(Message, bool)> = vec![
        (vote_request(5, 0, 0), false),
        (vote(5, false), false),
        (append_reply(5, AppendOutcome::StaleTerm), false),
        (heartbeat(5, (0, 0), 0), true),
        (install(5, (0, 0), ""), true),
        (install_reply(5, 0), false),
    ];
    for (message, names_leader) in cases {
        let mut h = Harness::restored(1, 3, state(3, None, &[]));
        h.elect();
        assert_eq!(h.node.term(), Term(4));
        let actions = h.receive(2, message.clone());
        assert_eq!(h.node.role(), RoleKind::Follower, "{message:?}");
        assert_eq!(h.node.term(), Term(5), "{message:?}");
        let change = persist(&actions).expect("the new term is persisted");
        assert_eq!(change.hard_state.map(|s| s.term), Some(Term(5)));
        let expected_hint = names_leader.then_some(NodeId(2));
        assert_eq!(h.node.leader_hint(), expected_hint, "{message:?}");
    }
}

#[test]
fn s5_1_higher_term_makes_candidate_step_down() {
    let mut h = Harness::fresh(1, 3);
    h.tick_until_candidate();
    assert_eq!(h.node.role(), RoleKind::Candidate);
    let actions = h.receive(3, vote(7, false));
    assert_eq!(h.node.role(), RoleKind::Follower);
    assert_eq!(persist(&actions).unwrap().hard_state, hard(7, None));
    assert!(sends(&actions).is_empty());
}

#[test]
fn s5_1_stale_requests_are_refused_with_the_current_term() {
    let cases = vec![
        (vote_request(4, 100, 4), vote(5, false)),
        (
            append(4, (2, 1), entries_at(3, &[4]), 3),
            append_reply(5, AppendOutcome::StaleTerm),
        ),
        (install(4, (10, 3), "s"), install_refused(5)),
    ];
    for (request, reply) in cases {
        let mut h = Harness::restored(1, 3, state(5, None, &[1, 1]));
        let before = h.node.persistent_state();
        let actions = h.receive(2, request.clone());
        assert_eq!(
            actions,
            vec![Action::Send {
                to: NodeId(2),
                message: reply
            }]
        );
        assert_eq!(
            h.node.persistent_state(),
            before,
            "{request:?} changed state"
        );
        assert_eq!(h.node.commit_index(), LogIndex(0));
        assert_eq!(h.node.leader_hint(), None);
    }
}

#[test]
fn s5_1_stale_replies_are_ignored() {
    let stale = vec![
        vote(3, true),
        matched(3, 1),
        too_short(3, 1, 1),
        term_mismatch(3, 1, 1, 1),
        install_reply(3, 1),
    ];
    for reply in stale {
        let mut h = Harness::restored(1, 3, state(3, None, &[1, 2]));
        h.elect();
        let actions = h.receive(2, reply.clone());
        assert!(actions.is_empty(), "{reply:?} -> {actions:?}");
        assert!(h.node.is_leader());
        assert_eq!(h.node.commit_index(), LogIndex(0));
    }
}

#[test]
fn s5_1_newer_term_forgets_the_old_vote() {
    let mut h = Harness::restored(1, 3, state(2, Some(2), &[]));
    let actions = h.receive(3, vote_request(3, 0, 0));
    assert_eq!(persist(&actions).unwrap().hard_state, hard(3, Some(3)));
    assert_eq!(sent_to(&actions, 3), vec![&vote(3, true)]);
}

#[test]
fn s5_1_messages_from_self_and_replies_from_unknown_senders_are_dropped() {
    // Requests from outside the configuration are served (thesis §4.1: a leader or candidate
    // of a configuration not yet known here may need us; see membership_rules.rs), but a
    // reply from outside it answers nothing we asked and must not move our term.
    for (from, messages) in [
        (
            1,
            vec![
                vote_request(9, 9, 9),
                heartbeat(9, (1, 1), 1),
                vote(9, true),
            ],
        ),
        (4, vec![vote(9, true)]),
        (99, vec![vote(9, false)]),
    ] {
        let mut h = Harness::restored(1, 3, state(2, None, &[1]));
        for message in messages {
            let actions = h.receive(from, message);
            assert!(actions.is_empty(), "from n{from}: {actions:?}");
        }
        assert_eq!(h.node.term(), Term(2));
    }
}

// ---------------------------------------------------------------------------------------------
// §5.2: leader election
// ---------------------------------------------------------------------------------------------

#[test]
fn s5_2_follower_times_out_and_stands_for_election() {
    let mut h = Harness::restored(1, 3, state(1, None, &[1, 1]));
    let min = h.node.config().election_ticks_min;
    let max = h.node.config().election_ticks_max;
    let mut ticks = 0;
    let actions = loop {
        ticks += 1;
        let actions = h.tick();
        if h.node.role() != RoleKind::Follower {
            break actions;
        }
        assert!(ticks < max, "no candidacy within the timeout range");
    };
    assert!((min..max).contains(&ticks), "timed out after {ticks} ticks");
    assert_eq!(h.node.role(), RoleKind::Candidate);
    assert_eq!(h.node.term(), Term(2));
    assert!(matches!(actions[0], Action::Persist(_)));
    assert_eq!(persist(&actions).unwrap().hard_state, hard(2, Some(1)));
    for peer in [2, 3] {
        assert_eq!(only_message_to(&actions, peer), vote_request(2, 2, 1));
    }
}

#[test]
fn s5_2_election_timeouts_are_random_but_seeded() {
    let ticks_to_candidacy = |seed: u64| {
        let config = Config::new(NodeId(1), ids(3), seed);
        let (min, max) = (config.election_ticks_min, config.election_ticks_max);
        let mut node = RaftNode::new(config, None).unwrap();
        let mut ticks = 0;
        while node.role() == RoleKind::Follower {
            node.step(Event::Tick);
            ticks += 1;
        }
        assert!((min..max).contains(&ticks));
        ticks
    };
    let draws: Vec<u32> = (0..40).map(ticks_to_candidacy).collect();
    let mut distinct = draws.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(distinct.len() >= 5, "timeouts barely vary: {draws:?}");
    let again: Vec<u32> = (0..40).map(ticks_to_candidacy).collect();
    assert_eq!(draws, again, "the same seed must give the same timeouts");
}

#[test]
fn s5_2_heartbeats_keep_a_follower_from_standing() {
    let mut h = Harness::restored(1, 3, state(1, None, &[]));
    for t in 0..1_000 {
        if t % 10 == 0 {
            h.receive(2, heartbeat(1, (0, 0), 0));
        }
        h.tick();
        assert_eq!(h.node.role(), RoleKind::Follower);
    }
    assert_eq!(h.node.term(), Term(1));
    assert_eq!(h.node.leader_hint(), Some(NodeId(2)));
}

#[test]
fn s5_2_granting_a_vote_defers_candidacy_but_refusing_does_not() {
    // Granted: the timer restarts.
    let mut h = Harness::with_config(fixed_timeout(1, 3, 30), Some(state(1, None, &[])));
    for _ in 0..29 {
        h.tick();
    }
    h.receive(2, vote_request(1, 0, 0));
    for _ in 0..29 {
        h.tick();
    }
    assert_eq!(h.node.role(), RoleKind::Follower);
    h.tick();
    assert_eq!(h.node.role(), RoleKind::Candidate);

    // Refused (already voted for n2 in this term): the timer runs on.
    let mut h = Harness::with_config(fixed_timeout(1, 3, 30), Some(state(1, Some(2), &[])));
    for _ in 0..29 {
        h.tick();
    }
    let actions = h.receive(3, vote_request(1, 0, 0));
    assert_eq!(sent_to(&actions, 3), vec![&vote(1, false)]);
    h.tick();
    assert_eq!(h.node.role(), RoleKind::Candidate);
}

#[test]
fn s5_2_one_vote_per_term() {
    let mut h = Harness::restored(1, 5, state(5, None, &[]));
    // (candidate, term, granted, vote persisted in this step)
    let cases = [
        (2, 5, true, Some(hard(5, Some(2)))),
        (3, 5, false, None),
        (2, 5, true, None), // a retry from the same candidate: same answer, nothing new
        (4, 5, false, None),
        (3, 6, true, Some(hard(6, Some(3)))), // a new term, a new vote
        (2, 6, false, None),
    ];
    for (candidate, term, granted, persisted) in cases {
        let actions = h.receive(candidate, vote_request(term, 0, 0));
        assert_eq!(
            sent_to(&actions, candidate),
            vec![&vote(term, granted)],
            "n{candidate} in term {term}"
        );
        assert_eq!(persist(&actions).map(|c| c.hard_state), persisted);
    }
}

#[test]
fn s5_2_votes_from_a_majority_elect_the_candidate() {
    let mut h = Harness::fresh(1, 5);
    h.tick_until_candidate();
    let term = h.node.term().0;
    // Refusals, duplicates and strangers do not count; n1 needs two distinct grants.
    for (from, message) in [
        (2, vote(term, true)),
        (2, vote(term, true)),
        (3, vote(term, false)),
        (9, vote(term, true)),
    ] {
        h.receive(from, message);
        assert_eq!(h.node.role(), RoleKind::Candidate);
    }
    let actions = h.receive(4, vote(term, true));
    assert!(h.node.is_leader());
    assert_eq!(h.node.leader_hint(), Some(NodeId(1)));
    // It asserts leadership at once with a heartbeat to everyone (§5.2).
    for peer in 2..=5 {
        let m = only_append_to(&actions, peer);
        assert_eq!(m.term, Term(term));
        assert!(m.entries.is_empty());
    }
}

#[test]
fn s5_2_candidate_yields_to_a_leader_of_its_term() {
    let mut h = Harness::fresh(1, 3);
    h.tick_until_candidate();
    let term = h.node.term().0;
    let actions = h.receive(2, heartbeat(term, (0, 0), 0));
    assert_eq!(h.node.role(), RoleKind::Follower);
    assert_eq!(h.node.term(), Term(term));
    assert_eq!(h.node.voted_for(), Some(NodeId(1)), "the vote stands");
    assert_eq!(h.node.leader_hint(), Some(NodeId(2)));
    assert_eq!(sent_to(&actions, 2), vec![&matched(term, 0)]);
}

#[test]
fn s5_2_split_vote_leads_to_a_new_election() {
    let mut h = Harness::fresh(1, 3);
    h.tick_until_candidate();
    let first = h.node.term();
    h.receive(2, vote(first.0, false));
    let actions = h.tick_until_candidate_again();
    assert_eq!(h.node.term(), first.next());
    assert_eq!(sent_to(&actions, 2), vec![&vote_request(first.0 + 1, 0, 0)]);
}

trait TickAgain {
    fn tick_until_candidate_again(&mut self) -> Vec<Action>;
}

impl TickAgain for Harness {
    /// Ticks a candidate until its election times out and it stands again.
    fn tick_until_candidate_again(&mut self) -> Vec<Action> {
        let term = self.node.term();
        for _ in 0..self.node.config().election_ticks_max {
            let actions = self.tick();
            if self.node.term() > term {
                assert_eq!(self.node.role(), RoleKind::Candidate);
                return actions;
            }
        }
        panic!("the candidate never stood again");
    }
}

#[test]
fn s5_2_leader_drops_a_rival_claiming_its_own_term() {
    let mut h = Harness::fresh(1, 3);
    h.elect();
    let term = h.node.term().0;
    for message in [
        heartbeat(term, (0, 0), 0),
        append(term, (0, 0), entries_at(1, &[term]), 1),
        install(term, (5, term), "x"),
    ] {
        let actions = h.receive(2, message);
        assert!(actions.is_empty());
        assert!(h.node.is_leader());
        assert_eq!(h.node.last_index(), LogIndex(0));
    }
}

// ---------------------------------------------------------------------------------------------
// §5.3: log replication, follower side (Figure 2, AppendEntries receiver rules 1-5)
// ---------------------------------------------------------------------------------------------

#[test]
fn s5_3_append_rejected_when_log_is_too_short() {
    let mut h = Harness::restored(1, 3, state(1, None, &[1, 1]));
    let actions = h.receive(2, append(1, (5, 1), entries_at(6, &[1]), 0));
    assert_eq!(sent_to(&actions, 2), vec![&too_short(1, 5, 3)]);
    assert!(persist(&actions).is_none());
    assert_eq!(h.node.last_index(), LogIndex(2));
}

#[test]
fn s5_3_append_rejected_on_term_mismatch_with_first_index_of_that_term() {
    let mut h = Harness::restored(1, 3, state(2, None, &[1, 2, 2, 2]));
    let actions = h.receive(2, append(3, (4, 3), entries_at(5, &[3]), 0));
    assert_eq!(sent_to(&actions, 2), vec![&term_mismatch(3, 4, 2, 2)]);
    // Nothing but the new term changes.
    assert_eq!(persist(&actions).unwrap().hard_state, hard(3, None));
    assert!(persist(&actions).unwrap().append.is_none());
    assert_eq!(h.node.last_index(), LogIndex(4));
}

#[test]
fn s5_3_conflicting_suffix_is_truncated() {
    let mut h = Harness::restored(1, 3, state(2, None, &[1, 1, 2, 2, 2]));
    let actions = h.receive(2, append(3, (2, 1), entries_at(3, &[3]), 0));
    assert_eq!(sent_to(&actions, 2), vec![&matched(3, 3)]);
    assert_eq!(h.node.last_index(), LogIndex(3));
    assert_eq!(h.node.entry(LogIndex(3)).unwrap().term, Term(3));
    let change = persist(&actions).unwrap();
    assert_eq!(change.truncate_after, Some(LogIndex(2)));
    let append = change.append.as_ref().unwrap();
    assert_eq!(append.first_index, LogIndex(3));
    assert_eq!(append.entries, entries_at(3, &[3]));
}

#[test]
fn s5_3_stale_append_does_not_truncate() {
    let mut h = Harness::restored(1, 3, state(1, None, &[1, 1, 1, 1]));
    // Delayed copies of earlier requests of the same leader: each matches a prefix of what we
    // hold, so nothing is cut and nothing is rewritten.
    for (request, reply) in [
        (append(1, (1, 1), entries_at(2, &[1]), 0), matched(1, 2)),
        (heartbeat(1, (0, 0), 0), matched(1, 0)),
        (
            append(1, (0, 0), entries_at(1, &[1, 1, 1]), 0),
            matched(1, 3),
        ),
    ] {
        let actions = h.receive(2, request);
        assert_eq!(sent_to(&actions, 2), vec![&reply]);
        assert!(persist(&actions).is_none(), "{actions:?}");
        assert_eq!(h.node.last_index(), LogIndex(4));
    }
}

/// Regression: every heartbeat used to produce a `Persist` holding an empty append, i.e. a
/// durable write per heartbeat for a real embedding.
#[test]
fn s5_3_heartbeat_persists_nothing() {
    let mut h = Harness::restored(1, 3, state(1, None, &[1]));
    for commit in [0, 1, 1] {
        let actions = h.receive(2, heartbeat(1, (1, 1), commit));
        assert!(persist(&actions).is_none(), "{actions:?}");
        assert_eq!(sent_to(&actions, 2), vec![&matched(1, 1)]);
    }
}

#[test]
fn s5_3_follower_commit_is_bounded_by_last_new_entry() {
    // Entries 4 and 5 (term 2) come from a deposed leader and may still be overwritten: the
    // request only vouches for the log through its last entry, index 3.
    let mut h = Harness::restored(1, 3, state(2, None, &[1, 1, 1, 2, 2]));
    let actions = h.receive(2, append(3, (2, 1), entries_at(3, &[1]), 5));
    assert_eq!(h.node.commit_index(), LogIndex(3));
    assert_eq!(applied(&actions), vec![1, 2, 3]);
    assert_eq!(h.node.last_index(), LogIndex(5), "no conflict, nothing cut");
}

#[test]
fn s5_3_follower_applies_committed_entries_in_order_once() {
    let mut h = Harness::restored(1, 3, state(1, None, &[1, 1, 1, 1]));
    for (commit, expected) in [(2, vec![1, 2]), (2, vec![]), (1, vec![]), (4, vec![3, 4])] {
        let actions = h.receive(2, heartbeat(1, (4, 1), commit));
        assert_eq!(applied(&actions), expected, "leader_commit {commit}");
    }
    assert_eq!(h.node.last_applied(), LogIndex(4));
}

// ---------------------------------------------------------------------------------------------
// §5.3: log replication, leader side
// ---------------------------------------------------------------------------------------------

/// A leader of term 8 in a 3-node cluster whose log is Figure 7's leader log.
fn figure7_leader() -> Harness {
    let mut h = Harness::restored(1, 3, state(7, None, &[1, 1, 1, 4, 4, 5, 5, 6, 6, 6]));
    let actions = h.elect();
    assert_eq!(h.node.term(), Term(8));
    let probe = only_append_to(&actions, 2);
    assert_eq!(
        (probe.prev_log_index, probe.prev_log_term),
        (LogIndex(10), Term(6))
    );
    h
}

#[test]
fn s5_3_leader_backs_up_a_whole_term_per_rejection() {
    // (the follower's hint about the probe at 10, where the leader tries next)
    let cases = [
        (
            ConflictHint::TermMismatch {
                term: Term(2),
                first_index: LogIndex(4),
            },
            4,
        ),
        (
            ConflictHint::TermMismatch {
                term: Term(3),
                first_index: LogIndex(2),
            },
            2,
        ),
        (
            ConflictHint::TermMismatch {
                term: Term(4),
                first_index: LogIndex(4),
            },
            6,
        ),
        (
            ConflictHint::TermMismatch {
                term: Term(6),
                first_index: LogIndex(9),
            },
            10,
        ),
        (ConflictHint::LogTooShort { next: LogIndex(7) }, 7),
    ];
    for (hint, next) in cases {
        let mut h = figure7_leader();
        let reply = append_reply(
            8,
            AppendOutcome::Rejected {
                rejected: LogIndex(10),
                hint,
            },
        );
        let actions = h.receive(2, reply);
        let retry = only_append_to(&actions, 2);
        assert_eq!(retry.prev_log_index, LogIndex(next - 1), "{hint:?}");
        let expected_prev_term = h.node.entry(LogIndex(next - 1)).unwrap().term;
        assert_eq!(retry.prev_log_term, expected_prev_term);
        let expected_entries =
            entries_at(next, &[1, 1, 1, 4, 4, 5, 5, 6, 6, 6][next as usize - 1..]);
        assert_eq!(retry.entries, expected_entries, "{hint:?}");
    }
}

#[test]
fn s5_3_stale_or_duplicated_rejections_are_ignored() {
    let mut h = figure7_leader();
    h.receive(2, term_mismatch(8, 10, 2, 4));
    // A duplicate of the first rejection, and one for a probe never sent, change nothing.
    for reply in [term_mismatch(8, 10, 2, 4), too_short(8, 7, 1)] {
        let actions = h.receive(2, reply);
        assert!(actions.is_empty(), "{actions:?}");
    }
    // The answer to the outstanding probe (at 3) is acted on: it asked for entries 4..=10,
    // so a match through 10 leaves nothing more to send.
    let actions = h.receive(2, matched(8, 10));
    assert!(actions.is_empty(), "{actions:?}");
    assert_eq!(
        h.node.commit_index(),
        LogIndex(0),
        "old-term entries (§5.4.2)"
    );
}

#[test]
fn s5_3_leader_resends_lost_entries_on_the_next_heartbeat() {
    let mut h = Harness::fresh(1, 3);
    h.elect();
    let term = h.node.term().0;
    // The proposal waits for the answer to the first probe, which never comes.
    let actions = h.propose("x");
    assert!(sent_to(&actions, 2).is_empty());
    let heartbeat_ticks = h.node.config().heartbeat_ticks;
    let mut resent = Vec::new();
    for _ in 0..heartbeat_ticks {
        resent = h.tick();
    }
    for peer in [2, 3] {
        let m = only_append_to(&resent, peer);
        assert_eq!(m.entries, vec![raft_core::Entry::new(Term(term), cmd("x"))]);
        assert_eq!(m.prev_log_index, LogIndex(0));
    }
}

#[test]
fn s5_3_leader_commits_what_a_majority_holds_and_tells_followers() {
    let mut h = Harness::fresh(1, 5);
    h.elect();
    let term = h.node.term().0;
    for peer in 2..=5 {
        h.receive(peer, matched(term, 0)); // probes answered: replicate mode
    }
    let actions = h.propose("x");
    for peer in 2..=5 {
        assert_eq!(only_append_to(&actions, peer).entries.len(), 1);
    }
    let actions = h.receive(2, matched(term, 1));
    assert!(applied(&actions).is_empty(), "2 of 5 is not a majority");
    let actions = h.receive(3, matched(term, 1));
    assert_eq!(applied(&actions), vec![1]);
    assert_eq!(h.node.commit_index(), LogIndex(1));
    // Followers holding it are told at once (a commit notice); the others learn it from the
    // next message, here a heartbeat (leaderCommit, Figure 2).
    for peer in [2, 3] {
        assert_eq!(only_append_to(&actions, peer).leader_commit, LogIndex(1));
    }
    let mut beat = Vec::new();
    for _ in 0..h.node.config().heartbeat_ticks {
        beat = h.tick();
    }
    assert_eq!(only_append_to(&beat, 4).leader_commit, LogIndex(1));
}

#[test]
fn s5_3_leader_ignores_a_match_beyond_its_log() {
    let mut h = Harness::fresh(1, 3);
    h.elect();
    let term = h.node.term().0;
    h.propose("x");
    for reply in [matched(term, 99), install_reply(term, 99)] {
        let actions = h.receive(2, reply);
        assert!(actions.is_empty());
        assert_eq!(h.node.commit_index(), LogIndex(0));
    }
}

// ---------------------------------------------------------------------------------------------
// §5.4: safety
// ---------------------------------------------------------------------------------------------

#[test]
fn s5_4_1_vote_denied_to_less_up_to_date_log() {
    // Our log ends at index 5 in term 3.
    let cases = [
        ((9, 2), false), // longer but older last term
        ((4, 3), false), // same last term, shorter
        ((0, 0), false),
        ((5, 3), true), // identical
        ((6, 3), true),
        ((1, 4), true), // newer last term wins regardless of length
    ];
    for ((last_index, last_term), granted) in cases {
        let mut h = Harness::restored(1, 3, state(3, None, &[1, 1, 3, 3, 3]));
        let actions = h.receive(2, vote_request(4, last_index, last_term));
        assert_eq!(
            sent_to(&actions, 2),
            vec![&vote(4, granted)],
            "candidate log ends at ({last_index}, t{last_term})"
        );
        let expected_vote = granted.then_some(NodeId(2));
        assert_eq!(h.node.voted_for(), expected_vote);
    }
}

#[test]
fn s5_4_2_leader_does_not_commit_old_term_entries_by_counting() {
    // Figure 8: entry 2 of term 2 sits on a majority, yet committing it by counting could be
    // undone by a server that has term 3 at index 2. Only an entry of the current term,
    // once on a majority, commits itself and everything before it.
    let mut h = Harness::restored(1, 5, state(3, None, &[1, 2]));
    h.elect();
    assert_eq!(h.node.term(), Term(4));
    for peer in [2, 3, 4] {
        let actions = h.receive(peer, matched(4, 2));
        assert!(applied(&actions).is_empty());
        assert_eq!(h.node.commit_index(), LogIndex(0));
    }
    let actions = h.propose("current");
    assert_eq!(actions[0], persist_action(&actions));
    h.receive(2, matched(4, 3));
    let actions = h.receive(3, matched(4, 3));
    assert_eq!(h.node.commit_index(), LogIndex(3));
    assert_eq!(applied(&actions), vec![1, 2, 3]);
}

fn persist_action(actions: &[Action]) -> Action {
    Action::Persist(persist(actions).expect("a Persist").clone())
}

// ---------------------------------------------------------------------------------------------
// §7: log compaction
// ---------------------------------------------------------------------------------------------

/// A follower with a snapshot through 3 and entries 4..=6, having applied through 5.
fn follower_with_snapshot() -> Harness {
    let mut h = Harness::restored(1, 3, state_after_snapshot(2, None, (3, 1), &[1, 2, 2]));
    let actions = h.receive(2, heartbeat(2, (6, 2), 5));
    assert_eq!(applied(&actions), vec![4, 5]);
    h
}

#[test]
fn s7_snapshot_not_ahead_is_ignored() {
    for index in [0, 2, 3, 6, 7, u64::MAX] {
        let mut h = follower_with_snapshot();
        let actions = h.step(Event::Snapshot {
            index: LogIndex(index),
            data: cmd("s"),
        });
        assert!(actions.is_empty(), "snapshot at {index}: {actions:?}");
        assert_eq!(h.node.snapshot_index(), LogIndex(3));
    }
}

#[test]
fn s7_service_snapshot_discards_the_prefix_and_is_persisted() {
    let mut h = follower_with_snapshot();
    let actions = h.step(Event::Snapshot {
        index: LogIndex(5),
        data: cmd("s5"),
    });
    let expected = Snapshot {
        index: LogIndex(5),
        term: Term(2),
        data: cmd("s5"),
        membership: None,
    };
    assert_eq!(actions.len(), 1);
    let change = persist(&actions).unwrap();
    assert_eq!(change.snapshot, Some(expected));
    assert!(change.hard_state.is_none() && change.truncate_after.is_none());
    assert_eq!(h.node.snapshot_index(), LogIndex(5));
    assert_eq!(h.node.log_len(), 1);
    assert!(h.node.entry(LogIndex(5)).is_none());
    assert!(h.node.entry(LogIndex(6)).is_some());
}

#[test]
fn s7_install_snapshot_replaces_a_conflicting_log() {
    let mut h = Harness::restored(1, 3, state(2, None, &[1, 1, 2]));
    let actions = h.receive(2, install(3, (5, 3), "S"));
    let change = persist(&actions).unwrap();
    assert_eq!(change.hard_state, hard(3, None));
    assert_eq!(change.truncate_after, Some(LogIndex(5)));
    assert_eq!(
        change.snapshot.as_ref().map(|s| (s.index, s.term)),
        Some((LogIndex(5), Term(3)))
    );
    assert_eq!(
        actions[1..],
        [
            Action::ApplySnapshot {
                index: LogIndex(5),
                term: Term(3),
                data: cmd("S")
            },
            Action::Send {
                to: NodeId(2),
                message: install_reply(3, 5)
            },
        ]
    );
    assert_eq!((h.node.last_index(), h.node.log_len()), (LogIndex(5), 0));
    assert_eq!(
        (h.node.commit_index(), h.node.last_applied()),
        (LogIndex(5), LogIndex(5))
    );
    assert_eq!(h.node.last_term(), Term(3));
}

#[test]
fn s7_install_snapshot_keeps_a_matching_tail() {
    let mut h = Harness::restored(1, 3, state(1, None, &[1, 1, 1, 1, 1]));
    let actions = h.receive(2, install(1, (3, 1), "S"));
    assert!(actions.iter().any(|a| matches!(
        a,
        Action::ApplySnapshot {
            index: LogIndex(3),
            ..
        }
    )));
    assert_eq!(persist(&actions).unwrap().truncate_after, None);
    assert_eq!((h.node.last_index(), h.node.log_len()), (LogIndex(5), 2));
    // The kept entries apply after the snapshot once committed.
    let actions = h.receive(2, heartbeat(1, (5, 1), 5));
    assert_eq!(applied(&actions), vec![4, 5]);
}

#[test]
fn s7_install_snapshot_behind_commit_is_acknowledged_not_installed() {
    let mut h = Harness::restored(1, 3, state(1, None, &[1, 1, 1, 1]));
    h.receive(2, heartbeat(1, (4, 1), 4));
    let actions = h.receive(2, install(1, (3, 1), "S"));
    assert_eq!(
        actions,
        vec![Action::Send {
            to: NodeId(2),
            message: install_reply(1, 3)
        }]
    );
    assert_eq!(h.node.snapshot_index(), LogIndex(0));
}

#[test]
fn s7_append_overlapping_the_snapshot_is_trimmed() {
    let mut h = Harness::restored(1, 3, state_after_snapshot(2, None, (5, 2), &[]));
    // Entries 1..=3 lie inside the snapshot: acknowledged, nothing stored.
    let actions = h.receive(2, append(2, (0, 0), entries_at(1, &[1, 1, 2]), 0));
    assert_eq!(sent_to(&actions, 2), vec![&matched(2, 3)]);
    assert!(persist(&actions).is_none());
    // Entries 4..=7: only 6 and 7 are new.
    let actions = h.receive(2, append(2, (3, 2), entries_at(4, &[2, 2, 2, 2]), 7));
    assert_eq!(sent_to(&actions, 2), vec![&matched(2, 7)]);
    let append = persist(&actions).unwrap().append.clone().unwrap();
    assert_eq!(append.first_index, LogIndex(6));
    assert_eq!(append.entries.len(), 2);
    assert_eq!(applied(&actions), vec![6, 7]);
}

#[test]
fn s7_leader_sends_its_snapshot_for_discarded_entries() {
    let mut h = Harness::restored(1, 3, state_after_snapshot(3, None, (5, 2), &[3, 3]));
    h.elect();
    let actions = h.receive(2, too_short(4, 7, 2));
    assert_eq!(only_message_to(&actions, 2), install(4, (5, 2), "snapshot"));
    // While the snapshot travels, heartbeats only assert leadership.
    let mut beat = Vec::new();
    for _ in 0..h.node.config().heartbeat_ticks {
        beat = h.tick();
    }
    let m = only_append_to(&beat, 2);
    assert!(m.entries.is_empty());
    // Once it is in, replication resumes after it.
    let actions = h.receive(2, install_reply(4, 5));
    let m = only_append_to(&actions, 2);
    assert_eq!((m.prev_log_index, m.prev_log_term), (LogIndex(5), Term(2)));
    assert_eq!(m.entries, entries_at(6, &[3, 3]));
}

// ---------------------------------------------------------------------------------------------
// Persistence: what must be durable before the node speaks (Figure 2, "persistent state")
// ---------------------------------------------------------------------------------------------

/// Asserts a `Persist` with `check` comes before the first action matching `later`.
#[track_caller]
fn assert_persisted_before(actions: &[Action], later: impl Fn(&Action) -> bool) {
    let persist_at = position(actions, |a| matches!(a, Action::Persist(_))).expect("a Persist");
    let later_at = position(actions, later).expect("the later action");
    assert!(persist_at < later_at, "{actions:#?}");
}

#[test]
fn persist_precedes_vote_reply() {
    let mut h = Harness::restored(1, 3, state(1, None, &[]));
    let actions = h.receive(2, vote_request(2, 0, 0));
    assert_eq!(persist(&actions).unwrap().hard_state, hard(2, Some(2)));
    assert_persisted_before(&actions, |a| matches!(a, Action::Send { .. }));
}

#[test]
fn persist_precedes_request_vote() {
    let mut h = Harness::fresh(1, 3);
    let actions = h.tick_until_candidate();
    assert_eq!(persist(&actions).unwrap().hard_state, hard(1, Some(1)));
    assert_persisted_before(&actions, |a| matches!(a, Action::Send { .. }));
}

#[test]
fn persist_precedes_append_ack() {
    let mut h = Harness::restored(1, 3, state(1, None, &[]));
    let actions = h.receive(2, append(1, (0, 0), entries_at(1, &[1, 1]), 0));
    let append = persist(&actions).unwrap().append.as_ref().unwrap();
    assert_eq!(append.entries.len(), 2);
    assert_persisted_before(&actions, |a| matches!(a, Action::Send { .. }));
}

#[test]
fn persist_precedes_snapshot_ack() {
    let mut h = Harness::restored(1, 3, state(1, None, &[]));
    let actions = h.receive(2, install(1, (4, 1), "S"));
    assert!(persist(&actions).unwrap().snapshot.is_some());
    assert_persisted_before(&actions, |a| matches!(a, Action::ApplySnapshot { .. }));
    assert_persisted_before(&actions, |a| matches!(a, Action::Send { .. }));
}

#[test]
fn persist_precedes_leader_send_of_new_entry() {
    let mut h = Harness::fresh(1, 3);
    h.elect();
    let term = h.node.term().0;
    h.receive(2, matched(term, 0));
    let actions = h.propose("x");
    let append = persist(&actions).unwrap().append.as_ref().unwrap();
    assert_eq!(append.first_index, LogIndex(1));
    assert_persisted_before(
        &actions,
        |a| matches!(a, Action::Send { message: Message::AppendEntries(m), .. } if !m.entries.is_empty()),
    );
}

#[test]
fn restarted_node_keeps_its_vote_and_log() {
    let mut h = Harness::restored(1, 3, state(4, None, &[1, 4]));
    h.receive(2, vote_request(5, 2, 4));
    let bytes = h.durable.encode();
    let restored = PersistentState::decode(&bytes).unwrap();
    let mut again = Harness::restored(1, 3, restored);
    assert_eq!(
        (again.node.term(), again.node.voted_for()),
        (Term(5), Some(NodeId(2)))
    );
    assert_eq!(again.node.last_index(), LogIndex(2));
    let actions = again.receive(3, vote_request(5, 9, 5));
    assert_eq!(
        sent_to(&actions, 3),
        vec![&vote(5, false)],
        "one vote per term, even across a crash"
    );
    let actions = again.receive(2, vote_request(5, 2, 4));
    assert_eq!(sent_to(&actions, 2), vec![&vote(5, true)]);
}

// ---------------------------------------------------------------------------------------------
// The client interface
// ---------------------------------------------------------------------------------------------

#[test]
fn proposal_answered_in_same_step() {
    let mut leader = Harness::fresh(1, 3);
    leader.elect();
    let term = leader.node.term();
    let mut follower = Harness::fresh(1, 3);
    follower.receive(2, heartbeat(1, (0, 0), 0));
    let mut candidate = Harness::fresh(1, 3);
    candidate.tick_until_candidate();
    let fresh = Harness::fresh(1, 3);

    let cases = [
        (
            leader,
            Action::Proposed {
                index: LogIndex(1),
                term,
            },
        ),
        (
            follower,
            Action::NotLeader {
                leader_hint: Some(NodeId(2)),
            },
        ),
        (candidate, Action::NotLeader { leader_hint: None }),
        (fresh, Action::NotLeader { leader_hint: None }),
    ];
    for (mut h, answer) in cases {
        let actions = h.propose("x");
        let answers: Vec<&Action> = actions
            .iter()
            .filter(|a| matches!(a, Action::Proposed { .. } | Action::NotLeader { .. }))
            .collect();
        assert_eq!(answers, vec![&answer]);
        if matches!(answer, Action::NotLeader { .. }) {
            assert_eq!(actions.len(), 1, "a refused proposal changes nothing");
        }
    }
}

#[test]
fn invalid_configurations_are_refused() {
    let base = config(1, 3);
    let cases = [
        (
            Config {
                id: NodeId(7),
                ..base.clone()
            },
            ConfigError::SelfNotInPeers,
        ),
        (
            Config {
                peers: vec![NodeId(1), NodeId(2), NodeId(2)],
                ..base.clone()
            },
            ConfigError::DuplicatePeer,
        ),
        (
            Config {
                heartbeat_ticks: 0,
                ..base.clone()
            },
            ConfigError::ZeroHeartbeat,
        ),
        (
            Config {
                election_ticks_min: 10,
                ..base.clone()
            },
            ConfigError::ElectionTimeoutRange,
        ),
        (
            Config {
                election_ticks_max: 30,
                ..base.clone()
            },
            ConfigError::ElectionTimeoutRange,
        ),
        (
            Config {
                max_entries_per_message: 0,
                ..base.clone()
            },
            ConfigError::ZeroLimit,
        ),
        (
            Config {
                max_bytes_per_message: 0,
                ..base.clone()
            },
            ConfigError::ZeroLimit,
        ),
        (
            Config {
                max_inflight_messages: 0,
                ..base.clone()
            },
            ConfigError::ZeroLimit,
        ),
    ];
    for (config, error) in cases {
        assert_eq!(RaftNode::new(config, None).err(), Some(error));
    }
    assert!(RaftNode::new(base, None).is_ok());
}

#[test]
fn inconsistent_restored_state_is_refused() {
    let bad = [
        state(1, None, &[1, 2]), // entry newer than the current term
        state(3, None, &[2, 1]), // terms going backwards
        state_after_snapshot(3, None, (4, 3), &[2]), // entry older than the snapshot
        state_after_snapshot(1, None, (4, 3), &[]), // snapshot newer than the current term
    ];
    for state in bad {
        let result = RaftNode::new(config(1, 3), Some(state.clone()));
        assert!(
            matches!(result, Err(ConfigError::Restored(_))),
            "accepted {state:?}"
        );
    }
}
