//! The simulator's faults beyond the lab's: one-way link cuts, duplicated requests, extra
//! latency and clock skew (per-node tick length). Safety is checked on every apply and step;
//! the cluster must keep committing.

use raft_sim::runner::run_body;
use raft_sim::{Edition, Setup, TestResult, Tester};

const MS: u64 = 1000;

async fn skewed_duplicating_slow_network(t: Tester) -> TestResult {
    let servers = t.n();
    t.begin("skew, duplication, latency and a one-way cut");
    {
        let mut world = t.world();
        for i in 0..servers {
            world.set_tick(i, (8 + i as u64) * MS); // clocks from 8 to 12 ms per tick
        }
        world.network_mut().set_duplication(300);
        world.network_mut().set_extra_latency(4 * MS);
    }
    let sent_before = t.rpc_total();
    for k in 0..20 {
        t.one(k, servers, true).await?;
    }
    let leader = t.check_one_leader().await?;
    // The leader can no longer reach one follower, which can still reach everyone.
    let follower = (leader + 1) % servers;
    t.world().network_mut().set_link(leader, follower, false);
    for k in 20..40 {
        t.one(k, servers - 1, true).await?;
    }
    t.world().network_mut().set_link(leader, follower, true);
    t.one(40, servers, true).await?;
    if t.rpc_total() == sent_before {
        return t.fail("no RPCs were sent");
    }
    t.end()
}

#[test]
fn the_cluster_stays_safe_and_live_with_skew_duplication_latency_and_one_way_cuts() {
    for seed in 1..=30 {
        let setup = Setup {
            servers: 5,
            reliable: true,
            snapshot: false,
        };
        let outcome = run_body(
            setup,
            Edition::Y2024,
            seed,
            false,
            skewed_duplicating_slow_network,
        );
        if let Err(failure) = outcome.result {
            panic!("seed {seed}: {failure}");
        }
    }
}
