//! The simulator's speed: events per second of wall time while running the lab suite on one
//! thread. An event is one step of the simulation (a node's tick, a message delivered, a test
//! task woken); the loop is the runner's own (`raft_sim::runner::run_body`), with a counter.

use raft_sim::runner::HARD_LIMIT;
use raft_sim::tester::Tester;
use raft_sim::{lab, Edition};

/// Runs all 28 tests in both editions for seeds `1..=seeds`; returns (runs, events, failures).
pub fn run_lab_counting_events(seeds: u64) -> (u64, u64, u64) {
    let (mut runs, mut events, mut failures) = (0, 0, 0);
    for seed in 1..=seeds {
        for test in lab::all() {
            for &edition in test.editions {
                let (count, passed) = run_one(&test, edition, seed);
                runs += 1;
                events += count;
                failures += u64::from(!passed);
            }
        }
    }
    (runs, events, failures)
}

/// One run, as `runner::run_body` does it; returns the events run and whether it passed.
fn run_one(test: &lab::LabTest, edition: Edition, seed: u64) -> (u64, bool) {
    let t = Tester::new((test.setup)(edition), edition, seed, false);
    let main = t.go((test.body)(t.clone()));
    let mut events = 0;
    loop {
        t.executor().run_ready();
        if main.is_finished() || t.world().failure().is_some() || t.now() > HARD_LIMIT {
            break;
        }
        let next = t.world().run_next();
        match next {
            Some(Some(waker)) => waker.wake(),
            Some(None) => {}
            None => break,
        }
        events += 1;
    }
    let passed = t.world().failure().is_none() && t.stats().is_some();
    (events, passed)
}
