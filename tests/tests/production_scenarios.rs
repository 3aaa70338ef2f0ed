//! The named liveness scenarios (`raft_sim::scenarios`): the network shapes behind known
//! production Raft outages, each run on seeds 1 to 3 with the production features off, with
//! PreVote alone, with CheckQuorum alone and with both. Each test states, per configuration,
//! whether the cluster settles on a stable leader within the scenario's bound, and checks it:
//! with both features every scenario settles; without them, the ones the features exist for
//! do not. (`cargo run --release -p raft-sim -- scenarios --seeds 1..=10` prints the table.)

use raft_sim::scenarios::{self, Verdict, CONFIGURATIONS};
use raft_sim::Features;

const SEEDS: std::ops::RangeInclusive<u64> = 1..=3;

/// Runs scenario `name` in every configuration on every seed, and checks it settles within
/// its bound exactly where `expected` (features off, PreVote, CheckQuorum, both) says: on
/// every seed (`Some(true)`), on none (`Some(false)`); `None` makes no claim but the run must
/// still be clean. The library's table (the README's) must say the same.
#[track_caller]
fn check(name: &str, expected: [Option<bool>; 4]) {
    let scenario = scenarios::find(name).expect("a scenario of that name");
    assert_eq!(scenario.expected, expected, "the table disagrees");
    for ((label, features), settles) in CONFIGURATIONS.into_iter().zip(expected) {
        for seed in SEEDS {
            let verdict: Verdict = scenarios::run(&scenario, features, seed);
            assert_eq!(verdict.error, None, "{name} {label} seed {seed}");
            if let Some(settles) = settles {
                assert_eq!(
                    verdict.passed,
                    settles,
                    "{name} with {label}, seed {seed}: {verdict:?} (bound {} ms)",
                    scenario.bound / 1000
                );
            }
        }
    }
}

const YES: Option<bool> = Some(true);
const NO: Option<bool> = Some(false);

/// A follower's link flaps: cut off 3 s, back 1 s. Without PreVote its term climbs while it is
/// away and deposes the leader each time it returns (CheckQuorum's stickiness does not stop
/// that: the leader adopts the newer term from the returning node's answers to its
/// heartbeats).
#[test]
fn rejoin() {
    check("rejoin", [NO, YES, NO, YES]);
}

/// Two halves joined by one server. Without either feature, the far half keeps calling
/// elections through the bridge and deposing leaders until the bridge itself wins.
#[test]
fn bridge() {
    check("bridge", [NO, YES, YES, YES]);
}

/// The leader's link to one follower fails one way: that follower keeps calling elections
/// without PreVote (its log is behind, so pre-votes fail) or CheckQuorum (stickiness ignores
/// it).
#[test]
fn one_way() {
    check("one_way", [NO, YES, YES, YES]);
}

/// The leader reaches only one follower, which reaches a majority (openraft issue 2080). With
/// PreVote alone the cluster never recovers: the old leader keeps feeding that follower
/// entries it cannot commit, so the follower's log stays ahead of the majority side's and it
/// refuses their pre-votes, while the old leader never steps down. CheckQuorum makes it.
/// Without either, elections through the middle follower recover, but slowly and not always
/// within the bound (8 of seeds 1 to 10 do): no claim.
#[test]
fn cut_from_quorum() {
    check("cut_from_quorum", [None, NO, YES, YES]);
}

/// A ring of five: every server sees a different majority. Without a feature, the two servers
/// that cannot hear the leader depose every leader forever.
#[test]
fn ring() {
    check("ring", [NO, YES, YES, YES]);
}

/// The target of a leadership transfer crashes before it takes over: the leader refuses
/// proposals until it abandons the transfer, one election timeout later, in every
/// configuration (raft-sim/mutants/transfer_never_aborts.patch is the counter-example).
#[test]
fn transfer_target_crash() {
    check("transfer_target_crash", [YES, YES, YES, YES]);
}

/// A node that missed several terms returns just as the leader crashes (etcd issue 8243): a
/// PreVote implementation that ignores pre-votes from the stale node, and whose pre-votes the
/// stale node answers with a term the other side ignores, never elects anyone.
#[test]
fn stale_term_rejoin() {
    check("stale_term_rejoin", [YES, YES, YES, YES]);
}

// ---------------------------------------------------------------------------------------------
// Lease reads and clock drift (thesis §6.4.1)
// ---------------------------------------------------------------------------------------------

use raft_sim::checkers::Invariant;
use raft_sim::reads::ReadOutcome;
use raft_sim::runner::{run_tester, Outcome};
use raft_sim::tester::Tester;
use raft_sim::world::{Edition, World, DEFAULT_TICK};
use raft_sim::Value;

/// Three servers with lease reads assuming clocks within `drift_bound` percent. The leader's
/// clock runs 50 % slow and the followers' 50 % fast. Once the leader holds its lease, it is
/// cut off from both followers while a client keeps reading at it; the followers elect a new
/// leader as soon as they stop refusing votes, and a client writes there. Returns the run and
/// how many reads the old leader served after it was cut off.
fn partitioned_lease_holder(drift_bound: u32) -> (Outcome, u64) {
    let features = Features {
        pre_vote: true,
        check_quorum: true,
        read_index: true,
        lease_reads: true,
        drift_percent: drift_bound,
    };
    let mut world = World::new(3, 7, Edition::Y2024, false, false);
    world.set_features(features);
    world.set_tick(0, DEFAULT_TICK * 3 / 2);
    for follower in [1, 2] {
        world.set_tick(follower, DEFAULT_TICK / 2);
    }
    let t = Tester::with_world(world, 7);
    let served = std::rc::Rc::new(std::cell::Cell::new(0));
    let count = served.clone();
    let outcome = run_tester(t, 7, move |t| async move {
        t.begin("lease under skew");
        for i in 0..3 {
            t.start_server(i);
            t.connect(i);
        }
        // Hand leadership to server 0 (the slow clock) and wait for its lease.
        while !(t.get_state(0).1 && t.world().node(0).is_some_and(|n| n.lease_holds())) {
            if t.now() > 20_000 * raft_sim::world::MS {
                return t.fail("server 0 never held a lease");
            }
            if let Some(leader) = [1, 2].into_iter().find(|&i| t.get_state(i).1) {
                t.world().transfer_leader(leader, 0);
            }
            t.world().read(0);
            t.start(0, Value::Int(-1));
            t.sleep(10).await;
        }
        t.disconnect(0);
        for k in 0..100 {
            // Reads at the old leader, writes at whoever leads among the others.
            let asked = t.world().read(0);
            if let Some(id) = asked {
                t.sleep(1).await;
                let outcome = t.world().read_outcome(id);
                if matches!(outcome, Some(ReadOutcome::Ready { .. })) {
                    count.set(count.get() + 1);
                }
            }
            for i in [1, 2] {
                if t.get_state(i).1 {
                    t.start(i, Value::Int(k));
                }
            }
            t.sleep(10).await;
        }
        t.finish();
        Ok(())
    });
    (outcome, served.get())
}

/// The lease's assumption is real: with clocks drifting beyond the configured bound, the old
/// leader's lease outlives the followers' stickiness, a new leader commits, and the old one
/// serves a read that misses those writes. The Linearizable Reads checker catches it.
#[test]
fn a_lease_with_clocks_beyond_its_drift_bound_serves_a_stale_read() {
    let (outcome, served) = partitioned_lease_holder(0);
    let failure = outcome.result.expect_err("a stale read");
    assert_eq!(
        outcome.invariant,
        Some(Invariant::LinearizableReads),
        "{failure:?}"
    );
    assert!(
        failure.message.contains("stale read"),
        "{}",
        failure.message
    );
    assert!(served > 0);
}

/// The same run with the bound set to the real drift: the lease ends before any follower
/// votes, the old leader falls back to heartbeat rounds it cannot complete, and every read
/// it served was fresh.
#[test]
fn a_lease_with_clocks_within_its_drift_bound_stays_linearizable() {
    let (outcome, served) = partitioned_lease_holder(50);
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    assert!(served > 0, "the lease served reads before it ran out");
}
