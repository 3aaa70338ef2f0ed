//! Named liveness scenarios: the network shapes that have cost production Raft clusters their
//! leader, each run with and without the production features, each judged by how long the
//! cluster takes to settle on a *stable leader* after the fault begins.
//!
//! A run starts a cluster on a network with 1–10 ms of latency, lets it elect a leader while
//! a client proposes a command every 50 ms to whoever believes it leads, then starts the
//! scenario's fault and watches for [`WINDOW`]. Every 10 ms it samples the leader of the
//! highest term and the highest committed index. A sample is *bad* if there is no leader, the
//! leader (server or term) changed since the last sample, or nothing has been committed for
//! [`COMMIT_GAP`]. The **time to a stable leader** is the time from the fault to the last bad
//! sample (0 if the leader in office kept it and kept committing); the scenario passes if it
//! is within the scenario's bound. A cluster that keeps electing, or keeps a leader that
//! cannot commit, never settles and fails. The whole-cluster checkers watch every run.
//!
//! The bound depends on what the fault leaves. Where the leader in office still reaches a
//! majority, it could go on serving, so any election is needless: the bound is
//! [`NO_NEEDLESS_ELECTION`], shorter than any election can be. Where the cluster needs a new
//! leader (the old one is cut from a majority or crashed), it is [`NEW_LEADER`], a few election
//! timeouts; an abandoned transfer must give the leader back within about one (1 s). A leader
//! that removes itself hands over as it steps down, so its successor must take office within
//! [`NO_NEEDLESS_ELECTION`] too, without waiting for an election timeout.
//!
//! | scenario | the pattern |
//! |---|---|
//! | `rejoin` | a follower whose link flaps comes back with a higher term (thesis §9.6) |
//! | `bridge` | two halves that only one server (the bridge) connects |
//! | `one_way` | the leader's link to one follower fails in one direction only |
//! | `cut_from_quorum` | the leader reaches only one follower, which reaches a majority (openraft 2080) |
//! | `ring` | every server reaches only its two neighbours: each sees a different majority |
//! | `transfer_target_crash` | the target of a leadership transfer crashes mid-transfer |
//! | `stale_term_rejoin` | a node with an old term returns as the leader crashes (etcd 8243) |
//! | `remove_leader` | the leader removes itself from the cluster and steps down |
//!
//! The [`membership`] scenarios are of another kind: scripted membership changes that must
//! complete (a stuck joint configuration, a server re-added with stale progress).
//!
//! [`lease_behind_a_partition`] shows the lease's clock assumption: with clocks within the
//! drift bound a leader cut off serves no stale read; beyond it, it does.

use crate::features::Features;
use crate::runner::run_tester;

// The membership scenarios (stuck joint configurations, servers re-added): pass or fail.
#[path = "scenarios_membership.rs"]
pub mod membership;
use crate::tester::{TestResult, Tester};
use crate::value::Value;
use crate::world::{ChangeAnswer, Edition, SimTime, World, MS};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

/// How long each scenario's fault is watched.
pub const WINDOW: SimTime = 20_000 * MS;

/// Longer than this without a commit makes a sample bad: the cluster is not serving (it
/// commits every 50 ms or so while it is).
pub const COMMIT_GAP: SimTime = 500 * MS;

/// The bound where the leader in office still reaches a majority: any election is needless,
/// and one takes at least the minimum election timeout (300 ms) to begin.
pub const NO_NEEDLESS_ELECTION: SimTime = 250 * MS;

/// The bound where a new leader is needed: a few election timeouts.
pub const NEW_LEADER: SimTime = 3_000 * MS;

/// How often the client proposes a command.
const PROPOSE_EVERY_MS: u64 = 50;

/// A scenario's fault script: given the tester, the leader in office when it begins, and a
/// cell to record when the fault began, it changes the network (and crashes servers) until
/// the window ends.
pub type Script =
    fn(Tester, usize, Rc<Cell<Option<SimTime>>>) -> Pin<Box<dyn Future<Output = TestResult>>>;

/// One named scenario.
pub struct Scenario {
    /// Its name (a test of the same name is in `tests/tests/production_scenarios.rs`).
    pub name: &'static str,
    /// What happens, in a few words.
    pub pattern: &'static str,
    /// Servers in the cluster.
    pub nodes: usize,
    /// The longest time to a stable leader that passes.
    pub bound: SimTime,
    /// Whether it settles within the bound in each of [`CONFIGURATIONS`], on every seed
    /// (`Some(true)`), on none (`Some(false)`), or on some but not all (`None`): what the
    /// README's table and `tests/tests/production_scenarios.rs` state.
    pub expected: [Option<bool>; 4],
    /// The fault.
    pub script: Script,
}

/// The configurations each scenario runs under: the production features off, PreVote alone,
/// CheckQuorum alone, both.
pub const CONFIGURATIONS: [(&str, Features); 4] = [
    ("off", features(false, false)),
    ("PreVote", features(true, false)),
    ("CheckQuorum", features(false, true)),
    ("both", features(true, true)),
];

const fn features(pre_vote: bool, check_quorum: bool) -> Features {
    Features {
        pre_vote,
        check_quorum,
        read_index: false,
        lease_reads: false,
        drift_percent: 10,
    }
}

/// How a scenario run went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// From the fault to the last bad sample; `None` if the run failed before (a checker, or
    /// no leader to begin with).
    pub time_to_stable: Option<SimTime>,
    /// Leaderships (server, term) seen after the fault began, the first included.
    pub leaderships: u32,
    /// Whether the time to a stable leader is within the bound.
    pub passed: bool,
    /// What went wrong, if something did besides the bound.
    pub error: Option<String>,
}

macro_rules! script {
    ($f:path) => {{
        fn script(
            t: Tester,
            leader: usize,
            fault: Rc<Cell<Option<SimTime>>>,
        ) -> Pin<Box<dyn Future<Output = TestResult>>> {
            Box::pin($f(t, leader, fault))
        }
        script
    }};
}

/// Every scenario, in the order of the README's table.
pub fn all() -> Vec<Scenario> {
    let keep = NO_NEEDLESS_ELECTION;
    vec![
        Scenario {
            name: "rejoin",
            pattern:
                "a follower's link flaps (3 s cut off, 1 s back): it returns with a higher term",
            nodes: 5,
            bound: keep,
            expected: [Some(false), Some(true), Some(false), Some(true)],
            script: script!(rejoin),
        },
        Scenario {
            name: "bridge",
            pattern: "two halves of two that only a fifth server (the bridge) connects",
            nodes: 5,
            bound: keep,
            expected: [Some(false), Some(true), Some(true), Some(true)],
            script: script!(bridge),
        },
        Scenario {
            name: "one_way",
            pattern: "the leader's link to one follower fails in that direction only",
            nodes: 5,
            bound: keep,
            expected: [Some(false), Some(true), Some(true), Some(true)],
            script: script!(one_way),
        },
        Scenario {
            name: "cut_from_quorum",
            pattern:
                "the leader reaches only one follower, which reaches a majority; a fifth is cut off",
            nodes: 5,
            bound: NEW_LEADER,
            expected: [None, Some(false), Some(true), Some(true)],
            script: script!(cut_from_quorum),
        },
        Scenario {
            name: "ring",
            pattern:
                "each server reaches only its two neighbours: every one sees a different majority",
            nodes: 5,
            bound: keep,
            expected: [Some(false), Some(true), Some(true), Some(true)],
            script: script!(ring),
        },
        Scenario {
            name: "transfer_target_crash",
            pattern: "the leader hands over to a follower that crashes before it takes over",
            nodes: 5,
            bound: 1_000 * MS,
            expected: [Some(true), Some(true), Some(true), Some(true)],
            script: script!(transfer_target_crash),
        },
        Scenario {
            name: "stale_term_rejoin",
            pattern: "a node cut off while terms moved on returns just as the leader crashes",
            nodes: 3,
            bound: NEW_LEADER,
            expected: [Some(true), Some(true), Some(true), Some(true)],
            script: script!(stale_term_rejoin),
        },
        Scenario {
            name: "remove_leader",
            pattern: "the leader removes itself (5 → 4): it steps down once C_new commits",
            nodes: 5,
            bound: NO_NEEDLESS_ELECTION,
            expected: [Some(true), Some(true), Some(true), Some(true)],
            script: script!(remove_leader),
        },
    ]
}

/// The scenario named `name`.
pub fn find(name: &str) -> Option<Scenario> {
    all().into_iter().find(|s| s.name == name)
}

/// Runs `scenario` on `seed` with `features` on every node.
pub fn run(scenario: &Scenario, features: Features, seed: u64) -> Verdict {
    let mut world = World::new(scenario.nodes, seed, Edition::Y2024, false, false);
    world.set_features(features);
    world
        .network_mut()
        .set_message_faults(crate::network::MessageFaults {
            latency_min: MS,
            latency_max: 10 * MS,
            ..Default::default()
        });
    let t = Tester::with_world(world, seed);
    let samples = Rc::new(RefCell::new(Vec::new()));
    let fault = Rc::new(Cell::new(None));
    let (s, f, script) = (samples.clone(), fault.clone(), scenario.script);
    let outcome = run_tester(t, seed, move |t| watch(t, script, s, f));
    let samples = samples.borrow();
    let error = outcome.result.err().map(|failure| failure.message);
    let Some(start) = fault.get().filter(|_| error.is_none()) else {
        return Verdict {
            time_to_stable: None,
            leaderships: 0,
            passed: false,
            error: error.or(Some("the fault never began".into())),
        };
    };
    judge(&samples, start, scenario.bound)
}

/// One sample: the time, the leader of the highest term (server, term), the commit index.
type Sample = (SimTime, Option<(usize, u64)>, u64);

/// Starts the cluster and the client, waits for a leader, runs the script and samples.
async fn watch(
    t: Tester,
    script: Script,
    samples: Rc<RefCell<Vec<Sample>>>,
    fault: Rc<Cell<Option<SimTime>>>,
) -> TestResult {
    t.begin("scenario");
    for i in 0..t.n() {
        t.start_server(i);
        t.connect(i);
    }
    let client = t.go(client(t.clone()));
    let mut leader = None;
    while leader.is_none() {
        if t.now() > 10_000 * MS {
            return t.fail("no leader to begin with");
        }
        t.sleep(100).await;
        leader = highest_leader(&t).filter(|_| committed(&t) >= 3);
    }
    let (leader, _) = leader.expect("found");
    let script = t.go(script(t.clone(), leader, fault.clone()));
    loop {
        samples
            .borrow_mut()
            .push((t.now(), highest_leader(&t), committed(&t)));
        if fault.get().is_some_and(|at| t.now() >= at + WINDOW) {
            break;
        }
        t.sleep(10).await;
    }
    script.await?;
    drop(client);
    t.finish();
    Ok(())
}

/// Proposes a new command every 50 ms to every server that believes it leads.
async fn client(t: Tester) -> TestResult {
    for k in 0.. {
        for i in 0..t.n() {
            if t.get_state(i).1 {
                t.start(i, Value::Int(k));
            }
        }
        t.sleep(PROPOSE_EVERY_MS).await;
    }
    Ok(())
}

/// The live server that leads the highest term, and that term.
fn highest_leader(t: &Tester) -> Option<(usize, u64)> {
    (0..t.n())
        .map(|i| (i, t.get_state(i)))
        .filter(|(_, (_, leads))| *leads)
        .map(|(i, (term, _))| (i, term))
        .max_by_key(|&(_, term)| term)
}

fn committed(t: &Tester) -> u64 {
    let world = t.world();
    world.checkers().highest_committed().map_or(0, |(i, _)| i.0)
}

/// The verdict on the samples from `start` on (see the module's comment).
fn judge(samples: &[Sample], start: SimTime, bound: SimTime) -> Verdict {
    let mut last_bad = start;
    let mut last_commit = (start, 0);
    let mut previous = None;
    let mut leaderships = 0;
    for &(at, leader, commit) in samples.iter().filter(|s| s.0 >= start) {
        if commit > last_commit.1 {
            last_commit = (at, commit);
        }
        let changed = previous.is_some() && leader != previous;
        if leader.is_some() && (previous.is_none() || changed) {
            leaderships += 1;
        }
        if leader.is_none() || changed || at - last_commit.0 > COMMIT_GAP {
            last_bad = at;
        }
        previous = leader;
    }
    let time = last_bad - start;
    Verdict {
        time_to_stable: Some(time),
        leaderships,
        passed: time <= bound,
        error: None,
    }
}

// ---- the scripts ---------------------------------------------------------------------------

/// Replaces every one-way cut by `cuts` (pairs cut both ways).
fn cut(t: &Tester, name: &str, pairs: &[(usize, usize)]) {
    let mut world = t.world();
    let now = world.now();
    let network = world.network_mut();
    network.clear_cuts();
    for &(a, b) in pairs {
        network.set_link(a, b, false);
        network.set_link(b, a, false);
    }
    world.trace_note(now, format!("scenario {name}: cut {pairs:?} both ways"));
}

/// Every pair between `a` and `b`.
fn between(a: &[usize], b: &[usize]) -> Vec<(usize, usize)> {
    a.iter()
        .flat_map(|&x| b.iter().map(move |&y| (x, y)))
        .collect()
}

/// Server `k` places after `leader`, round the cluster.
fn after(t: &Tester, leader: usize, k: usize) -> usize {
    (leader + k) % t.n()
}

async fn until_end(t: &Tester, fault: &Rc<Cell<Option<SimTime>>>) {
    let end = fault.get().expect("begun") + WINDOW;
    while t.now() < end {
        t.sleep(100).await;
    }
}

async fn rejoin(t: Tester, leader: usize, fault: Rc<Cell<Option<SimTime>>>) -> TestResult {
    let flappy = after(&t, leader, 1);
    let others: Vec<usize> = (0..t.n()).filter(|&i| i != flappy).collect();
    fault.set(Some(t.now()));
    let end = t.now() + WINDOW;
    while t.now() < end {
        cut(&t, "rejoin: away", &between(&[flappy], &others));
        t.sleep(3_000).await;
        cut(&t, "rejoin: back", &[]);
        t.sleep(1_000).await;
    }
    Ok(())
}

async fn bridge(t: Tester, leader: usize, fault: Rc<Cell<Option<SimTime>>>) -> TestResult {
    let (mate, bridge) = (after(&t, leader, 1), after(&t, leader, 2));
    let far = [after(&t, leader, 3), after(&t, leader, 4)];
    let _ = bridge;
    cut(&t, "bridge", &between(&[leader, mate], &far));
    fault.set(Some(t.now()));
    until_end(&t, &fault).await;
    Ok(())
}

async fn one_way(t: Tester, leader: usize, fault: Rc<Cell<Option<SimTime>>>) -> TestResult {
    let deaf = after(&t, leader, 1);
    {
        let mut world = t.world();
        world.network_mut().set_link(leader, deaf, false);
        let now = world.now();
        world.trace_note(now, format!("scenario one_way: cut s{leader}->s{deaf}"));
    }
    fault.set(Some(t.now()));
    until_end(&t, &fault).await;
    Ok(())
}

async fn cut_from_quorum(t: Tester, leader: usize, fault: Rc<Cell<Option<SimTime>>>) -> TestResult {
    let bridge = after(&t, leader, 1);
    let (a, b, lonely) = (
        after(&t, leader, 2),
        after(&t, leader, 3),
        after(&t, leader, 4),
    );
    let mut pairs = between(&[leader], &[a, b, lonely]);
    pairs.extend(between(&[lonely], &[a, b, bridge]));
    cut(&t, "cut_from_quorum", &pairs);
    fault.set(Some(t.now()));
    until_end(&t, &fault).await;
    Ok(())
}

async fn ring(t: Tester, leader: usize, fault: Rc<Cell<Option<SimTime>>>) -> TestResult {
    let n = t.n();
    let pairs: Vec<(usize, usize)> = (0..n)
        .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
        .filter(|&(a, b)| b - a != 1 && b - a != n - 1)
        .collect();
    let _ = leader;
    cut(&t, "ring", &pairs);
    fault.set(Some(t.now()));
    until_end(&t, &fault).await;
    Ok(())
}

async fn transfer_target_crash(
    t: Tester,
    leader: usize,
    fault: Rc<Cell<Option<SimTime>>>,
) -> TestResult {
    let target = after(&t, leader, 1);
    fault.set(Some(t.now()));
    t.world().transfer_leader(leader, target);
    t.crash(target); // before the TimeoutNow (1-10 ms away) reaches it
    t.sleep(5_000).await;
    t.start_server(target);
    t.connect(target);
    until_end(&t, &fault).await;
    Ok(())
}

/// The leader asks to leave the cluster; once C_new commits it steps down, handing over to a
/// C_new voter that holds its whole log (thesis §3.10).
async fn remove_leader(t: Tester, leader: usize, fault: Rc<Cell<Option<SimTime>>>) -> TestResult {
    let others: Vec<usize> = (0..t.n()).filter(|&i| i != leader).collect();
    fault.set(Some(t.now()));
    let answer = t.world().change_membership(leader, &others, &[]);
    if !matches!(answer, ChangeAnswer::Proposed { .. }) {
        return t.fail(format!(
            "the leader did not propose its removal: {answer:?}"
        ));
    }
    until_end(&t, &fault).await;
    Ok(())
}

async fn stale_term_rejoin(
    t: Tester,
    leader: usize,
    fault: Rc<Cell<Option<SimTime>>>,
) -> TestResult {
    let away = after(&t, leader, 1);
    let others: Vec<usize> = (0..t.n()).filter(|&i| i != away).collect();
    cut(&t, "stale_term_rejoin: away", &between(&[away], &others));
    // While it is away, the other two change leaders a few times: their term moves on.
    for _ in 0..3 {
        t.sleep(1_000).await;
        if let Some((current, _)) = highest_leader(&t) {
            t.crash(current);
            t.sleep(1_000).await;
            t.start_server(current);
            t.connect(current);
            cut(&t, "stale_term_rejoin: away", &between(&[away], &others));
        }
    }
    t.sleep(1_000).await;
    // It returns just as the leader crashes: the survivors' terms differ widely.
    fault.set(Some(t.now()));
    cut(&t, "stale_term_rejoin: back", &[]);
    if let Some((current, _)) = highest_leader(&t) {
        t.crash(current);
    }
    until_end(&t, &fault).await;
    Ok(())
}

// ---- leases and clock drift ----------------------------------------------------------------

/// Three servers with lease reads assuming `drift_bound` percent of clock drift; server 0's
/// clock runs 50 % slow and the others' 50 % fast. Leadership is handed to server 0 until it
/// holds a lease; then it is cut off from both others while a client keeps reading at it
/// (every 11 ms, for a second) and writing at whoever leads among the others. Returns the run
/// (failed by the Linearizable Reads checker if the old leader served a stale read) and how
/// many reads the old leader served after the cut. With the bound at the real drift (50),
/// none is stale; below it, the lease outlives the others' stickiness.
pub fn lease_behind_a_partition(drift_bound: u32, seed: u64) -> (crate::runner::Outcome, u64) {
    let features = Features {
        pre_vote: true,
        check_quorum: true,
        read_index: true,
        lease_reads: true,
        drift_percent: drift_bound,
    };
    let mut world = World::new(3, seed, Edition::Y2024, false, false);
    world.set_features(features);
    world.set_tick(0, crate::world::DEFAULT_TICK * 3 / 2);
    for follower in [1, 2] {
        world.set_tick(follower, crate::world::DEFAULT_TICK / 2);
    }
    let t = Tester::with_world(world, seed);
    let served = Rc::new(Cell::new(0));
    let count = served.clone();
    let outcome = run_tester(t, seed, move |t| async move {
        t.begin("lease behind a partition");
        for i in 0..3 {
            t.start_server(i);
            t.connect(i);
        }
        while !(t.get_state(0).1 && t.world().node(0).is_some_and(|n| n.lease_holds())) {
            if t.now() > 20_000 * MS {
                return t.fail("server 0 never held a lease");
            }
            if let Some(leader) = [1, 2].into_iter().find(|&i| t.get_state(i).1) {
                t.world().transfer_leader(leader, 0);
            }
            t.world().read(0);
            t.start(0, Value::Int(-1));
            t.sleep(10).await;
        }
        t.disconnect(0);
        for k in 0..100 {
            let asked = t.world().read(0);
            if let Some(id) = asked {
                t.sleep(1).await;
                let outcome = t.world().read_outcome(id);
                if matches!(outcome, Some(crate::reads::ReadOutcome::Ready { .. })) {
                    count.set(count.get() + 1);
                }
            }
            for i in [1, 2] {
                if t.get_state(i).1 {
                    t.start(i, Value::Int(k));
                }
            }
            t.sleep(10).await;
        }
        t.finish();
        Ok(())
    });
    (outcome, served.get())
}
