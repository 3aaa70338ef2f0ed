//! 3B — log replication.

use crate::tester::{TestResult, Tester, RAFT_ELECTION_TIMEOUT_MS as RET};

/// TestBasicAgree3B.
pub async fn basic_agree(t: Tester) -> TestResult {
    let servers = t.n();
    t.begin("Test (3B): basic agreement");
    for index in 1..=3u64 {
        let (count, _) = t.n_committed(index)?;
        if count > 0 {
            return t.fail("some have committed before Start()");
        }
        let x = t.one(index as i64 * 100, servers, false).await?;
        if x != index {
            return t.fail(format!("got index {x} but expected {index}"));
        }
    }
    t.end()
}

/// TestFailAgree3B.
pub async fn fail_agree(t: Tester) -> TestResult {
    let servers = t.n();
    t.begin("Test (3B): agreement after follower reconnects");
    t.one(101, servers, false).await?;
    // Disconnect one follower from the network.
    let leader = t.check_one_leader().await?;
    t.disconnect((leader + 1) % servers);
    // The leader and remaining follower should be able to agree despite the disconnected
    // follower.
    t.one(102, servers - 1, false).await?;
    t.one(103, servers - 1, false).await?;
    t.sleep(RET).await;
    t.one(104, servers - 1, false).await?;
    t.one(105, servers - 1, false).await?;
    // Re-connect.
    t.connect((leader + 1) % servers);
    // The full set of servers should preserve previous agreements, and be able to agree on
    // new commands.
    t.one(106, servers, true).await?;
    t.sleep(RET).await;
    t.one(107, servers, true).await?;
    t.end()
}
