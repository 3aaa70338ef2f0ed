//! The MIT 6.5840 lab tests, ported line for line onto the tester: Lab 3 (Raft, 28 tests in
//! each edition) and Lab 4 (the key/value service: 23 tests in 2024, 30 in 2025; see
//! [`lab4`]). `raft-sim/docs/lab-harness.md` describes the harness.
//!
//! Each test body reads like its Go original: same loop counts, sleeps, bounds and messages.
//! Where the 2024 and 2025 editions differ, the body branches on [`Tester::edition`].

pub mod lab4;
mod part_a;
mod part_b;
mod part_c;
mod part_d;

use crate::tester::{Setup, TestResult, Tester};
use crate::world::Edition;
use std::future::Future;
use std::pin::Pin;

/// A test body: an async function of the tester.
pub type Body = fn(Tester) -> Pin<Box<dyn Future<Output = TestResult>>>;

/// One lab test.
pub struct LabTest {
    /// The Go name, e.g. `TestInitialElection3A`.
    pub go_name: &'static str,
    /// Our name, e.g. `initial_election_3a`; Lab 4 names start with the lab's package
    /// (`kvraft_`, `kvraft1_`, `rsm_`), since Go names repeat across editions.
    pub name: &'static str,
    /// The editions that have this test (Lab 3: both; each Lab 4 test: one).
    pub editions: &'static [Edition],
    /// The cluster it runs on, per edition (Lab 4 bodies build their own, as the lab's do).
    pub setup: fn(Edition) -> Setup,
    /// The test itself.
    pub body: Body,
}

impl LabTest {
    /// The lab part, e.g. `3A`.
    pub fn part(&self) -> &'static str {
        &self.go_name[self.go_name.len() - 2..]
    }

    /// Whether `edition` has this test.
    pub fn runs_in(&self, edition: Edition) -> bool {
        self.editions.contains(&edition)
    }

    /// The names a `go test -run`-style filter is matched against: the Go name with and
    /// without `Test`, ours, the part (`3A`, `4B`) and, for Lab 3, the part spelled `PartA`.
    pub fn names(&self) -> Vec<String> {
        let part = self.part();
        let mut names = vec![
            self.go_name.to_string(),
            self.go_name.trim_start_matches("Test").to_string(),
            self.name.to_string(),
            part.to_string(),
        ];
        if let Some(letter) = part.strip_prefix('3') {
            names.push(format!("Part{letter}"));
        }
        names
    }
}

/// A `Setup` that is the same in both editions.
macro_rules! setup {
    ($servers:expr, $reliable:expr, $snapshot:expr) => {{
        fn setup(_: Edition) -> Setup {
            Setup {
                servers: $servers,
                reliable: $reliable,
                snapshot: $snapshot,
            }
        }
        setup
    }};
}

macro_rules! body {
    ($f:path) => {{
        fn body(t: Tester) -> Pin<Box<dyn Future<Output = TestResult>>> {
            Box::pin($f(t))
        }
        body
    }};
}

/// Every test: Lab 3's 28, then Lab 4's 2024 and 2025 tests, in the lab's order.
pub fn all() -> Vec<LabTest> {
    let mut tests = lab3();
    tests.extend(lab4::all());
    tests
}

/// Lab 3's 28 tests, in the lab's order.
pub fn lab3() -> Vec<LabTest> {
    const RELIABLE: bool = true;
    const UNRELIABLE: bool = false;
    const PLAIN: bool = false;
    const SNAPSHOT: bool = true;
    vec![
        LabTest {
            go_name: "TestInitialElection3A",
            name: "initial_election_3a",
            editions: &Edition::ALL,
            setup: setup!(3, RELIABLE, PLAIN),
            body: body!(part_a::initial_election),
        },
        LabTest {
            go_name: "TestReElection3A",
            name: "re_election_3a",
            editions: &Edition::ALL,
            setup: setup!(3, RELIABLE, PLAIN),
            body: body!(part_a::re_election),
        },
        LabTest {
            go_name: "TestManyElections3A",
            name: "many_elections_3a",
            editions: &Edition::ALL,
            setup: setup!(7, RELIABLE, PLAIN),
            body: body!(part_a::many_elections),
        },
        LabTest {
            go_name: "TestBasicAgree3B",
            name: "basic_agree_3b",
            editions: &Edition::ALL,
            setup: setup!(3, RELIABLE, PLAIN),
            body: body!(part_b::basic_agree),
        },
        LabTest {
            go_name: "TestRPCBytes3B",
            name: "rpc_bytes_3b",
            editions: &Edition::ALL,
            setup: setup!(3, RELIABLE, PLAIN),
            body: body!(part_b::rpc_bytes),
        },
        LabTest {
            go_name: "TestFollowerFailure3B",
            name: "follower_failure_3b",
            editions: &Edition::ALL,
            setup: setup!(3, RELIABLE, PLAIN),
            body: body!(part_b::follower_failure),
        },
        LabTest {
            go_name: "TestLeaderFailure3B",
            name: "leader_failure_3b",
            editions: &Edition::ALL,
            setup: setup!(3, RELIABLE, PLAIN),
            body: body!(part_b::leader_failure),
        },
        LabTest {
            go_name: "TestFailAgree3B",
            name: "fail_agree_3b",
            editions: &Edition::ALL,
            setup: setup!(3, RELIABLE, PLAIN),
            body: body!(part_b::fail_agree),
        },
        LabTest {
            go_name: "TestFailNoAgree3B",
            name: "fail_no_agree_3b",
            editions: &Edition::ALL,
            setup: setup!(5, RELIABLE, PLAIN),
            body: body!(part_b::fail_no_agree),
        },
        LabTest {
            go_name: "TestConcurrentStarts3B",
            name: "concurrent_starts_3b",
            editions: &Edition::ALL,
            setup: setup!(3, RELIABLE, PLAIN),
            body: body!(part_b::concurrent_starts),
        },
        LabTest {
            go_name: "TestRejoin3B",
            name: "rejoin_3b",
            editions: &Edition::ALL,
            setup: setup!(3, RELIABLE, PLAIN),
            body: body!(part_b::rejoin),
        },
        LabTest {
            go_name: "TestBackup3B",
            name: "backup_3b",
            editions: &Edition::ALL,
            setup: setup!(5, RELIABLE, PLAIN),
            body: body!(part_b::backup),
        },
        LabTest {
            go_name: "TestCount3B",
            name: "count_3b",
            editions: &Edition::ALL,
            setup: setup!(3, RELIABLE, PLAIN),
            body: body!(part_b::count),
        },
        LabTest {
            go_name: "TestPersist13C",
            name: "persist1_3c",
            editions: &Edition::ALL,
            setup: setup!(3, RELIABLE, PLAIN),
            body: body!(part_c::persist1),
        },
        LabTest {
            go_name: "TestPersist23C",
            name: "persist2_3c",
            editions: &Edition::ALL,
            setup: setup!(5, RELIABLE, PLAIN),
            body: body!(part_c::persist2),
        },
        LabTest {
            go_name: "TestPersist33C",
            name: "persist3_3c",
            editions: &Edition::ALL,
            setup: setup!(3, RELIABLE, PLAIN),
            body: body!(part_c::persist3),
        },
        LabTest {
            go_name: "TestFigure83C",
            name: "figure8_3c",
            editions: &Edition::ALL,
            setup: setup!(5, RELIABLE, PLAIN),
            body: body!(part_c::figure8),
        },
        LabTest {
            go_name: "TestUnreliableAgree3C",
            name: "unreliable_agree_3c",
            editions: &Edition::ALL,
            setup: setup!(5, UNRELIABLE, PLAIN),
            body: body!(part_c::unreliable_agree),
        },
        LabTest {
            go_name: "TestFigure8Unreliable3C",
            name: "figure8_unreliable_3c",
            editions: &Edition::ALL,
            setup: setup!(5, UNRELIABLE, PLAIN),
            body: body!(part_c::figure8_unreliable),
        },
        LabTest {
            go_name: "TestReliableChurn3C",
            name: "reliable_churn_3c",
            editions: &Edition::ALL,
            setup: setup!(5, RELIABLE, PLAIN),
            body: body!(part_c::reliable_churn),
        },
        LabTest {
            go_name: "TestUnreliableChurn3C",
            name: "unreliable_churn_3c",
            editions: &Edition::ALL,
            setup: setup!(5, UNRELIABLE, PLAIN),
            body: body!(part_c::unreliable_churn),
        },
        LabTest {
            go_name: "TestSnapshotBasic3D",
            name: "snapshot_basic_3d",
            editions: &Edition::ALL,
            setup: setup!(3, RELIABLE, SNAPSHOT),
            body: body!(part_d::snapshot_basic),
        },
        LabTest {
            go_name: "TestSnapshotInstall3D",
            name: "snapshot_install_3d",
            editions: &Edition::ALL,
            setup: setup!(3, RELIABLE, SNAPSHOT),
            body: body!(part_d::snapshot_install),
        },
        LabTest {
            go_name: "TestSnapshotInstallUnreliable3D",
            name: "snapshot_install_unreliable_3d",
            editions: &Edition::ALL,
            setup: setup!(3, UNRELIABLE, SNAPSHOT),
            body: body!(part_d::snapshot_install_unreliable),
        },
        LabTest {
            go_name: "TestSnapshotInstallCrash3D",
            name: "snapshot_install_crash_3d",
            editions: &Edition::ALL,
            setup: setup!(3, RELIABLE, SNAPSHOT),
            body: body!(part_d::snapshot_install_crash),
        },
        LabTest {
            go_name: "TestSnapshotInstallUnCrash3D",
            name: "snapshot_install_uncrash_3d",
            editions: &Edition::ALL,
            setup: setup!(3, UNRELIABLE, SNAPSHOT),
            body: body!(part_d::snapshot_install_uncrash),
        },
        LabTest {
            go_name: "TestSnapshotAllCrash3D",
            name: "snapshot_all_crash_3d",
            editions: &Edition::ALL,
            setup: snapshot_restart_setup,
            body: body!(part_d::snapshot_all_crash),
        },
        LabTest {
            go_name: "TestSnapshotInit3D",
            name: "snapshot_init_3d",
            editions: &Edition::ALL,
            setup: snapshot_restart_setup,
            body: body!(part_d::snapshot_init),
        },
    ]
}

/// TestSnapshotAllCrash3D and TestSnapshotInit3D ran on a reliable network in 2024 and on an
/// unreliable one in 2025 (the flag's polarity flipped; `docs/lab-harness.md`, "Where the
/// editions differ", 1).
fn snapshot_restart_setup(edition: Edition) -> Setup {
    Setup {
        servers: 3,
        reliable: edition == Edition::Y2024,
        snapshot: true,
    }
}

/// The test named `name` (Go name, with or without `Test`, or ours), if any; the first one
/// if a Go name repeats across editions (see [`find_in`]).
pub fn find(name: &str) -> Option<LabTest> {
    all().into_iter().find(|t| t.is_named(name))
}

/// The test named `name` that `edition` has, if any.
pub fn find_in(name: &str, edition: Edition) -> Option<LabTest> {
    all()
        .into_iter()
        .find(|t| t.runs_in(edition) && t.is_named(name))
}

impl LabTest {
    fn is_named(&self, name: &str) -> bool {
        self.go_name == name || self.go_name.trim_start_matches("Test") == name || self.name == name
    }
}
