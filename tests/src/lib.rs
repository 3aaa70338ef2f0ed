//! Shared helpers for the workspace's integration tests.
//!
//! `cargo test` runs every lab test on [`DEFAULT_SEED`]. Set `RAFT_SEEDS=A..B` (or `A..=B`)
//! to sweep a range, or `RAFT_SEED=N` for one other seed.

pub mod fuzzing;
pub mod schedule;

use raft_sim::seeds::parse_range;
pub use raft_sim::seeds::DEFAULT_SEED;
use raft_sim::{lab, runner, Edition, Outcome};
use std::ops::RangeInclusive;

/// The seeds chosen by the environment (`RAFT_SEEDS`, `RAFT_SEED`), or the default. A value
/// that is not a number or a non-empty range panics with what was wrong: a sweep that runs
/// nothing must not pass.
pub fn seeds_from_env() -> RangeInclusive<u64> {
    let seeds = std::env::var("RAFT_SEEDS").ok();
    let seed = std::env::var("RAFT_SEED").ok();
    seeds_from(seeds.as_deref(), seed.as_deref()).unwrap_or_else(|why| panic!("{why}"))
}

/// [`seeds_from_env`] on the variables' values.
pub fn seeds_from(seeds: Option<&str>, seed: Option<&str>) -> Result<RangeInclusive<u64>, String> {
    if let Some(range) = seeds {
        return parse_range(range).map_err(|why| format!("RAFT_SEEDS={range:?}: {why}"));
    }
    if let Some(seed) = seed {
        let seed: u64 = seed
            .trim()
            .parse()
            .map_err(|_| format!("RAFT_SEED={seed:?}: expected an integer"))?;
        return Ok(seed..=seed);
    }
    Ok(DEFAULT_SEED..=DEFAULT_SEED)
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

#[cfg(test)]
mod tests {
    use super::{seeds_from, DEFAULT_SEED};

    #[test]
    fn ranges_and_single_seeds_parse() {
        assert_eq!(seeds_from(Some("1..=50"), None), Ok(1..=50));
        assert_eq!(seeds_from(Some("3..5"), Some("9")), Ok(3..=4));
        assert_eq!(seeds_from(None, Some(" 9 ")), Ok(9..=9));
        assert_eq!(seeds_from(None, None), Ok(DEFAULT_SEED..=DEFAULT_SEED));
    }

    #[test]
    fn empty_ranges_fail_loudly() {
        for range in ["9..3", "5..5", "9..=3", "0..0"] {
            let error = seeds_from(Some(range), None).unwrap_err();
            assert!(error.contains("is empty"), "{range}: {error}");
        }
    }

    #[test]
    fn malformed_values_say_what_was_expected() {
        for range in ["abc", "1-5", "..5", "1..x"] {
            let error = seeds_from(Some(range), None).unwrap_err();
            assert!(error.contains("expected A..B or A..=B"), "{range}: {error}");
        }
        let error = seeds_from(None, Some("one")).unwrap_err();
        assert!(error.contains("expected an integer"), "{error}");
    }
}
