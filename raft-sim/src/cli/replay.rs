//! `raft-sim replay`: one run, a lab test or a swarm seed, replayed exactly from its seed, and
//! written down on request as a structured trace (JSON lines) and as a timeline page.

use super::output::{Out, Stop};
use raft_sim::lab::{self, LabTest};
use raft_sim::runner;
use raft_sim::swarm::{self, Limits, Plan};
use raft_sim::timeline::{self, Failure, Model, Recorder};
use raft_sim::trace::{Field, JsonSink, Sink, Trace};
use raft_sim::{Edition, SimTime};
use std::cell::RefCell;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Arc;

/// Exit code for a bad argument.
const USAGE: u8 = 2;

#[derive(clap::Args)]
pub struct ReplayArgs {
    /// The lab test to replay: its Go name, with or without `Test`, or ours
    /// (`TestFigure83C`, `Figure83C`, `figure8_3c`).
    #[arg(
        long,
        value_name = "NAME",
        required_unless_present = "swarm",
        conflicts_with = "swarm"
    )]
    run: Option<String>,
    /// The lab edition to mirror (lab tests).
    #[arg(
        long,
        value_enum,
        required_unless_present = "swarm",
        conflicts_with = "swarm"
    )]
    edition: Option<Year>,
    /// Replay a swarm seed rather than a lab test.
    #[arg(long)]
    swarm: bool,
    /// The seed.
    #[arg(long)]
    seed: u64,
    /// The swarm plan to run (as `swarm` prints it); default: the plan the seed draws with
    /// `swarm`'s default limits.
    #[arg(long, value_parser = parse_plan, requires = "swarm")]
    plan: Option<Plan>,
    /// Disks that may lose their last write at a crash (swarm; as `swarm --unsafe-disk`).
    #[arg(long, requires = "swarm")]
    unsafe_disk: bool,
    /// Write the structured trace (JSON lines, one event each) to FILE, or `-` for standard
    /// output.
    #[arg(long, value_name = "FILE.jsonl")]
    trace: Option<PathBuf>,
    /// Write the timeline (one self-contained HTML page) to FILE.
    #[arg(long, value_name = "FILE.html")]
    timeline: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Year {
    #[value(name = "2024")]
    Y2024,
    #[value(name = "2025")]
    Y2025,
}

fn parse_plan(text: &str) -> Result<Plan, String> {
    text.parse()
}

/// What to replay.
enum Target {
    Lab(LabTest, Edition),
    Swarm(Plan),
}

/// How the replayed run ended, whatever its kind.
struct Ended {
    /// `None` if it passed; else the failure as the timeline shows it.
    failure: Option<Failure>,
    /// The exit code, as `lab` or `swarm` gives it for this run.
    code: u8,
    virtual_time: SimTime,
    digest: u64,
    trace_error: Option<Arc<io::Error>>,
}

/// Runs the `replay` subcommand.
pub fn run(args: ReplayArgs) -> ExitCode {
    let target = match target(&args) {
        Ok(target) => target,
        Err(why) => {
            let _ = writeln!(io::stderr(), "error: {why}");
            return ExitCode::from(USAGE);
        }
    };
    // With the trace on standard output, what the command says goes to standard error.
    let to_stdout = args.trace.as_deref() == Some(Path::new("-"));
    match replay(&args, &target, to_stdout) {
        Ok(code) => ExitCode::from(code),
        Err(stop) => stop.exit(),
    }
}

fn target(args: &ReplayArgs) -> Result<Target, String> {
    if args.swarm {
        let mut plan = args
            .plan
            .clone()
            .unwrap_or_else(|| Plan::draw(args.seed, &Limits::default()));
        plan.unsafe_disk |= args.unsafe_disk;
        return Ok(Target::Swarm(plan));
    }
    let name = args.run.as_deref().unwrap_or_default();
    let edition = match args.edition {
        Some(Year::Y2024) => Edition::Y2024,
        _ => Edition::Y2025,
    };
    Ok(Target::Lab(find(name, edition)?, edition))
}

/// The lab test of `edition` named `name` (a `^Name$` pattern, as failures print it, is
/// accepted too). Lab 4's Go names repeat across editions; the edition tells them apart.
fn find(name: &str, edition: Edition) -> Result<LabTest, String> {
    let name = name.trim_start_matches('^').trim_end_matches('$');
    let mut named: Vec<LabTest> = lab::all()
        .into_iter()
        .filter(|t| t.runs_in(edition))
        .filter(|t| {
            t.go_name == name || t.go_name.trim_start_matches("Test") == name || t.name == name
        })
        .collect();
    match named.len() {
        0 => Err(format!(
            "no lab test of the {} edition is named {name:?} (`raft-sim lab --list` shows them)",
            edition.year()
        )),
        1 => Ok(named.remove(0)),
        _ => Err(format!(
            "several lab tests are named {name:?}; give our name instead: {}",
            named.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
        )),
    }
}

fn replay(args: &ReplayArgs, target: &Target, to_stdout: bool) -> Result<u8, Stop> {
    let say = |text: String| match to_stdout {
        true => writeln!(io::stderr(), "{text}").map_err(|e| Stop::io("writing", &e)),
        false => Out::default().line(text),
    };
    let mut trace = Trace::new(false);
    if let Some(path) = &args.trace {
        trace.add_sink(Box::new(json_sink(path)?));
    }
    let recorder = Rc::new(RefCell::new(Recorder::new()));
    if args.timeline.is_some() {
        trace.add_sink(Box::new(Rc::clone(&recorder)));
    }
    let texts = header_texts(args, target);
    trace.header(&header(args, target, &texts));
    let ended = run_target(target, args.seed, trace);
    if let Some(error) = &ended.trace_error {
        return Err(Stop::io("writing the structured trace", error));
    }
    say(outcome_line(target, args.seed, &ended))?;
    say(format!("trace digest {:016x}", ended.digest))?;
    if let Some(path) = args.trace.as_deref().filter(|p| *p != Path::new("-")) {
        say(format!("structured trace: {}", path.display()))?;
    }
    if let Some(path) = &args.timeline {
        let model = finished_model(&recorder, &ended);
        write_page(path, &model)?;
        say(format!(
            "timeline: {} (open it in a browser)",
            path.display()
        ))?;
    }
    Ok(ended.code)
}

fn json_sink(path: &Path) -> Result<JsonSink, Stop> {
    if path == Path::new("-") {
        return Ok(JsonSink::new(Box::new(BufWriter::new(io::stdout()))));
    }
    let shown = path.display();
    let file = File::create(path).map_err(|e| Stop::io(&format!("creating {shown}"), &e))?;
    Ok(JsonSink::new(Box::new(BufWriter::new(file))))
}

/// What produced the trace, and the command that produces it again.
fn header<'a>(
    args: &ReplayArgs,
    target: &'a Target,
    texts: &'a (String, String),
) -> Vec<(&'static str, Field<'a>)> {
    let (plan, command) = texts;
    let mut fields = vec![
        ("producer", Field::Text("raft-sim replay")),
        ("version", Field::Text(env!("CARGO_PKG_VERSION"))),
    ];
    match target {
        Target::Lab(test, edition) => fields.extend([
            ("run", Field::Text("lab")),
            ("test", Field::Text(test.go_name)),
            ("name", Field::Text(test.name)),
            ("edition", Field::Text(edition.year())),
        ]),
        Target::Swarm(_) => fields.push(("run", Field::Text("swarm"))),
    }
    fields.push(("seed", Field::Number(args.seed)));
    if let Target::Swarm(_) = target {
        fields.push(("plan", Field::Text(plan)));
    }
    fields.push(("command", Field::Text(command)));
    fields
}

/// The plan (for a swarm run) and the command that replays this run.
fn header_texts(args: &ReplayArgs, target: &Target) -> (String, String) {
    let seed = args.seed;
    match target {
        Target::Lab(test, edition) => (
            String::new(),
            format!(
                "raft-sim replay --run {} --edition {} --seed {seed}",
                test.go_name,
                edition.year()
            ),
        ),
        Target::Swarm(plan) => (
            plan.to_string(),
            format!("raft-sim replay --swarm --seed {seed} --plan '{plan}'"),
        ),
    }
}

fn run_target(target: &Target, seed: u64, trace: Trace) -> Ended {
    match target {
        Target::Lab(test, edition) => {
            let ran = catch_unwind(AssertUnwindSafe(|| {
                runner::run_with(test, *edition, seed, trace)
            }));
            let outcome = match ran {
                Ok(outcome) => outcome,
                Err(panic) => return panicked(panic_text(&*panic), 1),
            };
            let failure = outcome.result.as_ref().err().map(|f| Failure {
                at: f.time,
                invariant: outcome.invariant,
                why: f.message.clone(),
            });
            Ended {
                code: u8::from(failure.is_some()),
                failure,
                virtual_time: outcome.virtual_time,
                digest: outcome.digest,
                trace_error: outcome.trace_error,
            }
        }
        Target::Swarm(plan) => {
            let outcome = swarm::run_with(seed, plan, trace);
            Ended {
                code: outcome.failure.as_ref().map_or(0, |f| f.class.exit_code()),
                failure: outcome.failure.map(|f| Failure {
                    at: f.time,
                    invariant: f.invariant,
                    why: format!("({}) {}", f.class, f.message),
                }),
                virtual_time: outcome.virtual_time,
                digest: outcome.digest,
                trace_error: outcome.trace_error,
            }
        }
    }
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-text payload".into())
}

fn panicked(message: String, code: u8) -> Ended {
    Ended {
        failure: Some(Failure {
            at: 0,
            invariant: None,
            why: format!("panicked: {message}"),
        }),
        code,
        virtual_time: 0,
        digest: 0,
        trace_error: None,
    }
}

fn outcome_line(target: &Target, seed: u64, ended: &Ended) -> String {
    let what = match target {
        Target::Lab(test, edition) => {
            format!("{} edition {} seed {seed}", test.go_name, edition.year())
        }
        Target::Swarm(plan) => format!("swarm seed {seed} plan {plan}"),
    };
    match &ended.failure {
        None => format!(
            "{what}: passed ({:.3} s virtual)",
            ended.virtual_time as f64 / 1e6
        ),
        Some(failure) => format!(
            "{what}: FAILED at {:.6} s virtual: {}",
            failure.at as f64 / 1e6,
            failure.why
        ),
    }
}

/// The timeline's model, closed and marked with the run's failure even if the trace could
/// not say it (a panic, or a failure found after the last event).
fn finished_model(recorder: &Rc<RefCell<Recorder>>, ended: &Ended) -> Model {
    let mut recorder = recorder.borrow_mut();
    if !recorder.is_finished() {
        // A panic unwound past the trace's end: close what it gathered.
        let _ = recorder.finish(0);
    }
    let mut model = recorder.take_model();
    if model.failure.is_none() {
        model.failure = ended.failure.clone().map(|mut failure| {
            if failure.at == 0 {
                failure.at = model.end; // a panic: when the trace stopped
            }
            failure
        });
    }
    model
}

fn write_page(path: &Path, model: &Model) -> Result<(), Stop> {
    let shown = path.display();
    let page = timeline::page(model);
    std::fs::write(path, page).map_err(|e| Stop::io(&format!("writing {shown}"), &e))
}
