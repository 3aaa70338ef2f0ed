//! Membership changes through the simulator: spare servers outside the bootstrap
//! configuration, changes asked of the leader, wiped disks; the Quorum Intersection checker
//! firing on broken drivers and forged configurations; the membership scenarios; swarm plans
//! that change membership.

use raft_core::{
    Action, AppendEntries, Entry, LogIndex, Membership, Message, NodeId, RequestVoteReply,
};
use raft_sim::checkers::Invariant;
use raft_sim::runner::{run_tester, Outcome};
use raft_sim::scenarios::membership;
use raft_sim::swarm::{self, ChangeKind, Limits, Plan};
use raft_sim::world::ChangeAnswer;
use raft_sim::{Edition, Features, TestResult, Tester, Value};
use std::future::Future;

/// A world of `universe` servers whose bootstrap configuration is `0..voters`, every
/// bootstrap server started and connected, then `body`.
fn run_cluster<F, Fut>(voters: usize, universe: usize, seed: u64, body: F) -> Outcome
where
    F: FnOnce(Tester) -> Fut + 'static,
    Fut: Future<Output = TestResult> + 'static,
{
    // MEMBERSHIP_TRACE=1 keeps the trace, printed when a run fails.
    let trace = std::env::var_os("MEMBERSHIP_TRACE").is_some();
    let mut world = raft_sim::world::World::new(universe, seed, Edition::Y2024, false, trace);
    world.set_bootstrap(&(0..voters).collect::<Vec<_>>());
    let t = Tester::with_world(world, seed);
    run_tester(t, seed, move |t| async move {
        t.begin("membership");
        for i in 0..voters {
            t.start_server(i);
            t.connect(i);
        }
        body(t.clone()).await?;
        t.finish();
        Ok(())
    })
}

fn leader(t: &Tester) -> Option<usize> {
    (0..t.n())
        .filter(|&i| t.get_state(i).1)
        .max_by_key(|&i| t.get_state(i).0)
}

/// Waits (up to `limit_ms`) for `ready`.
async fn wait_for(
    t: &Tester,
    limit_ms: u64,
    what: &str,
    ready: impl Fn(&Tester) -> bool,
) -> TestResult {
    for _ in 0..limit_ms {
        if ready(t) {
            return Ok(());
        }
        t.sleep(1).await;
    }
    t.fail(format!("{what} within {limit_ms} ms"))
}

/// Asks whoever leads for `voters`, retrying, until a leader has them committed.
async fn change_to(t: &Tester, voters: &[usize]) -> TestResult {
    let wanted: Vec<NodeId> = voters.iter().map(|&i| NodeId(i as u64)).collect();
    for _ in 0..1_000 {
        if let Some(l) = leader(t) {
            let done = t.world().node(l).is_some_and(|n| {
                n.committed_membership().voters == wanted && !n.committed_membership().is_joint()
            });
            if done {
                return Ok(());
            }
            let answer = t.world().change_membership(l, voters, &[]);
            if let ChangeAnswer::Refused(raft_core::Refusal::InvalidMembership(e)) = answer {
                return t.fail(format!("refused as invalid: {e}"));
            }
        }
        t.sleep(10).await;
    }
    t.fail(format!("the change to {voters:?} did not complete"))
}

/// Proposes `value` at the leader until some server applied it.
async fn commit(t: &Tester, value: i64) -> TestResult {
    for _ in 0..500 {
        if let Some(l) = leader(t) {
            let started = t.start(l, Value::Int(value));
            if started.is_leader {
                for _ in 0..100 {
                    if t.world().appliers().applied(l, started.index) == Some(&Value::Int(value)) {
                        return Ok(());
                    }
                    t.sleep(10).await;
                }
            }
        }
        t.sleep(10).await;
    }
    t.fail(format!("{value} was never committed"))
}

fn expect_violation(outcome: &Outcome, invariant: Invariant) {
    let failure = outcome.result.as_ref().err().unwrap_or_else(|| {
        panic!("expected {invariant} to fire, but the run passed");
    });
    assert_eq!(
        outcome.invariant,
        Some(invariant),
        "expected {invariant}, got: {}",
        failure.message
    );
}

fn expect_pass(outcome: &Outcome) {
    if let Err(failure) = &outcome.result {
        for line in &outcome.trace {
            eprintln!("{line}");
        }
        panic!("{failure}");
    }
}

#[test]
fn a_spare_starts_without_a_configuration_and_never_campaigns() {
    let outcome = run_cluster(3, 4, 1, |t| async move {
        t.start_server(3);
        t.connect(3);
        commit(&t, 1).await?;
        t.sleep(5_000).await;
        let world = t.world();
        let spare = world.node(3).expect("running");
        assert!(
            spare.membership().voters.is_empty(),
            "{:?}",
            spare.membership()
        );
        assert_eq!(spare.term().0, 0, "a spare never stands for election");
        assert_eq!(spare.last_index().0, 0, "nobody replicates to a non-member");
        Ok(())
    });
    expect_pass(&outcome);
}

#[test]
fn a_cluster_grows_three_to_five_then_replaces_a_dead_server() {
    let outcome = run_cluster(3, 6, 2, |t| async move {
        commit(&t, 1).await?;
        for spare in [3, 4] {
            t.start_server(spare);
            t.connect(spare);
        }
        change_to(&t, &[0, 1, 2, 3, 4]).await?;
        commit(&t, 2).await?;
        // A follower dies for good: a fresh server takes its place, in one joint change.
        let dead = (leader(&t).expect("a leader") + 1) % 5;
        t.crash(dead);
        t.start_server(5);
        t.connect(5);
        let mut voters: Vec<usize> = (0..6).filter(|&i| i != dead).collect();
        voters.sort_unstable();
        change_to(&t, &voters).await?;
        commit(&t, 3).await?;
        let l = leader(&t).expect("a leader");
        let index = t.world().node(l).expect("alive").commit_index().0;
        wait_for(&t, 5_000, "the new server applied everything", |t| {
            t.world()
                .node(5)
                .is_some_and(|n| n.last_applied().0 >= index)
        })
        .await
    });
    expect_pass(&outcome);
}

#[test]
fn a_removed_server_wiped_and_added_back_catches_up() {
    let outcome = run_cluster(3, 3, 3, |t| async move {
        commit(&t, 1).await?;
        let l = leader(&t).expect("a leader");
        let gone = (l + 1) % 3;
        let mut rest: Vec<usize> = (0..3).filter(|&i| i != gone).collect();
        rest.sort_unstable();
        change_to(&t, &rest).await?;
        t.world().wipe(gone);
        assert_eq!(
            t.world().durable(gone).hard_state.term.0,
            0,
            "an empty disk"
        );
        commit(&t, 2).await?;
        t.start_server(gone);
        t.connect(gone);
        change_to(&t, &[0, 1, 2]).await?;
        commit(&t, 3).await?;
        wait_for(&t, 5_000, "the re-added server applied 3", |t| {
            (1..=20).any(|i| t.world().appliers().applied(gone, i) == Some(&Value::Int(3)))
        })
        .await
    });
    expect_pass(&outcome);
}

#[test]
fn quorum_intersection_fires_alone_on_rewritten_vote_replies() {
    // A server that stops hearing from the leader while the others commit stands for
    // election with a stale log; the voters refuse it, but a broken driver rewrites every
    // refusal into a grant.
    let outcome = run_cluster(5, 5, 4, |t| async move {
        t.world()
            .checkers_mut()
            .only(&[Invariant::QuorumIntersection]);
        commit(&t, 1).await?;
        let l = leader(&t).expect("a leader");
        let away = (l + 1) % 5;
        t.world().network_mut().set_link(l, away, false);
        commit(&t, 2).await?;
        commit(&t, 3).await?;
        t.world()
            .set_tamper(Some(Box::new(|_, actions: &mut Vec<Action>| {
                for action in actions.iter_mut() {
                    if let Action::Send {
                        message: Message::RequestVoteReply(reply),
                        ..
                    } = action
                    {
                        *reply = RequestVoteReply {
                            term: reply.term,
                            granted: true,
                        };
                    }
                }
            })));
        t.sleep(5_000).await;
        Ok(())
    });
    expect_violation(&outcome, Invariant::QuorumIntersection);
    let message = outcome.result.unwrap_err().message;
    assert!(message.contains("durably voted"), "{message}");
}

#[test]
fn quorum_intersection_fires_alone_on_a_forged_configuration_entry() {
    // Someone posing as the leader appends, on one follower only, a configuration whose sole
    // voter is that follower: its majority and the cluster's are disjoint.
    let outcome = run_cluster(5, 5, 5, |t| async move {
        t.world()
            .checkers_mut()
            .only(&[Invariant::QuorumIntersection]);
        commit(&t, 1).await?;
        let l = leader(&t).expect("a leader");
        let victim = (l + 1) % 5;
        wait_for(&t, 2_000, "the victim caught up", |t| {
            let world = t.world();
            let (leader, victim) = (world.node(l).unwrap(), world.node(victim).unwrap());
            victim.last_index() == leader.last_index()
        })
        .await?;
        let (term, last, last_term) = {
            let world = t.world();
            let node = world.node(victim).expect("alive");
            (node.term(), node.last_index(), node.last_term())
        };
        let alone = Membership::new(vec![NodeId(victim as u64)], vec![]);
        let forged = Message::AppendEntries(AppendEntries {
            term,
            prev_log_index: last,
            prev_log_term: last_term,
            entries: vec![Entry::config(term, alone)],
            leader_commit: LogIndex(0),
        });
        t.world().inject(l, victim, forged);
        t.sleep(100).await;
        Ok(())
    });
    expect_violation(&outcome, Invariant::QuorumIntersection);
    let message = outcome.result.unwrap_err().message;
    assert!(message.contains("can be disjoint"), "{message}");
}

#[test]
fn the_membership_scenarios_end_as_expected_with_and_without_the_features() {
    let both = Features {
        pre_vote: true,
        check_quorum: true,
        ..Features::default()
    };
    for scenario in membership::all() {
        for features in [Features::default(), both] {
            for seed in 1..=2 {
                let result = membership::run(&scenario, features, seed);
                match (result, scenario.holds) {
                    (Err(why), true) => {
                        panic!("{} ({features}, seed {seed}): {why}", scenario.name)
                    }
                    (Ok(()), false) => panic!(
                        "{} ({features}, seed {seed}) passed: the core now handles a reused id; \
                         update the scenario's expectation and the README",
                        scenario.name
                    ),
                    _ => {}
                }
            }
        }
    }
}

#[test]
fn membership_plans_round_trip_and_old_plans_change_none() {
    let old = "n=3,t=2000,lat=0,loss=0,dup=0,reorder=0,topo=none,flow=default,\
               crash=0/0/0,skew=0,snap=0/0,clients=1/50,heal=all";
    let plan: Plan = old.parse().expect("a plan");
    assert!(plan.membership.is_empty());
    assert_eq!(plan.universe(), 3);
    assert!(!plan.to_string().contains("member="));
    let text = format!("{old},member=learner+stale+wiped/700");
    let plan: Plan = text.parse().expect("a plan");
    assert_eq!(
        plan.membership,
        vec![
            ChangeKind::Learner,
            ChangeKind::ReaddStale,
            ChangeKind::ReaddWiped
        ]
    );
    assert_eq!(plan.to_string().parse::<Plan>(), Ok(plan.clone()));
    assert_eq!(plan.universe(), 8);
    assert!("member=add/0".parse::<Plan>().is_err());
    assert!("member=teleport/10".parse::<Plan>().is_err());
    // Plain draws change no membership (so older sweeps run as before); with the membership
    // draw every seed changes some, each kind drawn by some seeds.
    let limits = Limits::default();
    assert!((0..200).all(|s| Plan::draw(s, &limits).membership.is_empty()));
    let drawn: Vec<Plan> = (0..200)
        .map(|s| Plan::draw(s, &limits).with_drawn_membership(s))
        .collect();
    assert!(drawn.iter().all(|p| !p.membership.is_empty()));
    for kind in ChangeKind::DRAWN {
        let with = drawn
            .iter()
            .filter(|p| p.membership.contains(&kind))
            .count();
        // A stale rejoin only on the half of the seeds that run PreVote.
        let expected = match kind {
            ChangeKind::ReaddStale => 25..80,
            _ => 60..140,
        };
        assert!(expected.contains(&with), "{kind:?}: {with}");
    }
    assert!(drawn
        .iter()
        .filter(|p| p.membership.contains(&ChangeKind::ReaddStale))
        .all(|p| p.features.pre_vote));
    assert!(drawn
        .iter()
        .all(|p| !p.membership.contains(&ChangeKind::ReaddWiped)));
}

#[test]
fn a_short_membership_sweep_is_clean_and_changes_complete() {
    let limits = Limits::default();
    let mut completed = 0;
    for seed in 1..=12 {
        let plan = Plan::draw(seed, &limits).with_drawn_membership(seed);
        let outcome = swarm::run(seed, &plan);
        if let Some(failure) = &outcome.failure {
            panic!("{failure:?}\nreplay: {}", outcome.replay_command());
        }
        completed += outcome.changes.values().map(|&(_, done)| done).sum::<u64>();
    }
    assert!(completed >= 12, "only {completed} changes completed");
}

// ---- what the membership swarm found ------------------------------------------------------
// The smallest deterministic scripts of failing swarm seeds.

/// A core bug the membership swarm found (83 of 10 000 `swarm --membership` seeds, e.g. 21,
/// 35, 50), fixed: a leader removes itself from a two-server cluster; its C_new entry (the
/// other server alone) is lost on the way, and it crashes. The survivor, in the joint
/// configuration, needs the old leader's vote, and the old leader refuses the survivor, whose
/// log lacks C_new. Before the fix the old leader, restarted with C_new in force, was no
/// member of it and never campaigned, so nobody could ever be elected. Now it stands while it
/// does not know C_new committed (thesis §4.2.2), wins the survivor's vote, commits C_new and
/// steps down, and the survivor leads.
#[test]
fn a_removed_leader_that_crashed_with_c_new_does_not_block_the_cluster() {
    let outcome = run_cluster(2, 2, 7, |t| async move {
        commit(&t, 1).await?;
        let old = leader(&t).expect("a leader");
        let other = 1 - old;
        // The network loses every append from the old leader that carries a simple
        // configuration (C_new).
        t.world()
            .set_tamper(Some(Box::new(move |server, actions: &mut Vec<Action>| {
                if server != old {
                    return;
                }
                actions.retain(|a| {
                    !matches!(a, Action::Send { message: Message::AppendEntries(m), .. }
                    if m.entries.iter().any(|e| e.membership().is_some_and(|c| !c.is_joint())))
                });
            })));
        let answer = t.world().change_membership(old, &[other], &[]);
        if !matches!(answer, ChangeAnswer::Proposed { .. }) {
            return t.fail(format!("refused: {answer:?}"));
        }
        wait_for(&t, 5_000, "the old leader appended C_new", |t| {
            t.world()
                .membership(old)
                .is_some_and(|m| !m.is_joint() && m.voters == vec![NodeId(other as u64)])
        })
        .await?;
        t.crash(old);
        t.world().set_tamper(None);
        t.start_server(old);
        t.connect(old);
        wait_for(
            &t,
            20_000,
            "the survivor leads the new configuration",
            |t| {
                t.world().node(other).is_some_and(|n| {
                    n.is_leader() && n.committed_membership().voters == vec![NodeId(other as u64)]
                })
            },
        )
        .await
    });
    expect_pass(&outcome);
}

/// Why raft-core's contract says never to reuse the id of a server that lost its disk (found
/// by `member=…+wiped` plans, seed 253): a server removed while cut off keeps the old
/// configuration {0,1,2}; another is removed, wiped and started again under its old id. The
/// stale server stands for election in its old configuration, and the wiped one, with an empty
/// log and no memory of its vote, grants it: two votes of three, a leader without the
/// committed entries. The checkers catch it.
#[test]
fn reusing_a_wiped_servers_id_lets_a_stale_server_lead() {
    let outcome = run_cluster(3, 3, 8, |t| async move {
        commit(&t, 1).await?;
        let l = leader(&t).expect("a leader");
        let (stale, wiped) = ((l + 1) % 3, (l + 2) % 3);
        t.disconnect(stale);
        let mut pair = vec![l, wiped];
        pair.sort_unstable();
        change_to(&t, &pair).await?;
        change_to(&t, &[l]).await?;
        commit(&t, 2).await?;
        t.world().wipe(wiped);
        t.start_server(wiped);
        t.connect(wiped);
        t.connect(stale);
        t.sleep(10_000).await;
        commit(&t, 3).await
    });
    expect_violation(&outcome, Invariant::LeaderCompleteness);
}

/// The same rule, second reason (seed 957 of `member=…+wiped` plans): a server removed, wiped
/// and added back under its old id catches up from the start of the log, where an old
/// configuration names it the only voter (it once led alone). It elects itself there, without
/// the entries committed since. The checkers catch it.
#[test]
fn reusing_a_wiped_servers_id_lets_it_act_on_an_old_configuration() {
    let outcome = run_cluster(3, 4, 9, |t| async move {
        commit(&t, 1).await?;
        let first = leader(&t).expect("a leader");
        change_to(&t, &[first]).await?; // `first` alone
        for other in (0..3).filter(|&i| i != first) {
            t.crash(other); // removed for good
        }
        commit(&t, 2).await?;
        t.world()
            .network_mut()
            .set_message_faults(raft_sim::network::MessageFaults {
                latency_min: 1_000,
                latency_max: 5_000,
                ..Default::default()
            });
        // Server 3 sends one entry per append, so a follower catching up from it passes
        // through every configuration of the log.
        t.world().set_flow_limits(raft_sim::world::FlowLimits {
            max_entries: 1,
            max_bytes: 1 << 20,
            max_inflight: 1,
        });
        t.start_server(3);
        t.connect(3);
        change_to(&t, &[3]).await?; // replaced by 3 alone
        for k in 3..30 {
            commit(&t, k).await?;
        }
        t.world().wipe(first);
        t.start_server(first);
        t.connect(first);
        let asked = t.world().change_membership(3, &[first, 3], &[]);
        if !matches!(asked, ChangeAnswer::Proposed { .. }) {
            return t.fail(format!("refused: {asked:?}"));
        }
        let alone = vec![NodeId(first as u64)];
        wait_for(
            &t,
            5_000,
            "the wiped server appended its old configuration",
            |t| {
                t.world()
                    .membership(first)
                    .is_some_and(|m| !m.is_joint() && m.voters == alone)
            },
        )
        .await?;
        t.world().network_mut().set_link(3, first, false);
        t.sleep(5_000).await;
        t.world().network_mut().clear_cuts();
        commit(&t, 99).await
    });
    expect_violation(&outcome, Invariant::LeaderCompleteness);
}

// ---- regressions: seeds that failed because of the simulator ------------------------------

/// Seed 4314 (and seven more of 10 000): the leader committed C_old,new, appended C_new and
/// crashed inside that step, before anyone applied the joint entry; Quorum Intersection took
/// a server without it for up to date and compared C_old with C_new. A commit a node found
/// counts now even if the node crashes in that step.
#[test]
fn a_commit_found_in_a_step_that_crashes_still_counts() {
    let plan: Plan = "n=7,t=2000,lat=0,loss=0,dup=0,reorder=94,topo=oneway+bridge+partial/136,\
                      flow=3/115/1,pipe=off,crash=269/170/791,skew=0,snap=0/0,clients=2/192,\
                      heal=majority,feat=readindex,transfer=0,member=add+remove+shrink+grow/107"
        .parse()
        .expect("a plan");
    let outcome = swarm::run(4314, &plan);
    assert!(outcome.failure.is_none(), "{:?}", outcome.failure);
}

/// Seed 7473: servers added late start with an empty log; with one entry per message and two
/// in flight, shipping 900 entries took longer than the liveness phase's election-based bound.
/// The bound now allows for it.
#[test]
fn the_liveness_phase_allows_time_to_ship_the_log_to_new_members() {
    let plan: Plan = "n=3,t=29763,lat=4-36,loss=0,dup=255,reorder=0,topo=none,flow=1/263/2,\
                      pipe=off,crash=0/0/0,skew=25,snap=0/0,clients=5/16,heal=all,feat=prevote,\
                      transfer=0,member=learner+replace+grow+leader+stale/702"
        .parse()
        .expect("a plan");
    let outcome = swarm::run(7473, &plan);
    assert!(outcome.failure.is_none(), "{:?}", outcome.failure);
    assert!(outcome.committed > 900, "{}", outcome.committed);
}

/// The stale rejoin without PreVote, as the swarm found it: seeds 3238 (no feature) and 6830
/// (CheckQuorum alone) failed their liveness phase in the first 10 000-seed `--membership`
/// sweep. A server removed while it was down, its old configuration naming it a voter, calls
/// elections it cannot win at ever higher terms, its clock faster than the others'. Added
/// back with its disk, its vote is needed (a two-voter configuration), the server that could
/// win learns its term only from its refusals, and is always a term behind at its next
/// timeout. PreVote (thesis §9.6) keeps the stale server's term where it was, so raft-core's
/// docs require it for re-adding a server with its disk, and the swarm draws the `stale` kind
/// only with PreVote. Those two plans stopped failing once a removed leader hands over (their
/// runs took another course), so these are the two seeds that show the same shape today, from
/// `swarm --seeds 1..10001 --membership --features none` with stale rejoins drawn regardless:
/// stuck without PreVote (a change in either direction is noticed), recovered with it.
#[test]
fn a_stale_voter_with_a_fast_clock_needs_pre_vote_to_stop_disrupting() {
    let plans = [
        (
            1828,
            "n=4,t=14581,lat=0,loss=0,dup=39,reorder=0,topo=none,flow=2/1995/6,pipe=off,\
             crash=0/0/0,skew=50,snap=0/0,clients=5/318,heal=majority,feat=none,transfer=0,\
             member=remove+replace+shrink+grow+stale/200",
        ),
        (
            5161,
            "n=4,t=22663,lat=0,loss=0,dup=0,reorder=71,topo=split+isolate+oneway+partial/320,\
             flow=default,pipe=off,crash=418/33/398,skew=31,snap=0/0,clients=3/183,heal=all,\
             feat=none,transfer=0,member=learner+remove+leader+stale/168",
        ),
    ];
    for (seed, plan) in plans {
        let plan: Plan = plan.parse().expect("a plan");
        let stuck = swarm::run(seed, &plan);
        let failure = stuck.failure.as_ref().map(|f| f.class);
        assert_eq!(failure, Some(swarm::Class::Liveness), "seed {seed}");
        let mut protected = plan.clone();
        protected.features.pre_vote = true;
        protected.features.check_quorum = true;
        let outcome = swarm::run(seed, &protected);
        if let Some(failure) = &outcome.failure {
            panic!(
                "seed {seed} with PreVote: {failure:?}\nreplay: {}",
                outcome.replay_command()
            );
        }
    }
}

/// Seeds 3238 and 6830, drawn today, run no PreVote and so draw no stale rejoin (the draw's
/// rule itself is checked by `membership_plans_round_trip_and_old_plans_change_none`).
#[test]
fn the_seeds_that_stalled_no_longer_draw_a_stale_rejoin() {
    let limits = Limits::default();
    for seed in [3238, 6830] {
        let plan = Plan::draw(seed, &limits).with_drawn_membership(seed);
        assert!(!plan.features.pre_vote, "seed {seed}");
        let stale = plan.membership.contains(&ChangeKind::ReaddStale);
        assert!(!stale, "seed {seed}");
    }
}

/// A membership plan's liveness phase with `heal=majority`: every server is restarted, then
/// as many are kept cut off as leave a majority of every configuration healed, and the rest
/// must elect, settle and commit without them (seed 2 keeps two of eight apart).
const MAJORITY_HEAL: &str = "n=7,t=8190,lat=0,loss=0,dup=0,reorder=145,topo=oneway+bridge/364,\
                             flow=3/58011/1,pipe=10,crash=469/132/477,skew=47,snap=0/0,\
                             clients=3/105,heal=majority,feat=readindex,transfer=0,\
                             member=add+shrink/154";

#[test]
fn a_majority_heal_keeps_a_minority_apart_and_the_rest_makes_progress() {
    let plan: Plan = MAJORITY_HEAL.parse().expect("a plan");
    let outcome = swarm::run_with(2, &plan, raft_sim::trace::Trace::new(true));
    assert!(outcome.failure.is_none(), "{:?}", outcome.failure);
    let kept_apart = |l: &String| l.contains("topology kept apart");
    assert!(
        outcome.trace.iter().any(kept_apart),
        "no server was kept apart"
    );
    let mut all = plan.clone();
    all.heal_all = true;
    let healed_all = swarm::run_with(2, &all, raft_sim::trace::Trace::new(true));
    assert!(healed_all.failure.is_none(), "{:?}", healed_all.failure);
    assert!(!healed_all.trace.iter().any(kept_apart));
}

#[test]
fn a_majority_heal_still_fails_a_cluster_that_cannot_replicate() {
    let plan: Plan = MAJORITY_HEAL.parse().expect("a plan");
    // A driver that never sends entries: nothing commits, no change completes.
    let drop_entries = Box::new(|_: usize, actions: &mut Vec<Action>| {
        actions.retain(|a| {
            !matches!(a, Action::Send { message: Message::AppendEntries(m), .. }
                if !m.entries.is_empty())
        })
    });
    let outcome = swarm::run_tampered(2, &plan, drop_entries);
    let failure = outcome.failure.expect("must fail");
    assert_eq!(failure.class, swarm::Class::Liveness, "{}", failure.message);
    let message = &failure.message;
    assert!(message.contains("kept apart"), "{message}");
}
