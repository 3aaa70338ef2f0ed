//! 3D — log compaction.

use crate::applier::SNAPSHOT_INTERVAL;
use crate::tester::{TestResult, Tester};
use crate::world::Edition;

/// The lab's `MAXLOGSIZE`: the persisted raft state (snapshot data excluded) must stay below
/// it. We keep the lab's number. Our postcard encoding is more compact than Go's gob, which
/// tags every interface value with its type: a log entry holding a random 63-bit integer costs
/// about 12.4 bytes here, so 2000 bytes admit about 160 untrimmed entries. The intent — a
/// log trimmed by snapshots to a few dozen entries — is what the applier's interval of 10
/// produces; inventing a gob-to-postcard conversion factor would be a guess.
const MAX_LOG_SIZE: usize = 2000;

/// The variants of the lab's `snapcommon`.
struct Variant {
    disconnect: bool,
    crash: bool,
}

/// TestSnapshotBasic3D.
pub async fn snapshot_basic(t: Tester) -> TestResult {
    t.begin("Test (3D): snapshots basic");
    snapcommon(
        t,
        Variant {
            disconnect: false,
            crash: false,
        },
    )
    .await
}

/// TestSnapshotInstall3D.
pub async fn snapshot_install(t: Tester) -> TestResult {
    t.begin("Test (3D): install snapshots (disconnect)");
    snapcommon(
        t,
        Variant {
            disconnect: true,
            crash: false,
        },
    )
    .await
}

/// TestSnapshotInstallUnreliable3D.
pub async fn snapshot_install_unreliable(t: Tester) -> TestResult {
    t.begin(match t.edition() {
        Edition::Y2024 => "Test (3D): install snapshots (disconnect+unreliable)",
        Edition::Y2025 => "Test (3D): install snapshots (disconnect)",
    });
    snapcommon(
        t,
        Variant {
            disconnect: true,
            crash: false,
        },
    )
    .await
}

/// TestSnapshotInstallCrash3D.
pub async fn snapshot_install_crash(t: Tester) -> TestResult {
    t.begin("Test (3D): install snapshots (crash)");
    snapcommon(
        t,
        Variant {
            disconnect: false,
            crash: true,
        },
    )
    .await
}

/// TestSnapshotInstallUnCrash3D.
pub async fn snapshot_install_uncrash(t: Tester) -> TestResult {
    t.begin(match t.edition() {
        Edition::Y2024 => "Test (3D): install snapshots (unreliable+crash)",
        Edition::Y2025 => "Test (3D): install snapshots (crash)",
    });
    snapcommon(
        t,
        Variant {
            disconnect: false,
            crash: true,
        },
    )
    .await
}

/// The lab's `snapcommon`: keep committing while a victim (every third time the leader
/// itself) is disconnected or crashed, so that it must catch up by InstallSnapshot.
async fn snapcommon(t: Tester, variant: Variant) -> TestResult {
    let servers = t.n();
    let iters = 30;
    t.one(t.rand_int(), servers, true).await?;
    let mut leader1 = t.check_one_leader().await?;
    for i in 0..iters {
        let mut victim = (leader1 + 1) % servers;
        let mut sender = leader1;
        if i % 3 == 1 {
            sender = (leader1 + 1) % servers;
            victim = leader1;
        }
        if variant.disconnect {
            t.disconnect(victim);
            t.one(t.rand_int(), servers - 1, true).await?;
        }
        if variant.crash {
            t.crash(victim);
            t.one(t.rand_int(), servers - 1, true).await?;
        }
        // Perhaps send enough to get a snapshot.
        let nn = SNAPSHOT_INTERVAL / 2 + t.rand_below(SNAPSHOT_INTERVAL);
        for _ in 0..nn {
            t.start(sender, t.rand_int());
        }
        // Let applier threads catch up with the Start()'s.
        if !variant.disconnect && !variant.crash {
            // Make sure all followers have caught up, so that an InstallSnapshot RPC isn't
            // required for TestSnapshotBasic3D().
            t.one(t.rand_int(), servers, true).await?;
        } else {
            t.one(t.rand_int(), servers - 1, true).await?;
        }
        if t.log_size() >= MAX_LOG_SIZE {
            return t.fail(format!("Log size too large ({} bytes)", t.log_size()));
        }
        if variant.disconnect {
            // Reconnect a follower, who maybe behind and needs to receive a snapshot to
            // catch up.
            t.connect(victim);
            t.one(t.rand_int(), servers, true).await?;
            leader1 = t.check_one_leader().await?;
        }
        if variant.crash {
            t.restart(victim);
            t.one(t.rand_int(), servers, true).await?;
            leader1 = t.check_one_leader().await?;
        }
    }
    t.end()
}

/// TestSnapshotAllCrash3D.
pub async fn snapshot_all_crash(t: Tester) -> TestResult {
    let servers = t.n();
    let iters = 5;
    t.begin("Test (3D): crash and restart all servers");
    t.one(t.rand_int(), servers, true).await?;
    for _ in 0..iters {
        // Perhaps enough to get a snapshot.
        let nn = SNAPSHOT_INTERVAL / 2 + t.rand_below(SNAPSHOT_INTERVAL);
        for _ in 0..nn {
            t.one(t.rand_int(), servers, true).await?;
        }
        let index1 = t.one(t.rand_int(), servers, true).await?;
        // Crash all, then revive all.
        t.crash_all();
        t.start_all();
        let index2 = t.one(t.rand_int(), servers, true).await?;
        if index2 < index1 + 1 {
            return t.fail(format!("index decreased from {index1} to {index2}"));
        }
    }
    t.end()
}

/// TestSnapshotInit3D: do servers correctly initialize their in-memory copy of the snapshot,
/// making sure that future writes to persistent state don't lose state?
pub async fn snapshot_init(t: Tester) -> TestResult {
    let servers = t.n();
    t.begin("Test (3D): snapshot initialization after crash");
    t.one(t.rand_int(), servers, true).await?;
    // Enough ops to make a snapshot.
    let nn = SNAPSHOT_INTERVAL + 1;
    for _ in 0..nn {
        t.one(t.rand_int(), servers, true).await?;
    }
    t.crash_all();
    t.start_all();
    // A single op, to get something to be written back to persistent storage.
    t.one(t.rand_int(), servers, true).await?;
    t.crash_all();
    t.start_all();
    // Do another op to trigger potential bug.
    t.one(t.rand_int(), servers, true).await?;
    t.end()
}
