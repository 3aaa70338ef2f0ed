//! Each whole-cluster checker fires on what it is meant to catch: deliberately broken drivers
//! (a world that skips part of a durable write, applies an entry twice) and forged messages,
//! run through the simulator. Some tests keep only the checker under test, to show it catches
//! the fault on its own rather than behind another one.

use raft_core::{Action, AppendEntries, Entry, LogIndex, Message, RequestVoteReply, Term};
use raft_sim::checkers::Invariant;
use raft_sim::runner::run_body;
use raft_sim::{Edition, Outcome, Setup, TestResult, Tester, Value};

const THREE: Setup = Setup {
    servers: 3,
    reliable: true,
    snapshot: false,
};

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
    assert!(
        failure.message.starts_with(invariant.name()),
        "{}",
        failure.message
    );
}

/// Polls every millisecond until `ready` holds (at most `limit_ms`).
async fn wait_until(t: &Tester, limit_ms: u64, ready: impl Fn(&Tester) -> bool) -> TestResult {
    for _ in 0..limit_ms {
        if ready(t) {
            return Ok(());
        }
        t.sleep(1).await;
    }
    t.fail("condition not reached")
}

/// A driver that drops part of every durable write of the servers `who` selects.
fn drop_from_persist(t: &Tester, who: fn(usize) -> bool, drop: fn(&mut raft_core::PersistChange)) {
    t.world().set_tamper(Some(Box::new(move |server, actions| {
        if who(server) {
            for action in actions.iter_mut() {
                if let Action::Persist(change) = action {
                    drop(change);
                }
            }
        }
    })));
}

#[test]
fn election_safety_fires_on_forged_votes() {
    // An isolated follower times out and stands for term T+1; forged grants make it leader.
    // Meanwhile the connected pair, whose leader crashed and restarted, elects a leader of
    // its own for T+1.
    let outcome = run_body(THREE, Edition::Y2024, 1, false, |t| async move {
        // Quorum Intersection sees first that the forged grants are no durable votes.
        t.world().checkers_mut().only(&[Invariant::ElectionSafety]);
        t.begin("forged votes");
        let leader = t.check_one_leader().await?;
        let term = t.get_state(leader).0;
        let isolated = (leader + 1) % 3;
        t.disconnect(isolated);
        wait_until(&t, 5_000, |t| {
            t.world()
                .node(isolated)
                .is_some_and(|n| n.term().0 == term + 1)
        })
        .await?;
        for peer in (0..3).filter(|&p| p != isolated) {
            let forged = Message::RequestVoteReply(RequestVoteReply {
                term: Term(term + 1),
                granted: true,
            });
            t.world().inject(peer, isolated, forged);
        }
        t.sleep(1).await;
        t.crash(leader);
        t.restart(leader);
        t.sleep(5_000).await;
        t.end()
    });
    expect_violation(&outcome, Invariant::ElectionSafety);
}

#[test]
fn log_matching_fires_on_a_forged_append_from_a_follower() {
    let outcome = run_body(THREE, Edition::Y2024, 2, false, |t| async move {
        t.begin("forged append");
        t.one(1, 3, false).await?;
        let leader = t.check_one_leader().await?;
        let (forger, victim) = ((leader + 1) % 3, (leader + 2) % 3);
        let (term, last) = {
            let world = t.world();
            let node = world.node(victim).expect("alive");
            (node.term(), node.last_index())
        };
        // The forger claims to lead the current term and appends its own entry.
        let forged = Message::AppendEntries(AppendEntries {
            term,
            prev_log_index: last,
            prev_log_term: term,
            entries: vec![Entry::new(term, Value::Int(666).encode())],
            leader_commit: LogIndex(0),
        });
        t.world().inject(forger, victim, forged);
        t.sleep(1).await;
        t.one(2, 2, false).await?;
        t.end()
    });
    expect_violation(&outcome, Invariant::LogMatching);
}

#[test]
fn state_machine_safety_fires_when_the_driver_applies_an_entry_twice() {
    let outcome = run_body(THREE, Edition::Y2024, 3, false, |t| async move {
        t.begin("applies twice");
        t.world().set_tamper(Some(Box::new(|_, actions| {
            let again: Vec<Action> = actions
                .iter()
                .filter(|a| matches!(a, Action::Apply { .. }))
                .cloned()
                .collect();
            actions.extend(again);
        })));
        t.one(1, 3, false).await?;
        t.end()
    });
    expect_violation(&outcome, Invariant::StateMachineSafety);
}

#[test]
fn durability_fires_when_servers_acknowledge_entries_they_did_not_persist() {
    let outcome = run_body(THREE, Edition::Y2024, 4, false, |t| async move {
        t.begin("unpersisted appends");
        t.check_one_leader().await?;
        drop_from_persist(&t, |_| true, |change| change.append = None);
        t.one(1, 3, false).await?;
        t.end()
    });
    expect_violation(&outcome, Invariant::Durability);
}

#[test]
fn leader_completeness_fires_alone_when_a_leader_lost_committed_entries() {
    // Server 1 acknowledges entries it never persists; once it and the leader crash, it can
    // lead with a log that lacks what was committed.
    let outcome = run_body(THREE, Edition::Y2024, 5, false, |t| async move {
        t.world()
            .checkers_mut()
            .only(&[Invariant::LeaderCompleteness]);
        t.begin("leader without committed entries");
        let leader = loop {
            let leader = t.check_one_leader().await?;
            if leader == 0 {
                break leader;
            }
            t.crash(leader);
            t.restart(leader);
        };
        t.disconnect(2);
        drop_from_persist(&t, |s| s == 1, |change| change.append = None);
        t.one(10, 2, false).await?;
        t.one(11, 2, false).await?;
        t.crash(leader);
        t.crash(1);
        t.restart(1);
        t.connect(2);
        t.sleep(5_000).await;
        t.end()
    });
    expect_violation(&outcome, Invariant::LeaderCompleteness);
}

#[test]
fn monotonicity_fires_when_a_node_restarts_behind_the_term_it_acted_in() {
    let outcome = run_body(THREE, Edition::Y2024, 6, false, |t| async move {
        // Quorum Intersection sees first that a leader was elected without durable votes.
        t.world().checkers_mut().only(&[Invariant::Monotonicity]);
        t.begin("unpersisted terms");
        drop_from_persist(&t, |_| true, |change| change.hard_state = None);
        let leader = t.check_one_leader().await?;
        t.crash(leader);
        t.restart(leader);
        t.sleep(1_000).await;
        t.end()
    });
    expect_violation(&outcome, Invariant::Monotonicity);
}

#[test]
fn a_correct_run_with_mid_step_crashes_and_torn_writes_stays_clean() {
    let mut torn = 0;
    for seed in 1..=20 {
        let outcome = run_body(THREE, Edition::Y2024, seed, true, |t| async move {
            t.begin("torn writes");
            for round in 0..10 {
                let leader = t.check_one_leader().await?;
                let victim = (leader + 1 + t.rand_below(2) as usize) % 3;
                t.disconnect(victim);
                for k in 0..8 {
                    t.start(leader, Value::Int(round * 100 + k));
                }
                t.world().crash_in_next_step(victim);
                t.connect(victim);
                t.sleep(300).await;
                if !t.is_alive(victim) {
                    t.restart(victim);
                }
                t.one(1000 + round, 3, true).await?;
            }
            t.end()
        });
        if let Err(failure) = outcome.result {
            panic!("seed {seed}: {failure}");
        }
        let mid_write = |l: &&String| l.contains("crashes mid-write") && !l.contains(" 0 of");
        torn += outcome.trace.iter().filter(mid_write).count();
    }
    // The schedule must really tear writes, or it proves nothing.
    assert!(torn >= 10, "only {torn} partially durable writes");
}

/// Found by the swarm (seed 790): a crash inside the snapshot that follows an apply used to
/// leave the world stepping the dead node for the next snapshot of the same batch.
#[test]
fn a_crash_inside_a_snapshot_step_ends_the_batch() {
    let setup = Setup {
        servers: 3,
        reliable: true,
        snapshot: true,
    };
    let outcome = run_body(setup, Edition::Y2024, 7, false, |t| async move {
        t.begin("crash while snapshotting");
        for i in 0..3 {
            t.world().appliers_mut().set_snapshot_policy(i, 2, 0);
        }
        let leader = t.check_one_leader().await?;
        let follower = (leader + 1) % 3;
        // With 5 ms per message, the follower stores the eight entries before it learns that
        // they are committed, from a message that writes nothing but applies all eight,
        // snapshotting after every second one. The crash is armed in between, so it falls
        // into the first of those snapshots.
        t.world().network_mut().set_extra_latency(5 * 1000);
        for k in 0..8 {
            t.start(leader, Value::Int(k));
        }
        wait_until(&t, 1_000, |t| {
            t.world()
                .node(follower)
                .is_some_and(|n| n.last_index().0 == 8 && n.commit_index().0 < 8)
        })
        .await?;
        t.world().crash_in_next_step(follower);
        t.sleep(500).await;
        if t.is_alive(follower) {
            return t.fail("the armed crash never happened");
        }
        t.restart(follower);
        t.one(100, 3, true).await?;
        t.end()
    });
    if let Err(failure) = outcome.result {
        panic!("{failure}");
    }
}

/// A driver that serves reads from a state older than the read index: it hands the service
/// each `ReadReady` before the `Apply`s of the same step. A read asked of a new leader waits
/// for its first commit, and is answered in the very step that applies it; the broken order
/// lets Linearizable Reads see a service that had not applied through the index yet.
#[test]
fn linearizable_reads_fires_on_a_read_served_before_its_index_is_applied() {
    let features = raft_sim::Features {
        read_index: true,
        ..raft_sim::Features::default()
    };
    let trace = raft_sim::trace::Trace::new(false);
    let t = Tester::with_features(THREE, Edition::Y2024, 1, trace, features);
    let outcome = raft_sim::runner::run_tester(t, 1, |t| async move {
        t.begin("early reads");
        t.world()
            .network_mut()
            .set_message_faults(raft_sim::network::MessageFaults {
                latency_min: 5_000,
                latency_max: 10_000,
                ..Default::default()
            });
        t.world()
            .set_tamper(Some(Box::new(|_, actions: &mut Vec<Action>| {
                actions.sort_by_key(|a| !matches!(a, Action::ReadReady { .. }));
            })));
        // Read at every server every millisecond while the first leader takes office.
        for _ in 0..3_000 {
            for i in 0..3 {
                t.world().read(i);
            }
            t.sleep(1).await;
        }
        t.finish();
        Ok(())
    });
    expect_violation(&outcome, Invariant::LinearizableReads);
    let message = outcome.result.unwrap_err().message;
    assert!(message.contains("applied only through"), "{message}");
}

/// A driver that answers reads with a forged, too-low index: the read misses writes
/// committed before it was asked for.
#[test]
fn linearizable_reads_fires_on_a_stale_read_index() {
    let features = raft_sim::Features {
        read_index: true,
        ..raft_sim::Features::default()
    };
    let trace = raft_sim::trace::Trace::new(false);
    let t = Tester::with_features(THREE, Edition::Y2024, 2, trace, features);
    let outcome = raft_sim::runner::run_tester(t, 2, |t| async move {
        t.begin("stale read index");
        let leader = t.check_one_leader().await?;
        t.one(Value::Int(1), 3, true).await?;
        t.world()
            .set_tamper(Some(Box::new(|_, actions: &mut Vec<Action>| {
                for action in actions.iter_mut() {
                    if let Action::ReadReady { index, .. } = action {
                        *index = LogIndex(0);
                    }
                }
            })));
        t.world().read(leader);
        t.sleep(1_000).await;
        t.finish();
        Ok(())
    });
    expect_violation(&outcome, Invariant::LinearizableReads);
    let message = outcome.result.unwrap_err().message;
    assert!(message.contains("a stale read"), "{message}");
}
