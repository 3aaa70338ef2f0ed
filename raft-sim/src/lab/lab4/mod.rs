//! Lab 4, the key/value service on Raft: 2024's `kvraft` suite (4A without snapshots, 4B
//! with) and 2025's `rsm` (4A, 4C) and `kvraft1` (4B without snapshots, 4C with) suites,
//! each test in the edition that has it.
//!
//! As in the lab, each test body builds its own cluster (the servers of [`crate::kv`] on
//! raft-core), makes clerks, runs client tasks, partitions and crashes servers, and checks
//! what the clients saw, including (in GenericTest) a linearizability check of every
//! operation's call, return and result with [`crate::linearizability`].

mod check;
mod cluster;
mod kvraft;
mod kvraft1;
mod rsm;

pub use check::VIS_DIR_VAR;
pub use cluster::LATENCY;

use super::{Body, LabTest};
use crate::tester::{Setup, TestResult, Tester};
use crate::world::Edition;
use std::future::Future;
use std::pin::Pin;

/// Lab 4 bodies build their cluster themselves; the runner's is empty.
fn own_cluster(_: Edition) -> Setup {
    Setup {
        servers: 0,
        reliable: true,
        snapshot: false,
    }
}

macro_rules! test {
    ($edition:expr, $go_name:literal, $name:literal, $f:path) => {{
        fn body(t: Tester) -> Pin<Box<dyn Future<Output = TestResult>>> {
            Box::pin($f(t))
        }
        LabTest {
            go_name: $go_name,
            name: $name,
            editions: $edition,
            setup: own_cluster,
            body: body as Body,
        }
    }};
}

const Y2024: &[Edition] = &[Edition::Y2024];
const Y2025: &[Edition] = &[Edition::Y2025];

/// Lab 4's tests: 2024's 23, then 2025's 8 rsm and 22 kv tests, each in file order.
pub fn all() -> Vec<LabTest> {
    let mut tests = kvraft_2024();
    tests.extend(rsm_2025());
    tests.extend(kvraft1_2025());
    tests
}

fn kvraft_2024() -> Vec<LabTest> {
    use kvraft::*;
    vec![
        test!(Y2024, "TestBasic4A", "kvraft_basic_4a", basic),
        test!(Y2024, "TestSpeed4A", "kvraft_speed_4a", speed_4a),
        test!(
            Y2024,
            "TestConcurrent4A",
            "kvraft_concurrent_4a",
            concurrent
        ),
        test!(
            Y2024,
            "TestUnreliable4A",
            "kvraft_unreliable_4a",
            unreliable
        ),
        test!(
            Y2024,
            "TestUnreliableOneKey4A",
            "kvraft_unreliable_one_key_4a",
            unreliable_one_key
        ),
        test!(
            Y2024,
            "TestOnePartition4A",
            "kvraft_one_partition_4a",
            one_partition
        ),
        test!(
            Y2024,
            "TestManyPartitionsOneClient4A",
            "kvraft_many_partitions_one_client_4a",
            many_partitions_one_client
        ),
        test!(
            Y2024,
            "TestManyPartitionsManyClients4A",
            "kvraft_many_partitions_many_clients_4a",
            many_partitions_many_clients
        ),
        test!(
            Y2024,
            "TestPersistOneClient4A",
            "kvraft_persist_one_client_4a",
            persist_one_client
        ),
        test!(
            Y2024,
            "TestPersistConcurrent4A",
            "kvraft_persist_concurrent_4a",
            persist_concurrent
        ),
        test!(
            Y2024,
            "TestPersistConcurrentUnreliable4A",
            "kvraft_persist_concurrent_unreliable_4a",
            persist_concurrent_unreliable
        ),
        test!(
            Y2024,
            "TestPersistPartition4A",
            "kvraft_persist_partition_4a",
            persist_partition
        ),
        test!(
            Y2024,
            "TestPersistPartitionUnreliable4A",
            "kvraft_persist_partition_unreliable_4a",
            persist_partition_unreliable
        ),
        test!(
            Y2024,
            "TestPersistPartitionUnreliableLinearizable4A",
            "kvraft_persist_partition_unreliable_linearizable_4a",
            persist_partition_unreliable_linearizable
        ),
        test!(
            Y2024,
            "TestSnapshotRPC4B",
            "kvraft_snapshot_rpc_4b",
            snapshot_rpc
        ),
        test!(
            Y2024,
            "TestSnapshotSize4B",
            "kvraft_snapshot_size_4b",
            snapshot_size
        ),
        test!(Y2024, "TestSpeed4B", "kvraft_speed_4b", speed_4b),
        test!(
            Y2024,
            "TestSnapshotRecover4B",
            "kvraft_snapshot_recover_4b",
            snapshot_recover
        ),
        test!(
            Y2024,
            "TestSnapshotRecoverManyClients4B",
            "kvraft_snapshot_recover_many_clients_4b",
            snapshot_recover_many_clients
        ),
        test!(
            Y2024,
            "TestSnapshotUnreliable4B",
            "kvraft_snapshot_unreliable_4b",
            snapshot_unreliable
        ),
        test!(
            Y2024,
            "TestSnapshotUnreliableRecover4B",
            "kvraft_snapshot_unreliable_recover_4b",
            snapshot_unreliable_recover
        ),
        test!(
            Y2024,
            "TestSnapshotUnreliableRecoverConcurrentPartition4B",
            "kvraft_snapshot_unreliable_recover_concurrent_partition_4b",
            snapshot_unreliable_recover_concurrent_partition
        ),
        test!(
            Y2024,
            "TestSnapshotUnreliableRecoverConcurrentPartitionLinearizable4B",
            "kvraft_snapshot_unreliable_recover_concurrent_partition_linearizable_4b",
            snapshot_unreliable_recover_concurrent_partition_linearizable
        ),
    ]
}

fn rsm_2025() -> Vec<LabTest> {
    use rsm::*;
    vec![
        test!(Y2025, "TestBasic4A", "rsm_basic_4a", basic),
        test!(Y2025, "TestConcurrent4A", "rsm_concurrent_4a", concurrent),
        test!(
            Y2025,
            "TestLeaderFailure4A",
            "rsm_leader_failure_4a",
            leader_failure
        ),
        test!(
            Y2025,
            "TestLeaderPartition4A",
            "rsm_leader_partition_4a",
            leader_partition
        ),
        test!(
            Y2025,
            "TestRestartReplay4A",
            "rsm_restart_replay_4a",
            restart_replay
        ),
        test!(Y2025, "TestShutdown4A", "rsm_shutdown_4a", shutdown),
        test!(
            Y2025,
            "TestRestartSubmit4A",
            "rsm_restart_submit_4a",
            restart_submit
        ),
        test!(Y2025, "TestSnapshot4C", "rsm_snapshot_4c", snapshot),
    ]
}

fn kvraft1_2025() -> Vec<LabTest> {
    use kvraft1::*;
    vec![
        test!(Y2025, "TestBasic4B", "kvraft1_basic_4b", basic),
        test!(Y2025, "TestSpeed4B", "kvraft1_speed_4b", speed_4b),
        test!(
            Y2025,
            "TestConcurrent4B",
            "kvraft1_concurrent_4b",
            concurrent
        ),
        test!(
            Y2025,
            "TestUnreliable4B",
            "kvraft1_unreliable_4b",
            unreliable
        ),
        test!(
            Y2025,
            "TestOnePartition4B",
            "kvraft1_one_partition_4b",
            one_partition
        ),
        test!(
            Y2025,
            "TestManyPartitionsOneClient4B",
            "kvraft1_many_partitions_one_client_4b",
            many_partitions_one_client
        ),
        test!(
            Y2025,
            "TestManyPartitionsManyClients4B",
            "kvraft1_many_partitions_many_clients_4b",
            many_partitions_many_clients
        ),
        test!(
            Y2025,
            "TestPersistOneClient4B",
            "kvraft1_persist_one_client_4b",
            persist_one_client
        ),
        test!(
            Y2025,
            "TestPersistConcurrent4B",
            "kvraft1_persist_concurrent_4b",
            persist_concurrent
        ),
        test!(
            Y2025,
            "TestPersistConcurrentUnreliable4B",
            "kvraft1_persist_concurrent_unreliable_4b",
            persist_concurrent_unreliable
        ),
        test!(
            Y2025,
            "TestPersistPartition4B",
            "kvraft1_persist_partition_4b",
            persist_partition
        ),
        test!(
            Y2025,
            "TestPersistPartitionUnreliable4B",
            "kvraft1_persist_partition_unreliable_4b",
            persist_partition_unreliable
        ),
        test!(
            Y2025,
            "TestPersistPartitionUnreliableLinearizable4B",
            "kvraft1_persist_partition_unreliable_linearizable_4b",
            persist_partition_unreliable_linearizable
        ),
        test!(
            Y2025,
            "TestSnapshotRPC4C",
            "kvraft1_snapshot_rpc_4c",
            snapshot_rpc
        ),
        test!(
            Y2025,
            "TestSnapshotSize4C",
            "kvraft1_snapshot_size_4c",
            snapshot_size
        ),
        test!(Y2025, "TestSpeed4C", "kvraft1_speed_4c", speed_4c),
        test!(
            Y2025,
            "TestSnapshotRecover4C",
            "kvraft1_snapshot_recover_4c",
            snapshot_recover
        ),
        test!(
            Y2025,
            "TestSnapshotRecoverManyClients4C",
            "kvraft1_snapshot_recover_many_clients_4c",
            snapshot_recover_many_clients
        ),
        test!(
            Y2025,
            "TestSnapshotUnreliable4C",
            "kvraft1_snapshot_unreliable_4c",
            snapshot_unreliable
        ),
        test!(
            Y2025,
            "TestSnapshotUnreliableRecover4C",
            "kvraft1_snapshot_unreliable_recover_4c",
            snapshot_unreliable_recover
        ),
        test!(
            Y2025,
            "TestSnapshotUnreliableRecoverConcurrentPartition4C",
            "kvraft1_snapshot_unreliable_recover_concurrent_partition_4c",
            snapshot_unreliable_recover_concurrent_partition
        ),
        test!(
            Y2025,
            "TestSnapshotUnreliableRecoverConcurrentPartitionLinearizable4C",
            "kvraft1_snapshot_unreliable_recover_concurrent_partition_linearizable_4c",
            snapshot_unreliable_recover_concurrent_partition_linearizable
        ),
    ]
}
