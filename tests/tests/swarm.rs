//! The swarm itself: runs replay exactly, every failure class is reported as such (a cluster
//! that cannot commit is a liveness failure, a panic a panic, a broken disk a safety failure),
//! shrinking keeps the failure while simplifying the plan, and a short sweep of the real core
//! is clean.

use raft_core::{Action, Message};
use raft_sim::swarm::{self, Class, Limits, Plan};

fn plan(seed: u64) -> Plan {
    Plan::draw(seed, &Limits::default())
}

#[test]
fn a_seed_and_plan_replay_exactly_on_any_thread() {
    for seed in [3, 17, 40] {
        let here = swarm::run(seed, &plan(seed));
        let there = std::thread::spawn(move || swarm::run(seed, &plan(seed)))
            .join()
            .expect("no panic");
        assert_eq!(here.digest, there.digest, "seed {seed}");
        assert_eq!(here.committed, there.committed, "seed {seed}");
        assert_eq!(here.virtual_time, there.virtual_time, "seed {seed}");
    }
    assert_ne!(
        swarm::run(3, &plan(3)).digest,
        swarm::run(4, &plan(3)).digest
    );
}

#[test]
fn a_short_sweep_of_the_real_core_is_clean() {
    for seed in 1..=40 {
        let outcome = swarm::run(seed, &plan(seed));
        if let Some(failure) = &outcome.failure {
            panic!("{failure:?}\nreplay: {}", outcome.replay_command());
        }
        assert!(outcome.committed > 0, "seed {seed} committed nothing");
    }
}

#[test]
fn a_cluster_that_cannot_replicate_fails_the_liveness_phase() {
    let plan: Plan = "n=3,t=2000,lat=0,loss=0,dup=0,reorder=0,topo=none,flow=default,\
                      crash=0/0/0,skew=0,snap=0/0,clients=1/50,heal=all"
        .parse()
        .expect("a plan");
    // A driver that never sends entries: elections work, nothing ever commits.
    let drop_entries = Box::new(|_: usize, actions: &mut Vec<Action>| {
        actions.retain(|a| {
            !matches!(a, Action::Send { message: Message::AppendEntries(m), .. }
                if !m.entries.is_empty())
        })
    });
    let outcome = swarm::run_tampered(1, &plan, drop_entries);
    let failure = outcome.failure.expect("must fail");
    assert_eq!(failure.class, Class::Liveness, "{}", failure.message);
    assert!(
        failure.message.contains("did not commit"),
        "{}",
        failure.message
    );
    assert_eq!(failure.invariant, None);
}

#[test]
fn a_panic_is_reported_as_a_panic() {
    let outcome = swarm::run_tampered(1, &plan(1), Box::new(|_, _| panic!("broken driver")));
    let failure = outcome.failure.expect("must fail");
    assert_eq!(failure.class, Class::Panic);
    assert!(
        failure.message.contains("broken driver"),
        "{}",
        failure.message
    );
}

#[test]
fn unsafe_disks_are_caught_and_shrinking_keeps_the_failure() {
    let failing = (1..=50)
        .map(|seed| {
            let mut plan = plan(seed);
            plan.unsafe_disk = true;
            swarm::run(seed, &plan)
        })
        .find(|o| o.failure.is_some())
        .expect("an unsafe disk must be caught within 50 seeds");
    let failure = failing.failure.clone().expect("failed");
    assert_eq!(failure.class, Class::Safety, "{}", failure.message);
    let smallest = swarm::shrink(&failing, 300);
    let kept = smallest.failure.clone().expect("still fails");
    assert!(kept.same_kind(&failure), "{kept:?} vs {failure:?}");
    assert!(smallest.plan.nodes <= failing.plan.nodes);
    assert!(smallest.plan.time_ms <= failing.plan.time_ms);
    assert!(smallest.plan.fault_kinds().len() <= failing.plan.fault_kinds().len());
    assert!(smallest.plan.unsafe_disk, "the cause must stay");
    // The shrunk run replays exactly from what it prints.
    let again = swarm::run(
        smallest.seed,
        &smallest.plan.to_string().parse().expect("plan"),
    );
    assert_eq!(again.digest, smallest.digest);
}
