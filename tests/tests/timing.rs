//! The core's default timing against the lab's limits (with the simulator's 10 ms tick):
//! at most 10 heartbeats per second to each follower, and a new leader within 5 s of losing
//! one, also on a network that drops 10 % of requests and 10 % of replies.

use raft_sim::runner::run_body;
use raft_sim::{Edition, Setup, SimTime, TestResult, Tester};

const MS: SimTime = 1000;

/// Polls every 10 ms until a connected server other than `old` leads; returns how long it took.
async fn time_to_new_leader(t: &Tester, old: usize) -> TestResult<SimTime> {
    let start = t.now();
    loop {
        let leader = (0..t.n()).find(|&i| i != old && t.is_connected(i) && t.get_state(i).1);
        if leader.is_some() {
            return Ok(t.now() - start);
        }
        if t.now() - start > 30_000 * MS {
            return t.fail("no new leader after 30 s");
        }
        t.sleep(10).await;
    }
}

#[test]
fn a_new_leader_is_elected_within_5s_on_a_lossy_network() {
    let worst = std::rc::Rc::new(std::cell::Cell::new(0));
    for seed in 1..=200 {
        for servers in [3, 5] {
            let setup = Setup {
                servers,
                reliable: false,
                snapshot: false,
            };
            let worst = worst.clone();
            let outcome = run_body(setup, Edition::Y2024, seed, false, |t| async move {
                t.begin("re-election on a lossy network");
                for _ in 0..3 {
                    let leader = t.check_one_leader().await?;
                    t.disconnect(leader);
                    let took = time_to_new_leader(&t, leader).await?;
                    if took > 5_000 * MS {
                        return t.fail(format!("new leader took {} ms", took / MS));
                    }
                    worst.set(worst.get().max(took));
                    t.connect(leader);
                }
                t.end()
            });
            if let Err(failure) = outcome.result {
                panic!("seed {seed}, {servers} servers: {failure}");
            }
        }
    }
    println!("slowest re-election: {} ms", worst.get() / MS);
}

#[test]
fn an_idle_leader_sends_at_most_10_heartbeats_per_second_to_each_follower() {
    for seed in 1..=20 {
        let setup = Setup {
            servers: 3,
            reliable: true,
            snapshot: false,
        };
        let outcome = run_body(setup, Edition::Y2024, seed, false, |t| async move {
            t.begin("heartbeat rate");
            t.one(1, 3, false).await?;
            let leader = t.check_one_leader().await?;
            let before: Vec<u64> = (0..3).map(|i| t.rpc_count(i)).collect();
            t.sleep(10_000).await;
            for (i, count) in before.iter().enumerate().filter(|&(i, _)| i != leader) {
                let per_second = (t.rpc_count(i) - count) as f64 / 10.0;
                if !(5.0..=10.0).contains(&per_second) {
                    return t.fail(format!("follower {i} got {per_second} RPCs/s"));
                }
            }
            t.end()
        });
        if let Err(failure) = outcome.result {
            panic!("seed {seed}: {failure}");
        }
    }
}
