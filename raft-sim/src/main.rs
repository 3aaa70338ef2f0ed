//! `raft-sim`: the simulator's command line. Each subcommand lives in its own file under
//! `src/cli/`, next to what they share: seed and job arguments (`args.rs`), output that
//! survives a closed pipe or a full disk (`output.rs`), and the parallel, streaming sweep
//! (`sweep.rs`).

mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "raft-sim",
    version,
    about = "Deterministic simulator for raft-core"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the MIT 6.5840 Lab 3 and Lab 4 suites in virtual time.
    Lab(cli::lab::LabArgs),
    /// Swarm runs: each seed draws its own cluster and fault mix, with every checker on and
    /// a liveness phase after healing.
    Swarm(Box<cli::swarm::SwarmArgs>),
    /// Replay one run (a lab test or a swarm seed) and write its structured trace (JSON lines)
    /// and its timeline (an HTML page).
    Replay(Box<cli::replay::ReplayArgs>),
    /// Where two traces part: the first differing event, with context on both sides.
    Diff(cli::diff::DiffArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Lab(args) => cli::lab::run(args),
        Command::Swarm(args) => cli::swarm::run(*args),
        Command::Replay(args) => cli::replay::run(*args),
        Command::Diff(args) => cli::diff::run(args),
    }
}
