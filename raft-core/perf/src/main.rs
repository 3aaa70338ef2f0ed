//! `raft-perf`: benchmarks kept out of the default build.
//!
//! - `compare`: raft-core and tikv's raft-rs 0.7 side by side, driven by the same harness in
//!   the same run, rows interleaved (see `harness`); entries/s (median of several runs), the
//!   ratio, and allocations, messages and durable writes per entry.
//! - `instructions`: instructions per entry under valgrind's callgrind, for the 3-node 16-byte
//!   rows (the difference between runs of N and 2N entries, so setup cancels out).
//! - `sim`: the simulator's events per second on one thread, over the whole lab suite.
//!
//! `cargo run --release -p raft-perf -- compare` (add `--help` for the options).

mod alloc;
mod harness;
mod ours;
mod raft_rs;
mod sim;

use clap::{Parser, Subcommand, ValueEnum};
use harness::{measure, Measurement, Row};
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

#[derive(Parser)]
#[command(
    name = "raft-perf",
    about = "raft-core's benchmarks (not part of the default build)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Both libraries on the whole matrix, rows interleaved; prints a Markdown table.
    Compare {
        /// Runs per row and library (the table shows medians).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Entries measured per run when proposing one at a time.
        #[arg(long, default_value_t = 30_000)]
        entries_one: u64,
        /// Entries measured per run when proposing in batches.
        #[arg(long, default_value_t = 640_000)]
        entries_batched: u64,
        /// Cluster sizes.
        #[arg(long, value_delimiter = ',', default_value = "3,5")]
        nodes: Vec<usize>,
        /// Command sizes in bytes.
        #[arg(long, value_delimiter = ',', default_value = "16,1024")]
        sizes: Vec<usize>,
        /// Commands per proposal.
        #[arg(long, value_delimiter = ',', default_value = "1,64")]
        batches: Vec<usize>,
    },
    /// Instructions per entry (callgrind) for the 3-node 16-byte rows of both libraries.
    Instructions {
        /// Entries of the shorter run (the longer has twice as many).
        #[arg(long, default_value_t = 20_000)]
        entries: u64,
        /// Commands per proposal.
        #[arg(long, value_delimiter = ',', default_value = "1,64")]
        batches: Vec<usize>,
    },
    /// One run of one row; prints its raw counts (what `instructions` runs under valgrind).
    One {
        #[arg(long, value_enum)]
        library: Library,
        #[arg(long)]
        nodes: usize,
        #[arg(long)]
        size: usize,
        #[arg(long)]
        batch: usize,
        #[arg(long)]
        entries: u64,
    },
    /// The simulator's events per second on one thread, running the lab suite.
    Sim {
        /// Seeds to run (each runs all 28 tests in both editions).
        #[arg(long, default_value_t = 20)]
        seeds: u64,
        /// Repetitions (the figure is their median).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Library {
    /// raft-core.
    Ours,
    /// raft-core, a batch fed as separate proposals in one `step_many` call.
    OursGrouped,
    /// tikv's raft-rs 0.7.
    RaftRs,
}

fn main() -> ExitCode {
    alloc::keep_freed_memory();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Compare {
            runs,
            entries_one,
            entries_batched,
            nodes,
            sizes,
            batches,
        } => {
            let mut rows = Vec::new();
            for &n in &nodes {
                for &size in &sizes {
                    for &batch in &batches {
                        rows.push(Row {
                            nodes: n,
                            size,
                            batch,
                        });
                    }
                }
            }
            let entries = |row: &Row| {
                if row.batch == 1 {
                    entries_one
                } else {
                    entries_batched
                }
            };
            check_rows(&rows).and_then(|()| compare(&rows, runs.max(1), entries))
        }
        Command::Instructions { entries, batches } => instructions(entries, &batches),
        Command::One {
            library,
            nodes,
            size,
            batch,
            entries,
        } => {
            let row = Row { nodes, size, batch };
            check_rows(&[row]).map(|()| {
                let m = measure_one(library, row, entries);
                println!(
                    "entries={} seconds={:.6} allocations={} messages={} writes={} ticks={}",
                    m.entries, m.seconds, m.allocations, m.messages, m.durable_writes, m.ticks
                );
            })
        }
        Command::Sim { seeds, runs } => {
            sim_speed(seeds.max(1), runs.max(1));
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("raft-perf: {why}");
            ExitCode::from(2)
        }
    }
}

fn check_rows(rows: &[Row]) -> Result<(), String> {
    for row in rows {
        if row.nodes == 0 || row.batch == 0 {
            return Err(format!("nodes and batch must be at least 1: {row:?}"));
        }
    }
    Ok(())
}

fn measure_one(library: Library, row: Row, entries: u64) -> Measurement {
    match library {
        Library::Ours => measure::<ours::Ours>(row, entries),
        Library::OursGrouped => measure::<ours::Grouped>(row, entries),
        Library::RaftRs => measure::<raft_rs::RaftRs>(row, entries),
    }
}

/// The median of the runs, by entries per second.
fn median(mut runs: Vec<Measurement>) -> Measurement {
    runs.sort_by(|a, b| a.entries_per_second().total_cmp(&b.entries_per_second()));
    runs[runs.len() / 2]
}

/// Each measurement runs in a fresh process (`raft-perf one`), so that neither library
/// inherits the other's heap, nor one row the previous row's.
fn compare(rows: &[Row], runs: usize, entries: impl Fn(&Row) -> u64) -> Result<(), String> {
    let mut results: Vec<[Vec<Measurement>; 3]> = vec![Default::default(); rows.len()];
    for run in 0..runs {
        for (row, result) in rows.iter().zip(&mut results) {
            // Alternate which library goes first, so neither always runs on a warmer machine.
            let order = if run % 2 == 0 { [0, 1] } else { [1, 0] };
            for k in order {
                let library = ["ours", "raft-rs"][k];
                result[k].push(measure_in_child(library, *row, entries(row))?);
            }
            if row.batch > 1 {
                result[2].push(measure_in_child("ours-grouped", *row, entries(row))?);
            }
        }
        eprintln!("run {} of {runs} done", run + 1);
    }
    println!("{}", machine());
    println!(
        "median of {runs} runs per row and library, rows interleaved; \"a / b\" is raft-core / raft-rs\n"
    );
    println!("| nodes | command | batch | raft-core entries/s | raft-rs entries/s | ratio | allocations/entry | messages/entry | durable writes/entry |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut grouped = Vec::new();
    for (row, [ours, theirs, group]) in rows.iter().zip(results) {
        if !group.is_empty() {
            grouped.push((row, median(group)));
        }
        let (a, b) = (median(ours), median(theirs));
        let pair = |x: u64, y: u64, digits: usize| {
            format!(
                "{:.*} / {:.*}",
                digits,
                a.per_entry(x),
                digits,
                b.per_entry(y)
            )
        };
        println!(
            "| {} | {} B | {} | {:.0} | {:.0} | {:.2}× | {} | {} | {} |",
            row.nodes,
            row.size,
            row.batch,
            a.entries_per_second(),
            b.entries_per_second(),
            a.entries_per_second() / b.entries_per_second(),
            pair(a.allocations, b.allocations, 2),
            pair(a.messages, b.messages, 3),
            pair(a.durable_writes, b.durable_writes, 3),
        );
    }
    if !grouped.is_empty() {
        println!("\nraft-core with each batch fed as separate `Propose` events in one `step_many` call (group commit):\n");
        println!("| nodes | command | batch | entries/s | allocations/entry | messages/entry | durable writes/entry |");
        println!("|---|---|---|---|---|---|---|");
        for (row, g) in grouped {
            println!(
                "| {} | {} B | {} | {:.0} | {:.2} | {:.3} | {:.3} |",
                row.nodes,
                row.size,
                row.batch,
                g.entries_per_second(),
                g.per_entry(g.allocations),
                g.per_entry(g.messages),
                g.per_entry(g.durable_writes),
            );
        }
    }
    Ok(())
}

/// Runs `raft-perf one` for one row of one library and reads its counts back.
fn measure_in_child(library: &str, row: Row, entries: u64) -> Result<Measurement, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find own binary: {e}"))?;
    let output = std::process::Command::new(exe)
        .args(["one", "--library", library])
        .args([
            "--nodes",
            &row.nodes.to_string(),
            "--size",
            &row.size.to_string(),
        ])
        .args([
            "--batch",
            &row.batch.to_string(),
            "--entries",
            &entries.to_string(),
        ])
        .output()
        .map_err(|e| format!("cannot run a measurement: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "{library} {row:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let field = |name: &str| -> Result<&str, String> {
        stdout
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .ok_or_else(|| format!("no {name} in {stdout:?}"))
    };
    let number = |name: &str| -> Result<u64, String> {
        field(name)?.parse().map_err(|e| format!("{name}: {e}"))
    };
    Ok(Measurement {
        entries: number("entries")?,
        seconds: field("seconds")?
            .parse()
            .map_err(|e| format!("seconds: {e}"))?,
        allocations: number("allocations")?,
        messages: number("messages")?,
        durable_writes: number("writes")?,
        ticks: number("ticks")?,
    })
}

/// Runs `raft-perf one` under callgrind for N and 2N entries; the difference over N is the
/// cost of an entry, without the set-up.
fn instructions(entries: u64, batches: &[usize]) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find own binary: {e}"))?;
    println!("{}", machine());
    println!("instructions per entry (callgrind), 3 nodes, 16-byte commands\n");
    println!("| batch | raft-core | raft-rs | ratio |");
    println!("|---|---|---|---|");
    for &batch in batches {
        let entries = entries.max(batch as u64);
        let mut per_entry = [0.0; 2];
        for (k, name) in ["ours", "raft-rs"].iter().enumerate() {
            let short = collected(&exe, name, batch, entries)?;
            let long = collected(&exe, name, batch, 2 * entries)?;
            per_entry[k] = long.saturating_sub(short) as f64 / entries as f64;
        }
        println!(
            "| {batch} | {:.0} | {:.0} | {:.2}× |",
            per_entry[0],
            per_entry[1],
            per_entry[1] / per_entry[0]
        );
    }
    Ok(())
}

/// Instructions callgrind collected for one run of `raft-perf one`.
fn collected(
    exe: &std::path::Path,
    library: &str,
    batch: usize,
    entries: u64,
) -> Result<u64, String> {
    let output = std::process::Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(exe)
        .args(["one", "--library", library, "--nodes", "3", "--size", "16"])
        .args([
            "--batch",
            &batch.to_string(),
            "--entries",
            &entries.to_string(),
        ])
        .output()
        .map_err(|e| format!("cannot run valgrind (is it installed?): {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "valgrind failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr
        .lines()
        .find_map(|line| line.split("Collected :").nth(1))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("no instruction count in valgrind's output:\n{stderr}"))
}

fn sim_speed(seeds: u64, runs: usize) {
    let mut rates = Vec::new();
    let mut summary = (0, 0, 0);
    for _ in 0..runs {
        let clock = Clock::start();
        summary = sim::run_lab_counting_events(seeds);
        let seconds = clock.elapsed_secs();
        rates.push((summary.1 as f64 / seconds, seeds as f64 / seconds));
    }
    rates.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (events_per_second, seeds_per_second) = rates[rates.len() / 2];
    let (lab_runs, events, failures) = summary;
    println!("{}", machine());
    println!(
        "simulator, one thread, lab suite seeds 1..={seeds} ({lab_runs} runs, {events} events, \
         {failures} failed), median of {runs}: {events_per_second:.0} events/s, \
         {seeds_per_second:.2} lab seeds/s ({} runs each)",
        lab_runs / seeds.max(1)
    );
}

/// The machine, for the record.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("machine: {model}, {cores} cores; one thread")
}

/// Wall-clock time, only ever reported by this benchmark.
#[allow(clippy::disallowed_types)]
struct Clock(std::time::Instant);

#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
impl Clock {
    fn start() -> Clock {
        Clock(std::time::Instant::now())
    }

    fn elapsed_secs(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}
