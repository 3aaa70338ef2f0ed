//! The MIT 6.5840 Lab 4 suites on the default seed: 2024's `kvraft` (`y2024::kvraft::…`),
//! 2025's `rsm` and `kvraft1` (`y2025::rsm::…`, `y2025::kvraft1::…`); `RAFT_SEEDS=A..B`
//! sweeps a seed range.

/// One `#[test]` per lab test, and the list of their Go names.
macro_rules! lab4_tests {
    ($edition:expr; $($name:ident => $go_name:literal),* $(,)?) => {
        pub const DECLARED: &[&str] = &[$($go_name),*];
        $(
            #[test]
            fn $name() {
                raft_tests::check_lab($go_name, $edition);
            }
        )*
    };
}

mod y2024 {
    pub mod kvraft {
        lab4_tests! { raft_sim::Edition::Y2024;
            basic_4a => "TestBasic4A",
            speed_4a => "TestSpeed4A",
            concurrent_4a => "TestConcurrent4A",
            unreliable_4a => "TestUnreliable4A",
            unreliable_one_key_4a => "TestUnreliableOneKey4A",
            one_partition_4a => "TestOnePartition4A",
            many_partitions_one_client_4a => "TestManyPartitionsOneClient4A",
            many_partitions_many_clients_4a => "TestManyPartitionsManyClients4A",
            persist_one_client_4a => "TestPersistOneClient4A",
            persist_concurrent_4a => "TestPersistConcurrent4A",
            persist_concurrent_unreliable_4a => "TestPersistConcurrentUnreliable4A",
            persist_partition_4a => "TestPersistPartition4A",
            persist_partition_unreliable_4a => "TestPersistPartitionUnreliable4A",
            persist_partition_unreliable_linearizable_4a => "TestPersistPartitionUnreliableLinearizable4A",
            snapshot_rpc_4b => "TestSnapshotRPC4B",
            snapshot_size_4b => "TestSnapshotSize4B",
            speed_4b => "TestSpeed4B",
            snapshot_recover_4b => "TestSnapshotRecover4B",
            snapshot_recover_many_clients_4b => "TestSnapshotRecoverManyClients4B",
            snapshot_unreliable_4b => "TestSnapshotUnreliable4B",
            snapshot_unreliable_recover_4b => "TestSnapshotUnreliableRecover4B",
            snapshot_unreliable_recover_concurrent_partition_4b => "TestSnapshotUnreliableRecoverConcurrentPartition4B",
            snapshot_unreliable_recover_concurrent_partition_linearizable_4b => "TestSnapshotUnreliableRecoverConcurrentPartitionLinearizable4B",
        }
    }
}

mod y2025 {
    pub mod rsm {
        lab4_tests! { raft_sim::Edition::Y2025;
            basic_4a => "TestBasic4A",
            concurrent_4a => "TestConcurrent4A",
            leader_failure_4a => "TestLeaderFailure4A",
            leader_partition_4a => "TestLeaderPartition4A",
            restart_replay_4a => "TestRestartReplay4A",
            shutdown_4a => "TestShutdown4A",
            restart_submit_4a => "TestRestartSubmit4A",
            snapshot_4c => "TestSnapshot4C",
        }
    }

    pub mod kvraft1 {
        lab4_tests! { raft_sim::Edition::Y2025;
            basic_4b => "TestBasic4B",
            speed_4b => "TestSpeed4B",
            concurrent_4b => "TestConcurrent4B",
            unreliable_4b => "TestUnreliable4B",
            one_partition_4b => "TestOnePartition4B",
            many_partitions_one_client_4b => "TestManyPartitionsOneClient4B",
            many_partitions_many_clients_4b => "TestManyPartitionsManyClients4B",
            persist_one_client_4b => "TestPersistOneClient4B",
            persist_concurrent_4b => "TestPersistConcurrent4B",
            persist_concurrent_unreliable_4b => "TestPersistConcurrentUnreliable4B",
            persist_partition_4b => "TestPersistPartition4B",
            persist_partition_unreliable_4b => "TestPersistPartitionUnreliable4B",
            persist_partition_unreliable_linearizable_4b => "TestPersistPartitionUnreliableLinearizable4B",
            snapshot_rpc_4c => "TestSnapshotRPC4C",
            snapshot_size_4c => "TestSnapshotSize4C",
            speed_4c => "TestSpeed4C",
            snapshot_recover_4c => "TestSnapshotRecover4C",
            snapshot_recover_many_clients_4c => "TestSnapshotRecoverManyClients4C",
            snapshot_unreliable_4c => "TestSnapshotUnreliable4C",
            snapshot_unreliable_recover_4c => "TestSnapshotUnreliableRecover4C",
            snapshot_unreliable_recover_concurrent_partition_4c => "TestSnapshotUnreliableRecoverConcurrentPartition4C",
            snapshot_unreliable_recover_concurrent_partition_linearizable_4c => "TestSnapshotUnreliableRecoverConcurrentPartitionLinearizable4C",
        }
    }
}

/// The 23 + 30 tests above are exactly the lab's, in each edition.
#[test]
fn every_lab4_test_is_declared() {
    use raft_sim::Edition;
    let suite = |edition: Edition| -> Vec<&'static str> {
        raft_sim::lab::lab4::all()
            .iter()
            .filter(|t| t.runs_in(edition))
            .map(|t| t.go_name)
            .collect()
    };
    assert_eq!(suite(Edition::Y2024), y2024::kvraft::DECLARED);
    let y2025 = [y2025::rsm::DECLARED, y2025::kvraft1::DECLARED].concat();
    assert_eq!(suite(Edition::Y2025), y2025);
    assert_eq!(y2024::kvraft::DECLARED.len(), 23);
    assert_eq!(y2025.len(), 30);
}

/// Same seed, same run: Lab 4's clerks, partitioner and crashes draw only from the seed.
#[test]
fn lab4_runs_replay_bit_for_bit() {
    use raft_sim::Edition;
    use raft_tests::run_lab;
    for (name, edition) in [
        (
            "TestPersistPartitionUnreliableLinearizable4A",
            Edition::Y2024,
        ),
        (
            "TestSnapshotUnreliableRecoverConcurrentPartition4C",
            Edition::Y2025,
        ),
        ("TestLeaderPartition4A", Edition::Y2025),
    ] {
        let first = run_lab(name, edition, 5);
        let second = run_lab(name, edition, 5);
        assert_eq!(first.digest, second.digest, "{name}");
        assert_eq!(first.result, second.result, "{name}");
        assert_eq!(first.checks, second.checks, "{name}");
        let other = run_lab(name, edition, 6);
        assert_ne!(first.digest, other.digest, "{name}");
    }
}

/// A Lab 4 test asked for in an edition that does not have it fails, and says why.
#[test]
fn a_test_outside_its_edition_fails_clearly() {
    let test = raft_sim::lab::find_in("TestSpeed4A", raft_sim::Edition::Y2024).expect("exists");
    let outcome = raft_sim::runner::run(&test, raft_sim::Edition::Y2025, 1, false);
    let failure = outcome.result.expect_err("not a 2025 test");
    assert!(
        failure.message.contains("not a test of the 2025 edition"),
        "{failure}"
    );
}
