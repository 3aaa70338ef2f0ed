//! Arguments every sweeping subcommand takes: which seeds, and how many worker threads.

use raft_sim::seeds::{parse_range, DEFAULT_SEED};
use std::ops::RangeInclusive;

/// `--seed N`, `--seeds A..B`, `--jobs N`: flatten into a subcommand's arguments.
#[derive(clap::Args, Clone, Debug)]
pub struct SweepArgs {
    /// Run on this seed (default 1).
    #[arg(long, conflicts_with = "seeds")]
    pub seed: Option<u64>,
    /// Sweep a seed range: `A..B` (B excluded) or `A..=B` (B included). Runs are generated
    /// as they go, so any range runs in constant memory.
    #[arg(long, value_name = "A..B", value_parser = parse_range)]
    pub seeds: Option<RangeInclusive<u64>>,
    /// Worker threads, at least 1 (default: every core). Results, and the order they are
    /// printed in, do not depend on it.
    #[arg(long, value_name = "N", default_value_t = default_jobs(), value_parser = parse_jobs)]
    pub jobs: usize,
}

impl SweepArgs {
    /// The seeds to run.
    pub fn seed_range(&self) -> RangeInclusive<u64> {
        self.seeds.clone().unwrap_or_else(|| {
            let seed = self.seed.unwrap_or(DEFAULT_SEED);
            seed..=seed
        })
    }

    /// Whether more than one seed runs (a sweep shows progress and totals, not every run).
    pub fn is_sweep(&self) -> bool {
        let seeds = self.seed_range();
        seeds.start() != seeds.end()
    }
}

fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn parse_jobs(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("at least one worker is needed".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("expected a positive integer, got {text:?}")),
    }
}
