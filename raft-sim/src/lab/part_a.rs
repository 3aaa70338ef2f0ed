//! 3A — leader election.

use crate::tester::{TestResult, Tester, RAFT_ELECTION_TIMEOUT_MS as RET};

/// TestInitialElection3A.
pub async fn initial_election(t: Tester) -> TestResult {
    t.begin("Test (3A): initial election");
    // Is a leader elected?
    t.check_one_leader().await?;
    // Sleep a bit to avoid racing with followers learning of the election, then check that
    // all peers agree on the term.
    t.sleep(50).await;
    let term1 = t.check_terms()?;
    if term1.is_none_or(|term| term < 1) {
        return t.fail(format!("term is {term1:?}, but should be at least 1"));
    }
    // Does the leader+term stay the same if there is no network failure?
    t.sleep(2 * RET).await;
    let term2 = t.check_terms()?;
    if term1 != term2 {
        println!("warning: term changed even though there were no failures");
    }
    // There should still be a leader.
    t.check_one_leader().await?;
    t.end()
}

/// TestReElection3A.
pub async fn re_election(t: Tester) -> TestResult {
    let servers = t.n();
    t.begin("Test (3A): election after network failure");
    let leader1 = t.check_one_leader().await?;
    // If the leader disconnects, a new one should be elected.
    t.disconnect(leader1);
    t.check_one_leader().await?;
    // If the old leader rejoins, that shouldn't disturb the new leader.
    t.connect(leader1);
    let leader2 = t.check_one_leader().await?;
    // If there's no quorum, no new leader should be elected.
    t.disconnect(leader2);
    t.disconnect((leader2 + 1) % servers);
    t.sleep(2 * RET).await;
    // Check that the one connected server does not think it is the leader.
    t.check_no_leader()?;
    // If a quorum arises, it should elect a leader.
    t.connect((leader2 + 1) % servers);
    t.check_one_leader().await?;
    // Re-join of last node shouldn't prevent leader from existing.
    t.connect(leader2);
    t.check_one_leader().await?;
    t.end()
}

/// TestManyElections3A.
pub async fn many_elections(t: Tester) -> TestResult {
    let servers = t.n() as u64;
    t.begin("Test (3A): multiple elections");
    t.check_one_leader().await?;
    let iters = 10;
    for _ in 1..iters {
        // Disconnect three nodes (possibly the same one more than once).
        let i1 = t.rand_below(servers) as usize;
        let i2 = t.rand_below(servers) as usize;
        let i3 = t.rand_below(servers) as usize;
        t.disconnect(i1);
        t.disconnect(i2);
        t.disconnect(i3);
        // Either the current leader should still be alive, or the remaining four should
        // elect a new one.
        t.check_one_leader().await?;
        t.connect(i1);
        t.connect(i2);
        t.connect(i3);
    }
    t.check_one_leader().await?;
    t.end()
}
