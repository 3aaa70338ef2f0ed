//! Swarm runs: each seed draws its own cluster and fault mix ([`Plan`]), runs a fault phase
//! with every whole-cluster checker on, then a liveness phase, and is classed as passed or as
//! a safety, liveness or panic failure. The idea is TigerBeetle's VOPR and FoundationDB's
//! simulator: the bugs nobody wrote a test for, each one small and replayable from its seed.
//!
//! 1. **Fault phase** (`plan.time_ms`): clients propose commands (and, with ReadIndex, read)
//!    while the nemesis changes topologies, crashes servers (some in the middle of a durable
//!    write) and restarts them, and asks leaders to hand over; the network loses, duplicates,
//!    delays and reorders messages; clocks drift. The plan also draws the production features
//!    (PreVote, CheckQuorum, ReadIndex, lease reads) every node runs with.
//! 2. **Liveness phase**: a majority (or everyone) is healed; it must elect a leader, apply
//!    everything committed before, and commit new commands, within a bound derived from the
//!    election timeout.
//!
//! [`shrink`] reduces a failing plan while the same failure remains.

pub mod coverage;
mod liveness;
pub mod membership;
mod nemesis;
pub mod plan;
mod shrink;
pub mod topology;
mod workload;

pub use coverage::Coverage;
pub use membership::{ChangeCounts, ChangeKind};
pub use plan::{Limits, Plan};
pub use shrink::shrink;

use crate::checkers::Invariant;
use crate::network::MessageFaults;
use crate::rng::Stream;
use crate::runner::run_tester;
use crate::tester::{TestResult, Tester};
use crate::trace::Trace;
use crate::world::{Edition, FlowLimits, SimTime, Tamper, World, DEFAULT_TICK, MS};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Arc;

/// How a failed run failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// A checker fired (or a lab applier check, or the core asked for an impossible write).
    Safety,
    /// The healed majority did not make progress in time.
    Liveness,
    /// The core (or the simulator) panicked.
    Panic,
}

impl Class {
    /// The class's name.
    pub fn name(self) -> &'static str {
        match self {
            Class::Safety => "safety",
            Class::Liveness => "liveness",
            Class::Panic => "panic",
        }
    }

    /// The `swarm` command's exit code for a sweep whose worst failure is of this class
    /// (2 is kept for bad arguments).
    pub fn exit_code(self) -> u8 {
        match self {
            Class::Safety => 1,
            Class::Liveness => 3,
            Class::Panic => 4,
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a swarm run failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwarmFailure {
    /// Safety, liveness or panic.
    pub class: Class,
    /// The checker that fired, for safety failures found by one.
    pub invariant: Option<Invariant>,
    /// What was seen.
    pub message: String,
    /// Virtual time of the failure.
    pub time: SimTime,
}

impl SwarmFailure {
    /// Whether `other` is the same kind of failure (class and checker): what shrinking keeps.
    pub fn same_kind(&self, other: &SwarmFailure) -> bool {
        self.class == other.class && self.invariant == other.invariant
    }
}

/// The result of one swarm run.
#[derive(Clone, Debug)]
pub struct SwarmOutcome {
    /// The seed.
    pub seed: u64,
    /// The plan it ran.
    pub plan: Plan,
    /// `None` if it passed.
    pub failure: Option<SwarmFailure>,
    /// Virtual time at the end.
    pub virtual_time: SimTime,
    /// Digest of the run's trace (0 after a panic).
    pub digest: u64,
    /// The highest index committed.
    pub committed: u64,
    /// Trace lines, if kept in memory.
    pub trace: Vec<String>,
    /// The first error writing a streamed trace, if any.
    pub trace_error: Option<Arc<io::Error>>,
    /// The membership changes begun and completed, per kind.
    pub changes: ChangeCounts,
}

impl SwarmOutcome {
    /// The command that replays exactly this run, with its trace.
    pub fn replay_command(&self) -> String {
        format!(
            "cargo run --release -p raft-sim -- swarm --seed {} --plan '{}' --trace",
            self.seed, self.plan
        )
    }
}

impl SwarmOutcome {
    /// The command that replays this run into a timeline page (and a structured trace).
    pub fn timeline_command(&self) -> String {
        let seed = self.seed;
        format!(
            "cargo run --release -p raft-sim -- replay --swarm --seed {seed} --plan '{}' --timeline swarm-{seed}.html --trace swarm-{seed}.jsonl",
            self.plan
        )
    }
}

/// Runs `plan` on `seed`. Never panics: a panic in the core or the simulator is a
/// [`Class::Panic`] failure.
pub fn run(seed: u64, plan: &Plan) -> SwarmOutcome {
    run_with(seed, plan, Trace::new(false))
}

/// Like [`run`], recording the run into `trace` (kept in memory, or streamed to a writer).
pub fn run_with(seed: u64, plan: &Plan, trace: Trace) -> SwarmOutcome {
    run_guarded(seed, plan, trace, None)
}

/// Like [`run`], with a broken driver: `tamper` sees and may change every step's actions (see
/// [`World::set_tamper`]). For showing what the swarm catches.
pub fn run_tampered(seed: u64, plan: &Plan, tamper: Tamper) -> SwarmOutcome {
    run_guarded(seed, plan, Trace::new(false), Some(tamper))
}

fn run_guarded(seed: u64, plan: &Plan, trace: Trace, tamper: Option<Tamper>) -> SwarmOutcome {
    match catch_unwind(AssertUnwindSafe(|| run_plan(seed, plan, trace, tamper))) {
        Ok(outcome) => outcome,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic with a non-text payload".into());
            SwarmOutcome {
                seed,
                plan: plan.clone(),
                failure: Some(SwarmFailure {
                    class: Class::Panic,
                    invariant: None,
                    message: format!("panic: {message}"),
                    time: 0,
                }),
                virtual_time: 0,
                digest: 0,
                committed: 0,
                trace: Vec::new(),
                trace_error: None,
                changes: ChangeCounts::new(),
            }
        }
    }
}

fn run_plan(seed: u64, plan: &Plan, mut trace: Trace, tamper: Option<Tamper>) -> SwarmOutcome {
    let snapshots = plan.snapshot_every > 0;
    trace.comment(&format!("raft-sim swarm --seed {seed} --plan '{plan}'"));
    let universe = plan.universe();
    let mut world = World::with_trace(universe, seed, Edition::Y2024, snapshots, trace);
    if universe > plan.nodes {
        world.set_bootstrap(&(0..plan.nodes).collect::<Vec<_>>());
    }
    // Each server snapshots at its own pace (every 1 to 2 times the plan's interval), so
    // snapshots sit at different indexes on different servers.
    let mut pace = Stream::new(seed, "swarm-snapshot-pace", 0);
    for i in 0..universe {
        let every = plan.snapshot_every + pace.below(plan.snapshot_every + 1);
        world
            .appliers_mut()
            .set_snapshot_policy(i, every, plan.snapshot_bytes);
    }
    if let Some((max_entries, max_bytes, max_inflight)) = plan.flow {
        world.set_flow_limits(FlowLimits {
            max_entries,
            max_bytes,
            max_inflight,
        });
    }
    if let Some(ms) = plan.pipelined_ms {
        world.set_pipelined(ms * MS);
    }
    world.set_unsafe_disks(plan.unsafe_disk);
    world.set_features(plan.features);
    world.set_tamper(tamper);
    let t = Tester::with_world(world, seed);
    let liveness_failed = Rc::new(Cell::new(false));
    let flag = liveness_failed.clone();
    let body_plan = plan.clone();
    let changes = Rc::new(RefCell::new(ChangeCounts::new()));
    let counts = changes.clone();
    let outcome = run_tester(t.clone(), seed, move |t| {
        body(t, body_plan, seed, flag, counts)
    });
    let failure = outcome.result.err().map(|failure| SwarmFailure {
        class: match liveness_failed.get() {
            true => Class::Liveness,
            false => Class::Safety,
        },
        invariant: outcome.invariant,
        message: failure.message,
        time: failure.time,
    });
    let committed = t.world().checkers().highest_committed();
    SwarmOutcome {
        seed,
        plan: plan.clone(),
        failure,
        virtual_time: outcome.virtual_time,
        digest: outcome.digest,
        committed: committed.map_or(0, |(index, _)| index.0),
        trace: outcome.trace,
        trace_error: outcome.trace_error,
        changes: changes.take(),
    }
}

async fn body(
    t: Tester,
    plan: Plan,
    seed: u64,
    liveness_failed: Rc<Cell<bool>>,
    changes: Rc<RefCell<ChangeCounts>>,
) -> TestResult {
    t.begin("swarm");
    let stream = |label: &str, index: u64| Stream::new(seed, label, index);
    let mut ticks = set_up(&t, &plan, stream("swarm-skew", 0));
    let end = t.now() + plan.time_ms * MS;
    let mut tasks = Vec::new();
    for id in 0..plan.clients as u64 {
        let client = workload::client(t.clone(), id, plan.clone(), stream("swarm-client", id), end);
        tasks.push(t.go(client));
    }
    let nemesis = stream("swarm-topology", 0);
    tasks.push(t.go(nemesis::topologies(t.clone(), plan.clone(), nemesis, end)));
    let crashes = stream("swarm-crash", 0);
    tasks.push(t.go(nemesis::crashes(t.clone(), plan.clone(), crashes, end)));
    let transfers = stream("swarm-transfer", 0);
    tasks.push(t.go(nemesis::transfers(t.clone(), plan.clone(), transfers, end)));
    let operator = stream("swarm-membership-changes", 0);
    let changing = membership::changes(t.clone(), plan.clone(), operator, end, changes);
    tasks.push(t.go(changing));
    for task in tasks {
        task.await?;
    }
    let healing = stream("swarm-heal", 0);
    if let Err(failure) = liveness::check(&t, &plan, &mut ticks, healing).await {
        liveness_failed.set(true);
        return Err(failure);
    }
    t.finish();
    Ok(())
}

/// Starts every server of the cluster (spares wait to be added) on a connected network with
/// the plan's message faults and clock drift. Returns each server's tick length.
fn set_up(t: &Tester, plan: &Plan, mut skew: Stream) -> Vec<SimTime> {
    let ticks: Vec<SimTime> = (0..plan.universe())
        .map(|_| {
            let spread = 2 * plan.skew_percent;
            let percent = 100 - plan.skew_percent + skew.below(spread + 1);
            DEFAULT_TICK * percent / 100
        })
        .collect();
    {
        let mut world = t.world();
        for (i, &tick) in ticks.iter().enumerate() {
            world.set_tick(i, tick);
        }
        let (latency_min, latency_max) = plan.latency_ms.unwrap_or((0, 0));
        let network = world.network_mut();
        network.set_duplication(plan.duplicate);
        network.set_message_faults(MessageFaults {
            loss_per_mille: plan.loss,
            latency_min: latency_min * MS,
            latency_max: latency_max * MS,
            reorder_per_mille: plan.reorder,
            reorder_max: 1_000 * MS,
        });
    }
    for i in 0..plan.nodes {
        t.start_server(i);
        t.connect(i);
    }
    ticks
}
