//! Seed ranges as people write them, shared by the `raft-sim` command line (`--seeds`) and
//! the test suite (`RAFT_SEEDS`).

use std::ops::RangeInclusive;

/// The seed a plain run uses (`raft-sim lab`, and `cargo test`).
pub const DEFAULT_SEED: u64 = 1;

/// `A..B` (B excluded) or `A..=B` (B included), holding at least one seed; else what is wrong.
pub fn parse_range(text: &str) -> Result<RangeInclusive<u64>, String> {
    let bad = || format!("expected A..B or A..=B with integers A and B, got {text:?}");
    let (start, end, inclusive) = match text.split_once("..=") {
        Some((a, b)) => (a, b, true),
        None => text
            .split_once("..")
            .map(|(a, b)| (a, b, false))
            .ok_or_else(bad)?,
    };
    let start: u64 = start.trim().parse().map_err(|_| bad())?;
    let end: u64 = end.trim().parse().map_err(|_| bad())?;
    let last = if inclusive {
        Some(end)
    } else {
        end.checked_sub(1)
    };
    match last {
        Some(last) if last >= start => Ok(start..=last),
        _ => Err(format!(
            "the seed range {text:?} is empty: it would run no seed"
        )),
    }
}
