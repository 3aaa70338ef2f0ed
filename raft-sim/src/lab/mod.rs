//! The MIT 6.5840 Lab 3 test suite (lab-tests.md §C), ported line for line onto the tester.
//!
//! Each test body reads like its Go original: same loop counts, sleeps, bounds and messages.
//! Where the 2024 and 2025 editions differ, the body branches on [`Tester::edition`].

mod part_a;
mod part_b;

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
    /// Our name, e.g. `initial_election_3a`.
    pub name: &'static str,
    /// The cluster it runs on, per edition.
    pub setup: fn(Edition) -> Setup,
    /// The test itself.
    pub body: Body,
}

impl LabTest {
    /// The lab part, e.g. `3A`.
    pub fn part(&self) -> &'static str {
        &self.go_name[self.go_name.len() - 2..]
    }

    /// Whether a `go test -run`-style filter selects this test. The filter is a
    /// case-insensitive regex matched against the Go name (with and without `Test`), our name,
    /// and the part spelled `3A` or `PartA`.
    pub fn matches(&self, filter: &regex::Regex) -> bool {
        let part_letter = &self.part()[1..];
        let names = [
            self.go_name.to_string(),
            self.go_name.trim_start_matches("Test").to_string(),
            self.name.to_string(),
            format!("Part{part_letter}"),
        ];
        names.iter().any(|name| filter.is_match(name))
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

/// All 28 tests, in the lab's order.
pub fn all() -> Vec<LabTest> {
    const RELIABLE: bool = true;
    const PLAIN: bool = false;
    vec![
        LabTest {
            go_name: "TestInitialElection3A",
            name: "initial_election_3a",
            setup: setup!(3, RELIABLE, PLAIN),
            body: body!(part_a::initial_election),
        },
        LabTest {
            go_name: "TestReElection3A",
            name: "re_election_3a",
            setup: setup!(3, RELIABLE, PLAIN),
            body: body!(part_a::re_election),
        },
        LabTest {
            go_name: "TestManyElections3A",
            name: "many_elections_3a",
            setup: setup!(7, RELIABLE, PLAIN),
            body: body!(part_a::many_elections),
        },
        LabTest {
            go_name: "TestBasicAgree3B",
            name: "basic_agree_3b",
            setup: setup!(3, RELIABLE, PLAIN),
            body: body!(part_b::basic_agree),
        },
        LabTest {
            go_name: "TestFailAgree3B",
            name: "fail_agree_3b",
            setup: setup!(3, RELIABLE, PLAIN),
            body: body!(part_b::fail_agree),
        },
    ]
}

/// The test named `name` (Go name, with or without `Test`, or ours), if any.
pub fn find(name: &str) -> Option<LabTest> {
    all().into_iter().find(|t| {
        t.go_name == name || t.go_name.trim_start_matches("Test") == name || t.name == name
    })
}
