//! `raft-sim diff A B`: where two traces part (two seeds, or one seed before and after a
//! change), with the events just before and after on both sides.

use super::output::{Out, Stop};
use raft_sim::trace::diff::{self, Comparison};
use std::fs::File;
use std::io::{self, BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct DiffArgs {
    /// The first trace (JSON lines from `replay --trace`, or a text trace from `lab --trace`).
    a: PathBuf,
    /// The second trace.
    b: PathBuf,
    /// How many events to show before the first difference, and after it on each side.
    #[arg(long, value_name = "N", default_value_t = 5)]
    context: usize,
}

/// Runs the `diff` subcommand: exit 0 if the traces agree, 1 if they part, 2 if one cannot be
/// read.
pub fn run(args: DiffArgs) -> ExitCode {
    let open = |path: &PathBuf| {
        File::open(path)
            .map(BufReader::new)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let compared = open(&args.a).and_then(|a| {
        let b = open(&args.b)?;
        diff::compare(a, b, args.context).map_err(|e| format!("reading the traces: {e}"))
    });
    let comparison = match compared {
        Ok(comparison) => comparison,
        Err(why) => {
            let _ = writeln!(io::stderr(), "error: {why}");
            return ExitCode::from(2);
        }
    };
    match report(&Out::default(), &args, &comparison) {
        Ok(()) if comparison.divergence.is_none() => ExitCode::SUCCESS,
        Ok(()) => ExitCode::FAILURE,
        Err(stop) => stop.exit(),
    }
}

fn report(out: &Out, args: &DiffArgs, comparison: &Comparison) -> Result<(), Stop> {
    let (a, b) = (args.a.display(), args.b.display());
    for (name, headers) in [("A", &comparison.headers.0), ("B", &comparison.headers.1)] {
        let path = if name == "A" { &a } else { &b };
        out.line(format!("{name}: {path}"))?;
        for header in headers {
            out.line(format!("   {header}"))?;
        }
    }
    let Some(divergence) = &comparison.divergence else {
        return out.line(format!(
            "the traces agree: {} events, the same",
            comparison.events
        ));
    };
    // The earlier of the two first differing events is where they part.
    let first = [divergence.a.first(), divergence.b.first()];
    let when = first
        .into_iter()
        .flatten()
        .filter_map(|line| diff::event_time(line))
        .min()
        .map_or(String::new(), |t| {
            format!(" at {:.6} s virtual", t as f64 / 1e6)
        });
    out.line(format!(
        "the traces agree on {} events, then part{when} (line {} of A, line {} of B):",
        divergence.common, divergence.lines.0, divergence.lines.1
    ))?;
    for line in &divergence.before {
        out.line(format!("  = {line}"))?;
    }
    for (name, side) in [("A", &divergence.a), ("B", &divergence.b)] {
        if side.is_empty() {
            out.line(format!("  {name} (the trace ends here)"))?;
        }
        for line in side {
            out.line(format!("  {name} {line}"))?;
        }
    }
    Ok(())
}
