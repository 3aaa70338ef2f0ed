//! `raft-sim scenarios`: the named liveness scenarios (`raft_sim::scenarios`), each run over
//! a seed range with the production features off, with PreVote, with CheckQuorum, and with
//! both, printed as a table: how many seeds settled on a stable leader within the scenario's
//! bound, and the median and worst time they took.

use super::args::SweepArgs;
use super::output::{Out, Stop};
use raft_sim::scenarios::membership::{self, MembershipScenario};
use raft_sim::scenarios::{self, Scenario, Verdict, CONFIGURATIONS};
use raft_sim::world::SimTime;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ScenariosArgs {
    #[command(flatten)]
    sweep: SweepArgs,
    /// Only the scenario with this name (see the table for the names).
    #[arg(long, value_name = "NAME")]
    run: Option<String>,
}

/// Runs the `scenarios` subcommand. Exit status 1 if a cell differs from what the scenario
/// expects (marked `!`): one that should settle on every seed did not on some, one that
/// should settle on none did on some, or a run failed outright (a checker).
pub fn run(args: ScenariosArgs) -> ExitCode {
    let chosen: Vec<Scenario> = scenarios::all()
        .into_iter()
        .filter(|s| args.run.as_deref().is_none_or(|name| s.name == name))
        .collect();
    let changes: Vec<MembershipScenario> = membership::all()
        .into_iter()
        .filter(|s| args.run.as_deref().is_none_or(|name| s.name == name))
        .collect();
    if chosen.is_empty() && changes.is_empty() {
        eprintln!(
            "error: no scenario named {:?}",
            args.run.unwrap_or_default()
        );
        return ExitCode::from(2);
    }
    let out = Out::default();
    let tables = table(&out, &chosen, &args.sweep)
        .and_then(|clean| Ok(membership_table(&out, &changes, &args.sweep)? && clean));
    match tables {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(stop) => stop.exit(),
    }
}

fn table(out: &Out, chosen: &[Scenario], sweep: &SweepArgs) -> Result<bool, Stop> {
    if chosen.is_empty() {
        return Ok(true);
    }
    let seeds = sweep.seed_range();
    let count = seeds.end() - seeds.start() + 1;
    out.line(format!(
        "time to a stable leader over {count} seeds: passed/run, median, worst (bound)"
    ))?;
    let mut header = format!("{:<22}", "scenario");
    for (name, _) in CONFIGURATIONS {
        header.push_str(&format!(" {name:<25}"));
    }
    out.line(header)?;
    let mut clean = true;
    for scenario in chosen {
        let mut row = format!("{:<22}", scenario.name);
        for ((_, features), settles) in CONFIGURATIONS.into_iter().zip(scenario.expected) {
            let verdicts: Vec<Verdict> = seeds
                .clone()
                .map(|seed| scenarios::run(scenario, features, seed))
                .collect();
            let passed = verdicts.iter().filter(|v| v.passed).count();
            let errors = verdicts.iter().any(|v| v.error.is_some());
            let as_expected = !errors
                && match settles {
                    Some(true) => passed == verdicts.len(),
                    Some(false) => passed == 0,
                    None => true,
                };
            clean &= as_expected;
            let mark = if as_expected { ' ' } else { '!' };
            row.push_str(&format!(" {mark}{:<24}", cell(&verdicts, passed)));
        }
        out.line(format!("{row} ({})", secs(scenario.bound)))?;
    }
    if chosen.len() == scenarios::all().len() {
        clean &= lease(out, seeds)?;
    }
    Ok(clean)
}

/// The membership scenarios: in each configuration, how many seeds passed; every run must.
/// Each failure is printed below the table.
fn membership_table(
    out: &Out,
    chosen: &[MembershipScenario],
    sweep: &SweepArgs,
) -> Result<bool, Stop> {
    if chosen.is_empty() {
        return Ok(true);
    }
    let seeds = sweep.seed_range();
    out.line("membership scenarios: runs that passed/run (all must pass, or none where marked)")?;
    let mut header = format!("{:<30}", "scenario");
    for (name, _) in CONFIGURATIONS {
        header.push_str(&format!(" {name:<12}"));
    }
    out.line(header)?;
    let mut surprises = Vec::new();
    for scenario in chosen {
        let mut row = format!("{:<30}", scenario.name);
        for (name, features) in CONFIGURATIONS {
            let mut passed = 0;
            for seed in seeds.clone() {
                let result = membership::run(scenario, features, seed);
                passed += u64::from(result.is_ok());
                let surprise = match (result, scenario.holds) {
                    (Err(why), true) => Some(why),
                    (Ok(()), false) => Some("passed, but this core was expected to fail".into()),
                    _ => None,
                };
                if let Some(why) = surprise {
                    surprises.push(format!("{} ({name}, seed {seed}): {why}", scenario.name));
                }
            }
            let total = seeds.end() - seeds.start() + 1;
            let expected = if scenario.holds { total } else { 0 };
            let mark = if passed == expected { ' ' } else { '!' };
            row.push_str(&format!(" {mark}{:<11}", format!("{passed}/{total}")));
        }
        if !scenario.holds {
            row.push_str(" (expected to fail: outside the core's contract)");
        }
        out.line(row)?;
    }
    for line in &surprises {
        out.line(format!("  ! {line}"))?;
    }
    Ok(surprises.is_empty())
}

/// The lease behind a partition, clocks 50 % apart, the lease assuming that much: no seed may
/// serve a stale read.
fn lease(out: &Out, seeds: std::ops::RangeInclusive<u64>) -> Result<bool, Stop> {
    let (mut served, mut stale) = (0, Vec::new());
    let count = seeds.end() - seeds.start() + 1;
    for seed in seeds {
        let (outcome, reads) = scenarios::lease_behind_a_partition(50, seed);
        served += reads;
        if let Err(failure) = outcome.result {
            stale.push(format!("seed {seed}: {}", failure.message));
        }
    }
    out.line(format!(
        "lease behind a partition, clocks ±50 %, lease assuming 50 %: {served} reads served \
         after the cut over {count} seeds, {} runs failed",
        stale.len()
    ))?;
    for line in &stale {
        out.line(format!("  ! {line}"))?;
    }
    Ok(stale.is_empty())
}

/// "3/3 0.00s 0.01s", or with an error count.
fn cell(verdicts: &[Verdict], passed: usize) -> String {
    let mut times: Vec<SimTime> = verdicts.iter().filter_map(|v| v.time_to_stable).collect();
    times.sort_unstable();
    let errors = verdicts.iter().filter(|v| v.error.is_some()).count();
    let median = times.get(times.len() / 2).map_or("-".into(), |&t| secs(t));
    let worst = times.last().map_or("-".into(), |&t| secs(t));
    let mut text = format!("{passed}/{} {median} {worst}", verdicts.len());
    if errors > 0 {
        text.push_str(&format!(" ({errors} errors)"));
    }
    text
}

fn secs(t: SimTime) -> String {
    format!("{:.2}s", t as f64 / 1e6)
}
