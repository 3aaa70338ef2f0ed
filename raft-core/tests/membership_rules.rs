//! One test per rule of membership change by joint consensus (Raft paper §6, Ongaro's thesis
//! §4.1–4.3) and of learners, each named after the section it checks. Single nodes are driven
//! by hand-made messages (`Harness`, which checks every `Persist` against the node's durable
//! state), whole clusters by `Cluster`'s in-memory loop (which checks Election Safety and
//! that every index is applied with the same command everywhere).

mod support;

use raft_core::{
    Action, Config, Entry, Event, LogIndex, Membership, MembershipError, Message, NodeId,
    PersistentState, RaftNode, Refusal, RoleKind, Term,
};
use std::sync::Arc;
use support::*;

fn n(ids: &[u64]) -> Vec<NodeId> {
    ids.iter().map(|&i| NodeId(i)).collect()
}

fn simple(voters: &[u64], learners: &[u64]) -> Membership {
    Membership::new(n(voters), n(learners))
}

fn joint(new: &[u64], old: &[u64]) -> Membership {
    Membership {
        outgoing: Some(n(old)),
        ..simple(new, &[])
    }
}

/// Nodes `1..=voters` bootstrapped as the cluster, and `voters+1..=voters+joiners` started
/// with no configuration, to be added later.
fn cluster(voters: u64, joiners: u64) -> Cluster {
    let configs = (1..=voters + joiners)
        .map(|id| match id <= voters {
            true => config(id, voters),
            false => Config::new(NodeId(id), vec![], 0x5eed_0000 + id),
        })
        .collect();
    Cluster::with_configs(configs)
}

/// Asks `leader` for a change and returns the step's actions.
#[track_caller]
fn change(c: &mut Cluster, leader: u64, voters: &[u64], learners: &[u64]) -> Vec<Action> {
    let event = Event::ChangeMembership {
        voters: n(voters),
        learners: n(learners),
    };
    c.step(NodeId(leader), event)
}

fn proposed(actions: &[Action]) -> Option<LogIndex> {
    actions.iter().find_map(|a| match a {
        Action::MembershipProposed { index, .. } => Some(*index),
        _ => None,
    })
}

fn changed(actions: &[Action]) -> Vec<&Membership> {
    let each = actions.iter().filter_map(|a| match a {
        Action::MembershipChanged { membership } => Some(membership),
        _ => None,
    });
    each.collect()
}

fn refused(actions: &[Action]) -> Option<Refusal> {
    actions.iter().find_map(|a| match a {
        Action::Refused { reason } => Some(*reason),
        _ => None,
    })
}

/// Runs until every live node among `ids` has `membership` in force and committed.
#[track_caller]
fn wait_membership(c: &mut Cluster, ids: &[u64], membership: &Membership) {
    let ids = n(ids);
    c.run_until(3_000, |c| {
        ids.iter().filter(|&&id| c.is_up(id)).all(|&id| {
            let node = c.node(id);
            node.membership() == membership && node.committed_membership() == membership
        })
    });
}

/// A durable state whose log holds `entries` (terms must not decrease) in term `term`.
fn state_with(term: u64, entries: Vec<Entry>) -> PersistentState {
    let mut state = state(term, None, &[]);
    state.entries = entries;
    state
}

/// Makes `h` (node 1) a candidate and feeds it granted votes from `voters`, in order.
fn campaign_with(h: &mut Harness, voters: &[u64]) {
    h.tick_until_candidate();
    let term = h.node.term().0;
    for &v in voters {
        h.receive(v, vote(term, true));
    }
}

// ---------------------------------------------------------------------------------------------
// §6 / thesis §4.3: the joint protocol step by step
// ---------------------------------------------------------------------------------------------

#[test]
fn s6_change_goes_through_joint_to_new_on_its_own() {
    let mut c = cluster(3, 1);
    let leader = c.wait_for_leader().0;
    // Step 1: a learner (only learners change: no joint step).
    let actions = change(&mut c, leader, &[1, 2, 3], &[4]);
    let index = proposed(&actions).expect("proposed");
    assert_eq!(changed(&actions), vec![&simple(&[1, 2, 3], &[4])]);
    assert_eq!(
        c.node(NodeId(leader)).entry(index).unwrap().membership(),
        Some(&simple(&[1, 2, 3], &[4]))
    );
    wait_membership(&mut c, &[1, 2, 3, 4], &simple(&[1, 2, 3], &[4]));
    // Step 2: promote it. The leader appends C_old,new, in force at once on the leader.
    let leader = c.wait_for_leader().0;
    let actions = change(&mut c, leader, &[1, 2, 3, 4], &[]);
    let index = proposed(&actions).expect("proposed");
    let old_new = joint(&[1, 2, 3, 4], &[1, 2, 3]);
    assert_eq!(changed(&actions), vec![&old_new]);
    assert_eq!(c.node(NodeId(leader)).membership(), &old_new);
    assert!(
        c.node(NodeId(leader)).commit_index() < index,
        "in force before it commits"
    );
    // Step 3: once the joint entry commits, the leader appends C_new by itself.
    let new = simple(&[1, 2, 3, 4], &[]);
    wait_membership(&mut c, &[1, 2, 3, 4], &new);
    let leader_node = c.node(c.leader().unwrap());
    let next = leader_node.entry(index.next()).and_then(|e| e.membership());
    assert_eq!(next, Some(&new), "C_new follows C_old,new");
    // Configuration entries reach the service through Apply like every entry.
    assert!(c.service(NodeId(4)).last() >= index.next());
}

#[test]
fn s6_commit_needs_a_majority_of_both_sides_while_joint() {
    // Leader 1 in C_old,new with C_old = {1,2,3} and C_new = {1,4,5}.
    let log = vec![Entry::config(Term(1), joint(&[1, 4, 5], &[1, 2, 3]))];
    for (first, second) in [([4, 5], 2), ([2, 3], 4)] {
        let mut h = Harness::restored(1, 3, state_with(1, log.clone()));
        campaign_with(&mut h, &[2, 3, 4]);
        assert!(h.node.is_leader());
        let term = h.node.term().0;
        h.propose("x");
        let last = h.node.last_index().0;
        // `first`, with the leader, is a majority of one side only.
        for id in first {
            h.receive(id, matched(term, last));
        }
        assert!(
            h.node.commit_index().0 < last,
            "committed by one side ({first:?})"
        );
        h.receive(second, matched(term, last));
        assert_eq!(h.node.commit_index().0, last, "both majorities hold it");
    }
}

#[test]
fn s6_election_needs_a_majority_of_both_sides_while_joint() {
    let log = vec![Entry::config(Term(1), joint(&[1, 4, 5], &[1, 2, 3]))];
    // Old side only, then new side only: not enough; one more from the other side: elected.
    for (one_side, other) in [(vec![2, 3], 4), (vec![4, 5], 2)] {
        let mut h = Harness::restored(1, 3, state_with(1, log.clone()));
        campaign_with(&mut h, &one_side);
        assert_eq!(
            h.node.role(),
            RoleKind::Candidate,
            "elected by {one_side:?} alone"
        );
        let term = h.node.term().0;
        h.receive(other, vote(term, true));
        assert!(h.node.is_leader());
    }
}

#[test]
fn s6_candidate_in_joint_configuration_asks_voters_of_both_sides() {
    let log = vec![Entry::config(Term(1), joint(&[1, 4, 5], &[1, 2, 3]))];
    let mut h = Harness::restored(1, 3, state_with(1, log));
    let actions = h.tick_until_candidate();
    let mut asked: Vec<u64> = sends(&actions).iter().map(|(to, _)| to.0).collect();
    asked.sort();
    assert_eq!(asked, vec![2, 3, 4, 5]);
}

#[test]
fn s4_1_configuration_takes_effect_on_append_and_reverts_on_truncation() {
    let mut h = Harness::restored(2, 3, state(1, None, &[1]));
    let added = simple(&[1, 2, 3], &[4]);
    let entries = vec![Entry::config(Term(1), added.clone())];
    let actions = h.receive(1, append(1, (1, 1), entries, 1));
    assert_eq!(
        changed(&actions),
        vec![&added],
        "in force once appended, uncommitted"
    );
    assert_eq!(h.node.membership(), &added);
    assert_eq!(h.node.committed_membership(), &simple(&[1, 2, 3], &[]));
    // A leader of term 2 overwrites index 2: the configuration reverts to the bootstrap one.
    let actions = h.receive(3, append(2, (1, 1), entries_at(2, &[2]), 1));
    assert_eq!(changed(&actions), vec![&simple(&[1, 2, 3], &[])]);
    assert_eq!(h.node.membership(), &simple(&[1, 2, 3], &[]));
    assert_eq!(persist(&actions).unwrap().truncate_after, Some(LogIndex(1)));
}

#[test]
fn s6_second_change_is_refused_while_one_is_unfinished() {
    let mut c = cluster(3, 2);
    let leader = c.wait_for_leader().0;
    let actions = change(&mut c, leader, &[1, 2, 3], &[4]);
    assert!(proposed(&actions).is_some());
    // Not committed yet (nothing delivered): a second change waits.
    let actions = change(&mut c, leader, &[1, 2, 3], &[4, 5]);
    assert_eq!(refused(&actions), Some(Refusal::ChangeInProgress));
    assert_eq!(proposed(&actions), None);
    wait_membership(&mut c, &[1, 2, 3], &simple(&[1, 2, 3], &[4]));
    let leader = c.leader().unwrap().0;
    let actions = change(&mut c, leader, &[1, 2, 4], &[]);
    assert!(proposed(&actions).is_some());
    // Joint now: refused again, and so is a bad configuration or a follower's attempt.
    assert!(c.node(NodeId(leader)).membership().is_joint());
    let actions = change(&mut c, leader, &[1, 2, 3], &[]);
    assert_eq!(refused(&actions), Some(Refusal::ChangeInProgress));
    let follower = [1, 2, 3].into_iter().find(|&id| id != leader).unwrap();
    let actions = change(&mut c, follower, &[1, 2, 3], &[]);
    assert!(matches!(refused(&actions), Some(Refusal::NotLeader { .. })));
}

#[test]
fn s6_invalid_configurations_are_refused() {
    let mut c = cluster(3, 0);
    let leader = c.wait_for_leader().0;
    let cases: [(&[u64], &[u64], MembershipError); 3] = [
        (&[], &[4], MembershipError::NoVoters),
        (&[1, 2, 2], &[], MembershipError::Duplicate(NodeId(2))),
        (
            &[1, 2, 3],
            &[3],
            MembershipError::VoterAndLearner(NodeId(3)),
        ),
    ];
    for (voters, learners, error) in cases {
        let actions = change(&mut c, leader, voters, learners);
        assert_eq!(refused(&actions), Some(Refusal::InvalidMembership(error)));
        assert!(persist(&actions).is_none(), "nothing appended");
    }
}

// ---------------------------------------------------------------------------------------------
// §6: the leader that is not in C_new
// ---------------------------------------------------------------------------------------------

#[test]
fn s6_leader_not_in_c_new_does_not_count_itself_then_steps_down() {
    // Leader 1 has appended C_new = {2,3} (after a committed C_old,new at index 1).
    let log = vec![
        Entry::config(Term(1), joint(&[2, 3], &[1, 2, 3])),
        Entry::config(Term(2), simple(&[2, 3], &[])),
    ];
    let mut h = Harness::restored(1, 3, state_with(2, log.clone()));
    // Restarted, it does not know whether C_new committed, so it still stands (thesis
    // §4.2.2: it "might still be needed until the C_new entry is committed"), but its own
    // vote does not count: one grant of C_new's two voters is not enough, both are.
    h.tick_until_candidate();
    let term = h.node.term().0;
    assert_eq!(term, 3);
    h.receive(2, vote(term, true));
    assert_eq!(
        h.node.role(),
        RoleKind::Candidate,
        "its own vote does not count"
    );
    h.receive(3, vote(term, true));
    assert!(h.node.is_leader(), "elected by C_new's voters");
    // Once it knows C_new is committed, it never stands again.
    let mut h = Harness::restored(1, 3, state_with(2, log.clone()));
    h.receive(2, heartbeat(3, (2, 2), 2));
    assert_eq!(h.node.commit_index(), LogIndex(2));
    for _ in 0..200 {
        h.tick();
    }
    assert_eq!(
        h.node.role(),
        RoleKind::Follower,
        "a non-voter of a committed configuration never campaigns"
    );
    assert_eq!(h.node.term(), Term(3));

    // The whole story in a cluster: remove the leader.
    let mut c = cluster(3, 0);
    let leader = c.wait_for_leader();
    let rest: Vec<u64> = [1, 2, 3].into_iter().filter(|&id| id != leader.0).collect();
    change(&mut c, leader.0, &rest, &[]);
    let new = simple(&rest, &[]);
    c.run_until(500, |c| !c.node(leader).is_leader());
    assert_eq!(c.node(leader).membership(), &new);
    assert_eq!(
        c.node(leader).committed_membership(),
        &new,
        "stepped down once C_new committed"
    );
    let term = c.node(leader).term();
    let successor = c.wait_for_leader_after(term);
    assert_ne!(successor, leader);
    c.run(300);
    assert_eq!(c.node(leader).role(), RoleKind::Follower);
    assert!(c.propose(c.leader().unwrap(), cmd("after")).is_some());
}

/// Thesis §3.10 names a removed leader as a use of leadership transfer: as it steps down, the
/// C_new voter holding its whole log (the lowest id of those) gets `TimeoutNow` and is elected
/// at once, with CheckQuorum's stickiness on, rather than after an election timeout.
#[test]
fn s3_10_a_removed_leader_hands_over_to_a_c_new_voter_as_it_steps_down() {
    let configs = (1..=3)
        .map(|id| {
            let mut config = config(id, 3);
            config.pre_vote = true;
            config.check_quorum = true;
            config
        })
        .collect();
    let mut c = Cluster::with_configs(configs);
    let leader = c.wait_for_leader();
    let rest: Vec<u64> = [1, 2, 3].into_iter().filter(|&id| id != leader.0).collect();
    change(&mut c, leader.0, &rest, &[]);
    c.run_until(500, |c| !c.node(leader).is_leader());
    let term = c.node(leader).term();
    let heir = NodeId(rest[0]);
    assert_eq!(c.stats.on_link(leader, heir, "TimeoutNow"), 1);
    let other = NodeId(rest[1]);
    assert_eq!(c.stats.on_link(leader, other, "TimeoutNow"), 0);
    // Delivered in the round the leader stepped down, the hand-over elects the heir in it.
    let rounds = c.run_until(1, |c| c.leader().is_some_and(|l| c.node(l).term() > term));
    assert_eq!(rounds, 0, "no election timeout waited for");
    assert_eq!(c.leader(), Some(heir));
    assert!(c.propose(heir, cmd("after")).is_some());
}

/// Leader 1 of {1,2,3} asks for C_new = {2,3}; messages are delivered one by one until the
/// joint entry commits (both sides: {1,2} of {1,2,3}, {2,3} of {2,3}) and the leader appends
/// C_new, which is not yet sent.
fn leader_one_removing_itself() -> (Cluster, NodeId) {
    let mut c = cluster(3, 0);
    let one = NodeId(1);
    c.elect(one);
    c.deliver_all();
    change(&mut c, 1, &[2, 3], &[]);
    for _ in 0..1_000 {
        if !c.node(one).membership().is_joint() {
            break;
        }
        c.deliver_nth(0);
    }
    (c, one)
}

/// A removed leader whose C_new voters do not hold its whole log hands over to none of them:
/// a `TimeoutNow` would only make a candidate the others must refuse.
#[test]
fn s3_10_a_removed_leader_hands_over_only_to_a_voter_with_its_whole_log() {
    let (mut c, one) = leader_one_removing_itself();
    // C_new is appended at the leader; a proposal right behind it reaches nobody, so when
    // C_new commits neither voter holds the leader's whole log.
    assert!(c.propose(one, cmd("late")).is_some());
    let late = |e: &Envelope| match &e.message {
        Message::AppendEntries(m) => m.entries.iter().any(|x| x.command == cmd("late")),
        _ => false,
    };
    c.drop_where(late);
    c.run_until(100, |c| !c.node(one).is_leader());
    assert!(c.node(NodeId(2)).last_index() < c.node(one).last_index());
    assert_eq!(c.stats.kind("TimeoutNow"), 0);
}

/// Swarm seed 50 of `--membership`: the leader that removed itself had re-proposed C_new in a
/// later term (so two identical C_new entries follow the joint one), knew the joint entry
/// committed, and lost its leadership before either C_new did. It must still stand: it is a
/// voter of the latest committed configuration (the joint one), not of the one in force.
#[test]
fn s4_2_2_a_server_outside_an_uncommitted_c_new_stands_as_a_voter_of_the_committed_one() {
    let log = vec![
        Entry::config(Term(1), joint(&[2, 3], &[1, 2, 3])),
        Entry::config(Term(2), simple(&[2, 3], &[])),
        Entry::config(Term(3), simple(&[2, 3], &[])),
    ];
    let mut h = Harness::restored(1, 3, state_with(3, log));
    h.receive(2, heartbeat(4, (3, 3), 1)); // the joint entry is committed
    assert_eq!(h.node.commit_index(), LogIndex(1));
    assert!(h.node.committed_membership().is_joint());
    h.tick_until_candidate();
    assert_eq!(h.node.term(), Term(5), "it stands");
}

/// Swarm seed 1685 of `--membership`: a server added after the cluster started (no bootstrap
/// configuration) led it alone, removed itself, and crashed with C_new on its disk. Restarted,
/// its commit index is 0 and nothing committed names it, but the configuration C_new replaced
/// does: it stands.
#[test]
fn s4_2_2_a_restarted_server_outside_c_new_stands_as_a_voter_of_the_one_it_replaced() {
    let log = vec![
        Entry::config(Term(1), simple(&[7], &[])),
        Entry::config(Term(2), joint(&[5], &[7])),
        Entry::config(Term(2), simple(&[5], &[])),
    ];
    let config = Config::new(NodeId(7), vec![], 0x5eed_0007);
    let mut h = Harness::with_config(config, Some(state_with(2, log)));
    assert_eq!(h.node.commit_index(), LogIndex(0));
    h.tick_until_candidate();
    assert_eq!(h.node.term(), Term(3), "it stands");
    h.receive(5, vote(3, true));
    assert!(h.node.is_leader(), "elected by C_new's voter alone");
}

#[test]
fn s6_c_new_commits_without_the_leader_that_is_not_in_it() {
    // Leader 1 of {1,2,3} removes itself: C_new = {2,3} needs both 2 and 3, not 1.
    let (mut c, one) = leader_one_removing_itself();
    assert_eq!(c.node(one).membership(), &simple(&[2, 3], &[]));
    let c_new = c.node(one).last_index();
    c.isolate(NodeId(3));
    c.run(5); // shorter than any election timeout: 3 stays quiet
    assert!(c.node(NodeId(2)).last_index() >= c_new, "2 has C_new");
    assert!(
        c.node(one).commit_index() < c_new,
        "C_new committed by the leader and 2"
    );
    assert!(c.node(one).is_leader());
    c.heal();
    c.run_until(100, |c| !c.node(one).is_leader());
    assert!(c.node(one).commit_index() >= c_new);
    // Its last heartbeat told the new configuration that C_new is committed.
    for id in [2, 3] {
        assert!(c.node(NodeId(id)).commit_index() >= c_new, "n{id}");
    }
}

// ---------------------------------------------------------------------------------------------
// Thesis §4.3: a change interrupted by the leader's crash, at each phase
// ---------------------------------------------------------------------------------------------

/// Replaces node 3 of {1,2,3} by node 4, crashing the leader (node 1) at `phase`, then checks
/// that the cluster settles in C_old or C_new (never stuck joint) and takes another change.
fn crash_during_change(phase: u32) -> Membership {
    let mut c = cluster(3, 2);
    let one = NodeId(1);
    c.elect(one);
    c.deliver_all();
    change(&mut c, 1, &[1, 2, 3], &[4]);
    wait_membership(&mut c, &[1, 2, 3, 4], &simple(&[1, 2, 3], &[4]));
    assert!(c.node(one).is_leader());
    change(&mut c, 1, &[1, 2, 4], &[]);
    let from_one = |e: &Envelope| e.from == NodeId(1);
    match phase {
        // Before the joint entry commits: nobody gets it but the leader.
        0 => {}
        // The joint entry reaches everyone (so it is committed), but the leader never hears
        // back, so it never appends C_new.
        1 => c.deliver_where(from_one),
        // C_new appended, reaches node 2 only, not committed.
        _ => {
            for _ in 0..1_000 {
                if !c.node(one).membership().is_joint() {
                    break;
                }
                c.deliver_nth(0);
            }
            assert_eq!(c.node(one).membership(), &simple(&[1, 2, 4], &[]));
            c.deliver_where(|e| e.from == NodeId(1) && e.to == NodeId(2));
        }
    }
    c.drop_where(from_one);
    c.crash(one);
    let old = simple(&[1, 2, 3], &[4]);
    let new = simple(&[1, 2, 4], &[]);
    // Whatever the phase, the survivors elect a leader and finish in C_old or C_new.
    c.run_until(3_000, |c| {
        c.leader().is_some_and(|l| {
            let m = c.node(l).committed_membership();
            (m == &old || m == &new) && c.node(l).membership() == m
        })
    });
    c.restart(one);
    let leader = c.leader().unwrap();
    let result = c.node(leader).membership().clone();
    // Not stuck: the next change is accepted.
    let voters: Vec<u64> = result.voters.iter().map(|id| id.0).collect();
    let actions = change(&mut c, leader.0, &voters, &[5]);
    assert!(proposed(&actions).is_some(), "phase {phase}: {actions:?}");
    result
}

#[test]
fn s4_3_leader_crash_before_the_joint_entry_commits() {
    let result = crash_during_change(0);
    assert_eq!(
        result,
        simple(&[1, 2, 3], &[4]),
        "the uncommitted change is lost"
    );
}

#[test]
fn s4_3_leader_crash_after_the_joint_entry_commits_before_c_new() {
    let result = crash_during_change(1);
    assert_eq!(
        result,
        simple(&[1, 2, 4], &[]),
        "a committed joint entry finishes"
    );
}

#[test]
fn s4_3_leader_crash_after_c_new_is_appended_before_it_commits() {
    let result = crash_during_change(2);
    assert_eq!(result, simple(&[1, 2, 4], &[]));
}

// ---------------------------------------------------------------------------------------------
// Learners
// ---------------------------------------------------------------------------------------------

#[test]
fn learner_never_counts_toward_commitment_or_election() {
    let membership = simple(&[1, 2, 3], &[4]);
    let log = vec![Entry::config(Term(1), membership)];
    // Its vote does not count...
    let mut h = Harness::restored(1, 3, state_with(1, log.clone()));
    campaign_with(&mut h, &[4]);
    assert_eq!(h.node.role(), RoleKind::Candidate);
    let term = h.node.term().0;
    h.receive(2, vote(term, true));
    assert!(h.node.is_leader());
    // ... nor its match.
    h.propose("x");
    let last = h.node.last_index().0;
    h.receive(4, matched(term, last));
    assert!(h.node.commit_index().0 < last);
    h.receive(3, matched(term, last));
    assert_eq!(h.node.commit_index().0, last);
    // A learner receives the log but never stands for election.
    let mut learner =
        Harness::with_config(Config::new(NodeId(4), vec![], 9), Some(state_with(1, log)));
    for _ in 0..500 {
        learner.tick();
    }
    assert_eq!(learner.node.role(), RoleKind::Follower);
    assert_eq!(learner.node.term(), Term(1));
}

#[test]
fn learner_is_promoted_by_naming_it_a_voter() {
    let mut c = cluster(3, 1);
    let leader = c.wait_for_leader().0;
    change(&mut c, leader, &[1, 2, 3], &[4]);
    wait_membership(&mut c, &[1, 2, 3, 4], &simple(&[1, 2, 3], &[4]));
    let leader = c.leader().unwrap();
    let (index, _) = c.propose(leader, cmd("before")).unwrap();
    c.wait_applied(index.0);
    assert_eq!(
        c.service(NodeId(4)).last(),
        c.service(leader).last(),
        "caught up"
    );
    change(&mut c, leader.0, &[1, 2, 3, 4], &[]);
    wait_membership(&mut c, &[1, 2, 3, 4], &simple(&[1, 2, 3, 4], &[]));
    // Now it counts: with two of the old voters cut off, 4 and the leader are not enough
    // (2 of 4), with one cut off they are (3 of 4).
    let leader = c.leader().unwrap();
    let others: Vec<NodeId> = n(&[1, 2, 3])
        .into_iter()
        .filter(|&id| id != leader)
        .collect();
    c.isolate(others[0]);
    let (index, _) = c.propose(leader, cmd("with 4")).unwrap();
    c.run(20);
    assert!(c.node(leader).commit_index() >= index);
}

#[test]
fn joining_server_with_no_configuration_follows_a_leader_it_does_not_know() {
    // Thesis §4.1: requests are served whatever the configuration says.
    let mut h = Harness::with_config(Config::new(NodeId(4), vec![], 9), None);
    assert_eq!(h.node.membership(), &simple(&[], &[]));
    for _ in 0..200 {
        h.tick();
    }
    assert_eq!(h.node.term(), Term(0), "no configuration: never campaigns");
    let entries = vec![Entry::config(Term(1), simple(&[1, 2, 3], &[4]))];
    let actions = h.receive(1, append(1, (0, 0), entries, 0));
    assert_eq!(sent_to(&actions, 1), vec![&matched(1, 1)]);
    assert_eq!(h.node.membership(), &simple(&[1, 2, 3], &[4]));
}

// ---------------------------------------------------------------------------------------------
// Removed servers (thesis §4.2.3)
// ---------------------------------------------------------------------------------------------

#[test]
fn removed_server_gets_no_heartbeat_and_cannot_depose_the_leader() {
    let configs = (1..=3)
        .map(|id| Config {
            pre_vote: true,
            check_quorum: true,
            ..config(id, 3)
        })
        .collect();
    let mut c = Cluster::with_configs(configs);
    let one = c.wait_for_leader();
    let removed = *n(&[1, 2, 3]).iter().rev().find(|&&id| id != one).unwrap();
    let kept: Vec<u64> = [1, 2, 3]
        .into_iter()
        .filter(|&id| id != removed.0)
        .collect();
    // The removed server is cut off as the change starts, so it never learns it was removed.
    c.isolate(removed);
    change(&mut c, one.0, &kept, &[]);
    let new = simple(&kept, &[]);
    c.run_until(200, |c| c.node(one).committed_membership() == &new);
    assert!(
        c.node(removed).membership().is_voter(removed),
        "it has not heard"
    );
    c.heal();
    let term = c.node(one).term();
    let to_removed = |c: &Cluster| c.stats.on_link(one, removed, "AppendEntries");
    let before = to_removed(&c);
    c.run(1_000);
    assert_eq!(to_removed(&c), before, "no heartbeat to the removed server");
    assert!(c.stats.on_link(removed, one, "PreVote") > 0, "it did try");
    assert!(c.node(one).is_leader(), "still leads");
    assert_eq!(
        c.node(one).term(),
        term,
        "its elections never reached the cluster's term"
    );
}

// ---------------------------------------------------------------------------------------------
// Persistence: snapshots and restarts keep the configuration
// ---------------------------------------------------------------------------------------------

#[test]
fn snapshot_and_restart_keep_the_configuration() {
    let mut c = cluster(3, 1);
    let leader = c.wait_for_leader().0;
    change(&mut c, leader, &[1, 2, 3], &[4]);
    let membership = simple(&[1, 2, 3], &[4]);
    wait_membership(&mut c, &[1, 2, 3, 4], &membership);
    let leader = c.leader().unwrap();
    for k in 0..5 {
        c.propose(leader, cmd(&format!("c{k}")));
    }
    let last = c.node(leader).last_index().0;
    c.wait_applied(last);
    for id in n(&[1, 2, 3, 4]) {
        c.snapshot(id, last);
        let state = c.durable(id);
        assert_eq!(
            state.snapshot.membership.as_deref(),
            Some(&membership),
            "{id}"
        );
        assert!(state.entries.is_empty());
        c.crash(id);
        c.restart(id);
        assert_eq!(c.node(id).membership(), &membership, "{id} after restart");
    }
    // Node 4 restarts with no bootstrap configuration: its state alone says it is a learner.
    assert_eq!(c.node(NodeId(4)).config().peers, vec![]);
}

#[test]
fn install_snapshot_carries_the_configuration_to_a_new_server() {
    let mut c = cluster(3, 1);
    let leader = c.wait_for_leader();
    for k in 0..5 {
        c.propose(leader, cmd(&format!("c{k}")));
    }
    c.isolate(NodeId(4));
    change(&mut c, leader.0, &[1, 2, 3], &[4]);
    let membership = simple(&[1, 2, 3], &[4]);
    wait_membership(&mut c, &[1, 2, 3], &membership);
    let last = c.node(leader).last_index().0;
    c.snapshot(leader, last);
    c.heal();
    wait_membership(&mut c, &[4], &membership);
    assert_eq!(
        c.node(NodeId(4)).snapshot_index().0,
        last,
        "came by snapshot"
    );
    assert_eq!(
        c.durable(NodeId(4)).snapshot.membership.as_deref(),
        Some(&membership)
    );
}

#[test]
fn version_1_state_decodes_with_no_configuration() {
    // Written by the format's version 1 (before configurations): term 3, vote for n2, a
    // snapshot through (2, t1) holding "ab", and one entry "x" of term 2.
    let v1: &[u8] = &[
        82, 65, 70, 84, 1, 3, 1, 2, 2, 1, 2, 97, 98, 1, 2, 1, 120, 173, 248, 99, 201,
    ];
    let state = PersistentState::decode(v1).expect("version 1 decodes");
    assert_eq!(state.hard_state.term, Term(3));
    assert_eq!(state.snapshot.index, LogIndex(2));
    assert_eq!(state.snapshot.membership, None);
    assert_eq!(&state.entries[0].command[..], b"x");
    let node = RaftNode::new(config(1, 3), Some(state.clone())).unwrap();
    assert_eq!(
        node.membership(),
        &simple(&[1, 2, 3], &[]),
        "bootstrap from peers"
    );
    // It is written back as the current version, which keeps the configuration.
    let mut with_config = state;
    with_config.snapshot.membership = Some(Arc::new(simple(&[1, 2], &[3])));
    let bytes = with_config.encode();
    assert_eq!(bytes[4], 2);
    assert_eq!(PersistentState::decode(&bytes), Ok(with_config));
}

#[test]
fn malformed_configurations_in_messages_and_states_are_refused() {
    let bad = Membership {
        voters: n(&[2, 1]),
        outgoing: None,
        learners: vec![],
    };
    // In a message: dropped, no reply, nothing changes.
    let mut h = Harness::restored(2, 3, state(1, None, &[1]));
    let entry = Entry::config(Term(1), bad.clone());
    let actions = h.receive(1, append(1, (1, 1), vec![entry.clone()], 1));
    assert!(actions.is_empty(), "{actions:?}");
    // Encoded: the decode fails.
    let bytes = Message::AppendEntries(raft_core::AppendEntries {
        term: Term(1),
        prev_log_index: LogIndex(0),
        prev_log_term: Term(0),
        entries: vec![entry.clone()],
        leader_commit: LogIndex(0),
    })
    .encode();
    assert!(Message::decode(&bytes).is_err());
    // In a state: `validate` refuses it, and so does `RaftNode::new`.
    let state = state_with(1, vec![entry]);
    assert!(state.validate().is_err());
    assert!(RaftNode::new(config(1, 3), Some(state)).is_err());
    // Version 3 of the wire keeps older bytes: an ordinary AppendEntries is unchanged.
    let plain = append(1, (0, 0), entries_at(1, &[1]), 0);
    assert_eq!(plain.wire_version(), 1);
    let good = Entry::config(Term(1), simple(&[1, 2, 3], &[]));
    let marked = append(1, (0, 0), vec![good], 0);
    assert_eq!(marked.wire_version(), 3);
    assert_eq!(Message::decode(&marked.encode()), Ok(marked));
    // InstallSnapshot: without a configuration, the version-1 bytes; with one, version 3.
    let Message::InstallSnapshot(mut snapshot) = install(2, (5, 1), "s") else {
        unreachable!()
    };
    let plain = Message::InstallSnapshot(snapshot.clone());
    assert_eq!(plain.encode(), [4, 2, 5, 1, 1, b's']);
    snapshot.membership = Some(Arc::new(simple(&[1, 2], &[3])));
    let with_config = Message::InstallSnapshot(snapshot);
    assert_eq!(with_config.wire_version(), 3);
    assert_eq!(Message::decode(&with_config.encode()), Ok(with_config));
    // A huge list is refused by the decoder, whatever the rest says.
    let huge = Membership::new((1..=2_000).map(NodeId).collect(), vec![]);
    assert_eq!(huge.validate(), Err(MembershipError::TooLarge));
    let message = append(1, (0, 0), vec![Entry::config(Term(1), huge)], 0);
    assert!(Message::decode(&message.encode()).is_err());
    // Hostile bytes: a marked term followed by garbage never panics.
    for tail in [&[][..], &[0], &[3, 1, 2], &[255, 255, 255, 255, 255, 1]] {
        let mut bytes = vec![
            2, 1, 0, 0, 1, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40,
        ];
        bytes.extend_from_slice(tail);
        assert!(Message::decode(&bytes).is_err(), "{bytes:?}");
    }
}

#[test]
fn s3_10_leadership_goes_only_to_a_voter() {
    let mut c = cluster(3, 1);
    let leader = c.wait_for_leader();
    change(&mut c, leader.0, &[1, 2, 3], &[4]);
    wait_membership(&mut c, &[1, 2, 3, 4], &simple(&[1, 2, 3], &[4]));
    let leader = c.leader().unwrap();
    let actions = c.step(leader, Event::TransferLeader { to: NodeId(4) });
    assert_eq!(refused(&actions), Some(Refusal::UnknownPeer));
    assert_eq!(c.node(leader).transfer_target(), None);
}
