//! Shared helpers for the workspace's integration tests.
//!
//! `cargo test` runs every lab test on [`DEFAULT_SEED`]. Set `RAFT_SEEDS=A..B` (or `A..=B`)
//! to sweep a range, or `RAFT_SEED=N` for one other seed.

pub mod fuzzing;
pub mod schedule;

use raft_sim::{lab, runner, Edition, Outcome};
use std::ops::RangeInclusive;

/// The seed `cargo test` uses unless told otherwise.
pub const DEFAULT_SEED: u64 = 1;

/// The seeds chosen by the environment (`RAFT_SEEDS`, `RAFT_SEED`), or the default.
pub fn seeds_from_env() -> RangeInclusive<u64> {
    if let Ok(range) = std::env::var("RAFT_SEEDS") {
        return parse_range(&range)
            .unwrap_or_else(|| panic!("RAFT_SEEDS={range:?}: expected A..B or A..=B"));
    }
    if let Ok(seed) = std::env::var("RAFT_SEED") {
        let seed: u64 = seed
            .parse()
            .unwrap_or_else(|_| panic!("RAFT_SEED={seed:?}: expected an integer"));
        return seed..=seed;
    }
    DEFAULT_SEED..=DEFAULT_SEED
}

fn parse_range(text: &str) -> Option<RangeInclusive<u64>> {
    if let Some((a, b)) = text.split_once("..=") {
        return Some(a.trim().parse().ok()?..=b.trim().parse().ok()?);
    }
    let (a, b) = text.split_once("..")?;
    let end: u64 = b.trim().parse().ok()?;
    Some(a.trim().parse().ok()?..=end.checked_sub(1)?)
}

/// Runs the lab test `go_name` in `edition` on one seed.
pub fn run_lab(go_name: &str, edition: Edition, seed: u64) -> Outcome {
    let test = lab::find_in(go_name, edition)
        .unwrap_or_else(|| panic!("no lab test named {go_name} in {}", edition.year()));
    runner::run(&test, edition, seed, false)
}

/// Runs the lab test on every seed from the environment; panics with the failure report
/// (test, edition, seed, virtual time, check, replay command) on the first failure.
pub fn check_lab(go_name: &str, edition: Edition) {
    for seed in seeds_from_env() {
        let outcome = run_lab(go_name, edition, seed);
        if let Err(failure) = &outcome.result {
            panic!(
                "{} {} failed on seed {} at {:.3}s virtual: {}\nreplay: {}",
                outcome.go_name,
                edition.year(),
                seed,
                failure.time as f64 / 1e6,
                failure.message,
                outcome.replay_command()
            );
        }
    }
}

/// Declares the lab suite for both editions: modules `y2024` and `y2025`, each with one
/// `#[test]` per lab test named after the lab's, and a check that the list is the whole suite.
#[macro_export]
macro_rules! lab_suite {
    ($($name:ident => $go_name:literal),* $(,)?) => {
        $crate::lab_suite!(@edition y2024, raft_sim::Edition::Y2024; $($name => $go_name),*);
        $crate::lab_suite!(@edition y2025, raft_sim::Edition::Y2025; $($name => $go_name),*);

        /// Every Lab 3 test has a `#[test]` here, and nothing else does.
        #[test]
        fn every_lab_test_is_declared() {
            let declared = [$($go_name),*];
            let suite: Vec<&str> = raft_sim::lab::lab3().iter().map(|t| t.go_name).collect();
            assert_eq!(declared.to_vec(), suite);
        }
    };
    (@edition $module:ident, $edition:expr; $($name:ident => $go_name:literal),*) => {
        mod $module {
            $(
                #[test]
                fn $name() {
                    $crate::check_lab($go_name, $edition);
                }
            )*
        }
    };
}
