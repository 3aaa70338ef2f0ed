//! One test per rule of the production features, each named after the section of Ongaro's
//! thesis it checks: PreVote (§9.6), CheckQuorum (§6.2) and leader stickiness (§4.2.3),
//! leadership transfer (§3.10), ReadIndex (§6.4) and lease reads (§6.4.1). Like
//! `figure2_rules.rs`, a node is driven by hand-made messages (or a few nodes by the in-memory
//! cluster) and its actions inspected; `Harness` checks every `Persist` as it goes.

mod support;

use raft_core::{
    Action, Config, ConfigError, Event, LogIndex, Message, NodeId, Refusal, RoleKind, Term,
};
use support::*;

/// Node `id` of `1..=n`, with `features` applied to the default configuration.
fn with(id: u64, n: u64, features: impl FnOnce(&mut Config)) -> Config {
    let mut config = config(id, n);
    features(&mut config);
    config
}

fn pre_vote_on(c: &mut Config) {
    c.pre_vote = true;
}

fn check_quorum_on(c: &mut Config) {
    c.check_quorum = true;
}

fn read_index_on(c: &mut Config) {
    c.read_index = true;
}

fn lease_on(c: &mut Config) {
    c.check_quorum = true;
    c.read_index = true;
    c.lease_reads = true;
}

fn read_ready(actions: &[Action]) -> Vec<(u64, u64)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::ReadReady { id, index } => Some((*id, index.0)),
            _ => None,
        })
        .collect()
}

fn read_failed(actions: &[Action]) -> Vec<(u64, Refusal)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::ReadFailed { id, reason } => Some((*id, *reason)),
            _ => None,
        })
        .collect()
}

/// The rounds of numbered heartbeats sent to `to`.
fn rounds_to(actions: &[Action], to: u64) -> Vec<u64> {
    sent_to(actions, to)
        .into_iter()
        .filter_map(|m| match m {
            Message::Heartbeat(h) => Some(h.round),
            _ => None,
        })
        .collect()
}

/// Ticks the harness `n` times, returning every action.
fn ticks(h: &mut Harness, n: u32) -> Vec<Action> {
    (0..n).flat_map(|_| h.tick()).collect()
}

// ---------------------------------------------------------------------------------------------
// §9.6: PreVote
// ---------------------------------------------------------------------------------------------

#[test]
fn s9_6_a_timed_out_node_asks_for_pre_votes_without_raising_its_term() {
    let mut h = Harness::with_config(with(1, 3, pre_vote_on), Some(state(4, Some(2), &[1, 4])));
    let actions = h.tick_until_candidate();
    assert_eq!(h.node.role(), RoleKind::PreCandidate);
    assert_eq!(h.node.term(), Term(4), "the term is not raised");
    assert_eq!(h.node.voted_for(), Some(NodeId(2)), "nor the vote changed");
    assert!(persist(&actions).is_none(), "nothing to persist");
    assert_eq!(h.node.leader_hint(), None);
    for peer in [2, 3] {
        assert_eq!(only_message_to(&actions, peer), pre_vote_request(5, 2, 4));
    }
}

#[test]
fn s9_6_a_pre_vote_is_granted_without_changing_term_vote_or_timer() {
    let timeout = 40;
    let config = Config {
        election_ticks_min: timeout,
        election_ticks_max: timeout + 1,
        ..with(2, 3, pre_vote_on)
    };
    let mut h = Harness::with_config(config, Some(state(3, Some(3), &[1, 3])));
    ticks(&mut h, timeout - 5);
    let actions = h.receive(1, pre_vote_request(4, 2, 3));
    assert_eq!(only_message_to(&actions, 1), pre_vote(4, true));
    assert!(persist(&actions).is_none());
    assert_eq!(
        (h.node.term(), h.node.voted_for()),
        (Term(3), Some(NodeId(3)))
    );
    // The timer was not reset: the node still stands 5 ticks later.
    ticks(&mut h, 4);
    assert_eq!(h.node.role(), RoleKind::Follower);
    h.tick();
    assert_eq!(h.node.role(), RoleKind::PreCandidate);
}

#[test]
fn s9_6_a_pre_vote_is_refused_for_a_stale_log_or_term() {
    // (the pre-vote, what n2 answers)
    let cases = [
        (pre_vote_request(4, 1, 3), pre_vote(3, false)), // shorter log, same last term
        (pre_vote_request(4, 5, 2), pre_vote(3, false)), // older last term
        (pre_vote_request(3, 2, 3), pre_vote(3, false)), // not a newer term
        (pre_vote_request(2, 9, 3), pre_vote(3, false)), // an older term (answered stale)
        (pre_vote_request(4, 2, 3), pre_vote(4, true)),  // as up-to-date: granted
    ];
    for (request, expected) in cases {
        let mut h = Harness::with_config(with(2, 3, pre_vote_on), Some(state(3, None, &[1, 3])));
        let actions = h.receive(1, request.clone());
        assert_eq!(only_message_to(&actions, 1), expected, "{request:?}");
        assert_eq!(h.node.term(), Term(3), "{request:?}");
    }
}

#[test]
fn s9_6_a_majority_of_pre_votes_starts_the_real_election() {
    let mut h = Harness::with_config(with(1, 5, pre_vote_on), Some(state(2, None, &[1])));
    h.tick_until_candidate();
    let actions = h.receive(2, pre_vote(3, true));
    assert_eq!(
        h.node.role(),
        RoleKind::PreCandidate,
        "2 of 5 is not a majority"
    );
    assert!(sends(&actions).is_empty());
    h.receive(2, pre_vote(3, true)); // counted once
    assert_eq!(h.node.role(), RoleKind::PreCandidate);
    let actions = h.receive(4, pre_vote(3, true));
    assert_eq!(h.node.role(), RoleKind::Candidate);
    assert_eq!(
        (h.node.term(), h.node.voted_for()),
        (Term(3), Some(NodeId(1)))
    );
    assert_eq!(persist(&actions).unwrap().hard_state.unwrap().term, Term(3));
    assert_eq!(only_message_to(&actions, 5), vote_request(3, 1, 1));
}

#[test]
fn s9_6_a_refusal_with_a_newer_term_is_adopted_but_a_grant_is_not() {
    let mut h = Harness::with_config(with(1, 3, pre_vote_on), Some(state(1, None, &[1])));
    h.tick_until_candidate();
    // A grant carries the pre-vote's term, which nobody holds: it changes nothing.
    h.receive(2, pre_vote(7, true)); // and it is for another round: not counted
    assert_eq!(
        (h.node.term(), h.node.role()),
        (Term(1), RoleKind::PreCandidate)
    );
    // A refusal from a node at term 5 teaches us its term (etcd issue 8243).
    let actions = h.receive(3, pre_vote(5, false));
    assert_eq!(
        (h.node.term(), h.node.role()),
        (Term(5), RoleKind::Follower)
    );
    assert_eq!(persist(&actions).unwrap().hard_state.unwrap().term, Term(5));
}

#[test]
fn s9_6_a_late_grant_after_the_round_is_ignored() {
    let mut h = Harness::with_config(with(1, 3, pre_vote_on), Some(state(1, None, &[1])));
    h.tick_until_candidate();
    h.receive(2, pre_vote(2, true));
    assert_eq!(
        (h.node.role(), h.node.term()),
        (RoleKind::Candidate, Term(2))
    );
    let actions = h.receive(3, pre_vote(2, true));
    assert_eq!(h.node.role(), RoleKind::Candidate);
    assert!(actions.is_empty());
}

/// Three nodes with `features`: a leader, and a follower cut off for ten election timeouts
/// and then brought back, whose timer fires just before the leader's next heartbeat would
/// reach it. The cluster commits a command while it is away if `progress`. Returns whether
/// the leader kept its office and term, and the returning node's term before it came back.
fn rejoin(features: fn(&mut Config), progress: bool) -> (bool, Term) {
    let configs = (1..=3).map(|id| with(id, 3, features)).collect();
    let mut c = Cluster::with_configs(configs);
    let leader = c.wait_for_leader();
    c.run(40); // past every node's start-up quiet time
    let term = c.node(leader).term();
    let lonely = c.ids.iter().copied().find(|&id| id != leader).unwrap();
    c.isolate(lonely);
    if progress {
        c.propose(leader, cmd("while away"));
    }
    c.run(600);
    let away_term = c.node(lonely).term();
    // Bring it back the moment its timer fires, before any heartbeat reaches it.
    c.heal();
    let before = c.node(lonely).term();
    while c.node(lonely).term() == before && c.node(lonely).role() == RoleKind::Follower {
        c.tick(lonely);
    }
    c.deliver_all();
    c.run(200);
    let kept = c.leader() == Some(leader) && c.node(leader).term() == term;
    (kept, away_term)
}

#[test]
fn s9_6_a_returning_node_behind_the_cluster_does_not_depose_the_leader() {
    let (kept, away_term) = rejoin(pre_vote_on, true);
    assert!(kept, "the leader was deposed");
    assert!(
        away_term <= Term(2),
        "pre-votes never succeed alone: {away_term}"
    );
    // Without PreVote, the same return costs an election.
    let (kept, away_term) = rejoin(|_| {}, true);
    assert!(!kept && away_term > Term(5), "{away_term}");
}

#[test]
fn s9_6_with_an_equal_log_only_stickiness_keeps_the_leader() {
    // Nothing was committed while it was away: its log is as up-to-date as anyone's, so the
    // others grant its pre-vote unless they refuse while they hear from the leader.
    let (kept, _) = rejoin(pre_vote_on, false);
    assert!(!kept, "PreVote alone grants an equal log");
    let (kept, _) = rejoin(
        |c| {
            c.pre_vote = true;
            c.check_quorum = true;
        },
        false,
    );
    assert!(kept, "stickiness refuses it");
}

// ---------------------------------------------------------------------------------------------
// §6.2: CheckQuorum
// ---------------------------------------------------------------------------------------------

#[test]
fn s6_2_a_leader_that_hears_from_no_majority_steps_down() {
    let config = with(1, 3, check_quorum_on);
    let window = config.election_ticks_max;
    let mut h = Harness::with_config(config, Some(state(1, None, &[1])));
    h.elect();
    let term = h.node.term();
    let mut ticked = 0;
    while h.node.is_leader() {
        h.tick();
        ticked += 1;
        assert!(ticked <= 2 * window, "still leading after {ticked} ticks");
    }
    assert!(ticked >= window, "stepped down after {ticked} ticks");
    assert_eq!(h.node.role(), RoleKind::Follower);
    assert_eq!(h.node.term(), term, "stepping down changes no term");
    assert_eq!(h.node.leader_hint(), None);
}

#[test]
fn s6_2_a_leader_that_hears_from_a_majority_stays() {
    let config = with(1, 3, check_quorum_on);
    let window = config.election_ticks_max;
    let mut h = Harness::with_config(config, Some(state(1, None, &[1])));
    h.elect();
    let term = h.node.term().0;
    for _ in 0..10 * window {
        h.tick();
        h.receive(2, matched(term, 1)); // n2 answers; n3 never does
    }
    assert!(h.node.is_leader());
}

#[test]
fn s6_2_without_check_quorum_a_lonely_leader_stays() {
    let mut h = Harness::restored(1, 3, state(1, None, &[1]));
    h.elect();
    ticks(&mut h, 1000);
    assert!(h.node.is_leader());
}

// ---------------------------------------------------------------------------------------------
// §4.2.3: leader stickiness (with CheckQuorum)
// ---------------------------------------------------------------------------------------------

/// A follower of n1 at term 3 that has just heard from it, its clock well past startup.
fn sticky_follower(features: fn(&mut Config)) -> Harness {
    let mut h = Harness::with_config(with(2, 3, features), Some(state(3, None, &[1, 3])));
    for _ in 0..100 {
        h.tick();
        h.receive(1, heartbeat(3, (2, 3), 2));
    }
    h
}

#[test]
fn s4_2_3_a_follower_that_hears_from_the_leader_ignores_votes_and_pre_votes() {
    let mut h = sticky_follower(|c| {
        c.check_quorum = true;
        c.pre_vote = true;
    });
    for request in [
        vote_request(4, 9, 3),
        vote_request(3, 9, 3),
        pre_vote_request(4, 9, 3),
    ] {
        let actions = h.receive(3, request.clone());
        assert!(actions.is_empty(), "{request:?}: ignored, not answered");
        assert_eq!(
            h.node.term(),
            Term(3),
            "{request:?}: its term is not adopted"
        );
    }
    // Once the minimum election timeout has passed without the leader, it votes again.
    let min = h.node.config().election_ticks_min;
    ticks(&mut h, min);
    let actions = h.receive(3, vote_request(4, 9, 3));
    assert_eq!(only_message_to(&actions, 3), vote(4, true));
}

#[test]
fn s4_2_3_a_newer_term_learned_elsewhere_does_not_end_stickiness() {
    let mut h = sticky_follower(check_quorum_on);
    // A reply from an old exchange teaches n2 term 6: it follows nobody now...
    h.receive(3, vote(6, false));
    assert_eq!((h.node.term(), h.node.leader_hint()), (Term(6), None));
    // ...but it heard from a leader moments ago, so it votes for nobody yet.
    assert!(h.receive(3, vote_request(6, 9, 3)).is_empty());
    assert!(h.receive(3, vote_request(7, 9, 3)).is_empty());
}

#[test]
fn s4_2_3_a_leader_and_a_node_that_just_started_ignore_votes() {
    let mut leader = Harness::with_config(with(1, 3, check_quorum_on), Some(state(1, None, &[1])));
    leader.elect();
    assert!(leader.receive(2, vote_request(9, 9, 9)).is_empty());
    assert!(leader.node.is_leader());
    let mut fresh = Harness::with_config(with(2, 3, check_quorum_on), Some(state(3, None, &[])));
    assert!(fresh.receive(3, vote_request(4, 0, 0)).is_empty());
    let min = fresh.node.config().election_ticks_min;
    ticks(&mut fresh, min);
    let actions = fresh.receive(3, vote_request(4, 0, 0));
    assert_eq!(only_message_to(&actions, 3), vote(4, true));
}

#[test]
fn s4_2_3_a_transfer_vote_gets_through_stickiness() {
    let mut h = sticky_follower(check_quorum_on);
    let actions = h.receive(3, transfer_vote_request(4, 2, 3));
    assert_eq!(only_message_to(&actions, 3), vote(4, true));
    assert_eq!(
        (h.node.term(), h.node.voted_for()),
        (Term(4), Some(NodeId(3)))
    );
}

#[test]
fn s4_2_3_without_check_quorum_there_is_no_stickiness() {
    let mut h = sticky_follower(pre_vote_on);
    let actions = h.receive(3, pre_vote_request(4, 2, 3));
    assert_eq!(only_message_to(&actions, 3), pre_vote(4, true));
    let actions = h.receive(3, vote_request(4, 2, 3));
    assert_eq!(only_message_to(&actions, 3), vote(4, true));
}

// ---------------------------------------------------------------------------------------------
// §3.10: leadership transfer
// ---------------------------------------------------------------------------------------------

/// n1 leads term 2 of three nodes; n2 holds its whole log, n3 only index 1.
fn leader_with_followers() -> Harness {
    let mut h = Harness::restored(1, 3, state(1, None, &[1]));
    h.elect();
    h.propose("x");
    h.receive(2, matched(2, 2));
    h.receive(3, matched(2, 1));
    h
}

fn transfer(h: &mut Harness, to: u64) -> Vec<Action> {
    h.step(Event::TransferLeader { to: NodeId(to) })
}

#[test]
fn s3_10_a_transfer_to_an_up_to_date_follower_sends_timeout_now_and_refuses_proposals() {
    let mut h = leader_with_followers();
    let actions = transfer(&mut h, 2);
    assert_eq!(only_message_to(&actions, 2), timeout_now(2));
    assert_eq!(h.node.transfer_target(), Some(NodeId(2)));
    let actions = h.propose("y");
    let refused = Refusal::Transferring { to: NodeId(2) };
    assert_eq!(actions, [Action::Refused { reason: refused }]);
    assert_eq!(h.node.last_index(), LogIndex(2), "nothing appended");
    let actions = h.step(Event::ProposeBatch {
        commands: vec![cmd("z")],
    });
    assert_eq!(actions, [Action::Refused { reason: refused }]);
}

#[test]
fn s3_10_a_lagging_target_is_brought_up_to_date_first() {
    let mut h = leader_with_followers();
    let actions = transfer(&mut h, 3);
    let sent = sent_to(&actions, 3);
    assert!(
        sent.iter().all(|m| matches!(m, Message::AppendEntries(_))),
        "entries, not TimeoutNow yet: {sent:?}"
    );
    let actions = h.receive(3, matched(2, 2));
    assert_eq!(only_message_to(&actions, 3), timeout_now(2));
}

#[test]
fn s3_10_a_transfer_that_does_not_complete_is_abandoned_after_an_election_timeout() {
    let mut h = leader_with_followers();
    transfer(&mut h, 2);
    let limit = h.node.config().election_ticks_max;
    let actions = ticks(&mut h, limit - 1);
    assert_eq!(h.node.transfer_target(), Some(NodeId(2)));
    assert!(
        sent_to(&actions, 2).contains(&&timeout_now(2)),
        "TimeoutNow is sent again at heartbeats"
    );
    h.tick();
    assert_eq!(h.node.transfer_target(), None);
    assert!(h.node.is_leader());
    assert!(h
        .propose("y")
        .iter()
        .any(|a| matches!(a, Action::Proposed { .. })));
}

#[test]
fn s3_10_timeout_now_starts_an_election_at_once_skipping_pre_vote() {
    let config = with(2, 3, |c| {
        c.pre_vote = true;
        c.check_quorum = true;
    });
    let mut h = Harness::with_config(config, Some(state(2, None, &[1, 2])));
    h.receive(1, heartbeat(2, (2, 2), 2));
    let actions = h.receive(1, timeout_now(2));
    assert_eq!(h.node.role(), RoleKind::Candidate);
    assert_eq!(
        (h.node.term(), h.node.voted_for()),
        (Term(3), Some(NodeId(2)))
    );
    assert_eq!(only_message_to(&actions, 3), transfer_vote_request(3, 2, 2));
    // A TimeoutNow of an older term is stale.
    let actions = h.receive(1, timeout_now(2));
    assert!(actions.is_empty());
    assert_eq!(h.node.term(), Term(3));
}

#[test]
fn s3_10_a_transfer_is_refused_by_a_non_leader_or_for_a_stranger() {
    let mut follower = Harness::restored(2, 3, state(1, None, &[]));
    follower.receive(1, heartbeat(1, (0, 0), 0));
    let actions = transfer(&mut follower, 3);
    let not_leader = Refusal::NotLeader {
        leader_hint: Some(NodeId(1)),
    };
    assert_eq!(actions, [Action::Refused { reason: not_leader }]);
    let mut leader = leader_with_followers();
    let actions = transfer(&mut leader, 9);
    let unknown = Refusal::UnknownPeer;
    assert_eq!(actions, [Action::Refused { reason: unknown }]);
    assert!(
        transfer(&mut leader, 1).is_empty(),
        "to itself: nothing to do"
    );
    assert_eq!(leader.node.transfer_target(), None);
}

#[test]
fn s3_10_in_a_cluster_the_target_takes_over_even_with_stickiness() {
    let configs = (1..=3)
        .map(|id| {
            with(id, 3, |c| {
                c.pre_vote = true;
                c.check_quorum = true;
            })
        })
        .collect();
    let mut c = Cluster::with_configs(configs);
    let leader = c.wait_for_leader();
    c.propose(leader, cmd("x"));
    c.run(20);
    let target = c.ids.iter().copied().find(|&id| id != leader).unwrap();
    let term = c.node(leader).term();
    c.step(leader, Event::TransferLeader { to: target });
    c.deliver_all();
    assert_eq!(c.leader(), Some(target));
    assert_eq!(c.node(target).term(), term.next());
    assert!(!c.node(leader).is_leader());
}

// ---------------------------------------------------------------------------------------------
// §6.4: ReadIndex
// ---------------------------------------------------------------------------------------------

fn read(h: &mut Harness, id: u64) -> Vec<Action> {
    h.step(Event::ReadIndex { id })
}

/// n1 leads term 2 of three nodes with ReadIndex; its no-op (index 2) is not committed yet.
fn read_leader(features: fn(&mut Config)) -> Harness {
    let mut h = Harness::with_config(with(1, 3, features), Some(state(1, None, &[1])));
    h.elect();
    h
}

#[test]
fn s6_4_a_new_leader_appends_a_no_op_of_its_term_only_with_read_index() {
    let h = read_leader(read_index_on);
    assert_eq!(h.node.last_index(), LogIndex(2));
    let noop = h.node.entry(LogIndex(2)).unwrap();
    assert_eq!((noop.term, noop.command.len()), (Term(2), 0));
    let plain = read_leader(|_| {});
    assert_eq!(
        plain.node.last_index(),
        LogIndex(1),
        "the lab's numbering is untouched"
    );
}

#[test]
fn s6_4_a_read_waits_for_a_commit_of_the_leaders_term_and_a_heartbeat_round() {
    let mut h = read_leader(read_index_on);
    let actions = read(&mut h, 7);
    assert!(read_ready(&actions).is_empty());
    assert_eq!(rounds_to(&actions, 2), [1], "a round leaves at once");
    // A majority answers the round, but the no-op is not committed: no index yet.
    let actions = h.receive(2, round_reply(2, 1));
    assert!(read_ready(&actions).is_empty());
    // The no-op commits: the read index is the commit index, and it is applied.
    let actions = h.receive(2, matched(2, 2));
    assert_eq!(read_ready(&actions), [(7, 2)]);
    let ready = position(&actions, |a| matches!(a, Action::ReadReady { .. })).unwrap();
    let applied = position(&actions, |a| matches!(a, Action::Apply { .. })).unwrap();
    assert!(
        applied < ready,
        "ReadReady comes after the Apply it depends on"
    );
}

#[test]
fn s6_4_reads_share_a_round_and_only_one_round_is_in_flight() {
    let mut h = read_leader(read_index_on);
    h.receive(2, matched(2, 2)); // the no-op commits
    let actions = h.step_many_of([Event::ReadIndex { id: 1 }, Event::ReadIndex { id: 2 }]);
    assert_eq!(rounds_to(&actions, 3), [1], "one round for both");
    let actions = read(&mut h, 3);
    assert!(
        rounds_to(&actions, 3).is_empty(),
        "round 1 is in flight: read 3 waits"
    );
    let actions = h.receive(3, round_reply(2, 1));
    assert_eq!(read_ready(&actions), [(1, 2), (2, 2)]);
    assert_eq!(rounds_to(&actions, 2), [2], "then read 3's round leaves");
    let actions = h.receive(2, round_reply(2, 2));
    assert_eq!(read_ready(&actions), [(3, 2)]);
}

#[test]
fn s6_4_only_an_answer_to_a_round_sent_after_the_read_confirms_it() {
    let mut h = read_leader(read_index_on);
    h.receive(2, matched(2, 2));
    read(&mut h, 1);
    h.receive(2, round_reply(2, 1)); // round 1 confirmed
    read(&mut h, 2); // needs round 2
    let actions = h.receive(3, round_reply(2, 1));
    assert!(
        read_ready(&actions).is_empty(),
        "round 1 left before read 2"
    );
    let actions = h.receive(3, round_reply(2, 0));
    assert!(
        read_ready(&actions).is_empty(),
        "round 0 (a refusal) confirms nothing"
    );
    let actions = h.receive(3, round_reply(2, 9));
    assert!(
        read_ready(&actions).is_empty(),
        "a round never sent confirms nothing"
    );
}

#[test]
fn s6_4_a_leader_that_steps_down_fails_its_reads() {
    let mut h = read_leader(read_index_on);
    read(&mut h, 5);
    let actions = h.receive(2, vote(3, false));
    assert_eq!(read_failed(&actions), [(5, Refusal::LeaderChanged)]);
}

#[test]
fn s6_4_a_follower_forwards_the_read_and_serves_it_at_the_returned_index() {
    let mut h = Harness::with_config(with(2, 3, read_index_on), Some(state(2, None, &[1, 2])));
    h.receive(1, heartbeat(2, (2, 2), 1));
    let actions = read(&mut h, 8);
    assert_eq!(only_message_to(&actions, 1), forwarded_read(2, 8));
    // The leader answers index 2, which we have but not yet applied (commit is 1).
    let actions = h.receive(1, read_response(2, 8, Some(2)));
    assert!(read_ready(&actions).is_empty());
    let actions = h.receive(1, heartbeat(2, (2, 2), 2));
    assert_eq!(read_ready(&actions), [(8, 2)]);
    // An answer nobody asked for is ignored.
    assert!(read_ready(&h.receive(1, read_response(2, 8, Some(2)))).is_empty());
}

#[test]
fn s6_4_a_leader_confirms_a_forwarded_read_and_answers_with_its_index() {
    let mut h = read_leader(read_index_on);
    h.receive(2, matched(2, 2));
    let actions = h.receive(3, forwarded_read(2, 4));
    assert_eq!(rounds_to(&actions, 3), [1]);
    let actions = h.receive(2, round_reply(2, 1));
    assert_eq!(only_message_to(&actions, 3), read_response(2, 4, Some(2)));
    assert!(
        read_ready(&actions).is_empty(),
        "served by the follower, not here"
    );
}

#[test]
fn s6_4_reads_fail_when_they_cannot_be_confirmed() {
    // No leader known.
    let mut h = Harness::with_config(with(2, 3, read_index_on), Some(state(2, None, &[1])));
    let none = Refusal::NotLeader { leader_hint: None };
    assert_eq!(read_failed(&read(&mut h, 1)), [(1, none)]);
    // The leader refuses.
    h.receive(1, heartbeat(2, (1, 1), 1));
    read(&mut h, 2);
    let actions = h.receive(1, read_response(2, 2, None));
    assert_eq!(
        read_failed(&actions),
        [(2, Refusal::NotLeader { leader_hint: None })]
    );
    // No answer within an election timeout.
    read(&mut h, 3);
    let max = h.node.config().election_ticks_max;
    let mut failed = Vec::new();
    for _ in 0..max {
        h.receive(1, heartbeat(2, (1, 1), 1));
        failed.extend(read_failed(&h.tick()));
    }
    assert_eq!(failed, [(3, Refusal::TimedOut)]);
    // Our term moves on before the answer: the leader we asked is gone.
    read(&mut h, 4);
    let actions = h.receive(3, vote_request(3, 9, 9));
    assert_eq!(read_failed(&actions), [(4, Refusal::LeaderChanged)]);
    // And without the feature, reads are refused outright.
    let mut off = Harness::restored(2, 3, state(2, None, &[1]));
    assert_eq!(read_failed(&read(&mut off, 9)), [(9, Refusal::Disabled)]);
}

#[test]
fn s6_4_a_single_node_answers_at_once() {
    let mut h = Harness::with_config(with(1, 1, read_index_on), None);
    h.tick_until_candidate();
    assert!(h.node.is_leader());
    assert_eq!(read_ready(&read(&mut h, 1)), [(1, 1)]);
}

// ---------------------------------------------------------------------------------------------
// §6.4.1: lease reads
// ---------------------------------------------------------------------------------------------

#[test]
fn s6_4_1_while_the_lease_holds_reads_need_no_round() {
    let mut h = read_leader(lease_on);
    h.receive(2, matched(2, 2));
    assert!(!h.node.lease_holds(), "no round answered yet");
    let actions = read(&mut h, 1);
    h.receive(2, round_reply(2, rounds_to(&actions, 2)[0]));
    assert!(h.node.lease_holds());
    let actions = read(&mut h, 2);
    assert_eq!(read_ready(&actions), [(2, 2)], "answered in the same call");
    assert!(rounds_to(&actions, 2).is_empty());
    // Without fresh answers the lease runs out after lease_ticks ticks.
    let lease = h.node.config().lease_ticks() as u32;
    ticks(&mut h, lease - 1);
    assert!(h.node.lease_holds());
    h.tick();
    assert!(!h.node.lease_holds());
    assert!(read_ready(&read(&mut h, 3)).is_empty(), "back to a round");
}

#[test]
fn s6_4_1_heartbeats_carry_rounds_that_keep_the_lease_fresh() {
    let mut h = read_leader(lease_on);
    h.receive(2, matched(2, 2));
    for _ in 0..200 {
        for round in rounds_to(&h.tick(), 2) {
            h.receive(2, round_reply(2, round));
        }
    }
    assert!(h.node.is_leader() && h.node.lease_holds());
}

#[test]
fn s6_4_1_the_lease_is_shortened_by_the_drift_bound() {
    let mut c = config(1, 3);
    assert_eq!(c.lease_ticks(), 29 * 90 / 110, "min timeout 30, 10 % drift");
    c.clock_drift_percent = 0;
    assert_eq!(
        c.lease_ticks(),
        29,
        "a tick less than the minimum election timeout"
    );
    c.clock_drift_percent = 50;
    assert_eq!(c.lease_ticks(), 9);
    c.lease_reads = true;
    assert_eq!(
        c.validate(),
        Err(ConfigError::LeaseNeedsCheckQuorumAndReadIndex)
    );
    c.check_quorum = true;
    c.read_index = true;
    assert_eq!(c.validate(), Ok(()));
    c.clock_drift_percent = 100;
    assert_eq!(c.validate(), Err(ConfigError::LeaseTooShort));
}

#[test]
fn s6_4_1_no_lease_once_timeout_now_has_left() {
    let mut h = read_leader(lease_on);
    h.propose("x");
    h.receive(2, matched(2, 3));
    let actions = read(&mut h, 1);
    h.receive(2, round_reply(2, rounds_to(&actions, 2)[0]));
    assert!(h.node.lease_holds());
    let actions = transfer(&mut h, 2);
    assert_eq!(only_message_to(&actions, 2), timeout_now(2));
    assert!(!h.node.lease_holds(), "votes may now ignore stickiness");
    let limit = h.node.config().election_ticks_max;
    for _ in 0..limit {
        for round in rounds_to(&h.tick(), 2) {
            h.receive(2, round_reply(2, round));
        }
    }
    assert_eq!(h.node.transfer_target(), None, "abandoned");
    assert!(!h.node.lease_holds(), "not for the rest of the term");
    assert!(h.node.is_leader());
}
