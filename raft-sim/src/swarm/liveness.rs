//! The liveness phase: heal a majority (or everyone), stop the faults among it, and require
//! progress within a bound derived from the configured timeouts. A cluster that stops making
//! progress with a healthy majority fails, even if nothing unsafe happened.

use super::nemesis::{restart_if_down, set_cuts};
use super::plan::Plan;
use crate::network::MessageFaults;
use crate::reads::ReadOutcome;
use crate::rng::Stream;
use crate::tester::{TestResult, Tester};
use crate::value::Value;
use crate::world::{SimTime, DEFAULT_TICK, MS};

/// Election timeouts a healed majority gets for each of its three goals.
const TIMEOUTS_ALLOWED: u64 = 20;

/// Clocks of healed servers keep their drift, but within ±20 %: Raft is live only while a
/// heartbeat interval stays well inside every follower's election timeout (§5.6), and the
/// defaults (10 and 30–60 ticks) leave no margin at ±50 %.
const MAX_HEALED_SKEW_PERCENT: u64 = 20;

/// New commands that must commit on every healed server.
const PROBES: i64 = 3;

/// Heals, then checks the goals in turn: a leader among the healed servers, new commands
/// committed on all of them, every entry committed before healing applied on all of them, and,
/// with ReadIndex, a read served at each of them.
/// (A new leader commits its predecessors' entries only with one of its own term, §5.4.2, so
/// the old entries are checked after the new ones.)
pub async fn check(t: &Tester, plan: &Plan, ticks: &mut [SimTime], mut rng: Stream) -> TestResult {
    if !plan.membership.is_empty() {
        return check_members(t, plan, ticks, &mut rng).await;
    }
    let healed = heal(t, plan, ticks, &mut rng);
    let committed = t.world().checkers().highest_committed();
    let committed = committed.map_or(0, |(index, _)| index.0);
    let slowest_tick = healed
        .iter()
        .map(|&i| ticks[i])
        .max()
        .unwrap_or(DEFAULT_TICK);
    let election_max = t
        .world()
        .node(healed[0])
        .map_or(60, |n| n.config().election_ticks_max);
    let latency = plan.latency_ms.map_or(0, |(_, high)| high * MS);
    let bound = TIMEOUTS_ALLOWED * (u64::from(election_max) * slowest_tick + 2 * latency);
    let healed_at = t.now();
    let late = |what: String| {
        format!(
            "Liveness: servers {healed:?} healed at {:.3}s, but {what} within {:.1}s",
            healed_at as f64 / 1e6,
            bound as f64 / 1e6
        )
    };
    let leads = |t: &Tester| healed.iter().any(|&i| t.get_state(i).1);
    if !wait(t, bound, leads).await {
        return t.fail(late("none of them leads".into()));
    }
    for probe in 1..=PROBES {
        if !commit_on_all(t, &healed, Value::Int(-probe), bound).await {
            return t.fail(late(format!(
                "a new command (probe {probe}) did not commit"
            )));
        }
    }
    let caught_up = |t: &Tester| all_applied(t, &healed, committed);
    if !wait(t, bound, caught_up).await {
        return t.fail(late(format!(
            "not all of them applied the entries committed before (through index {committed})"
        )));
    }
    if plan.features.read_index {
        for &i in &healed {
            if !read_on(t, i, bound).await {
                return t.fail(late(format!("a read at server {i} was not served")));
            }
        }
    }
    Ok(())
}

/// The liveness phase of a plan that changes membership. Every server that is not retired is
/// restarted; with `heal=majority`, some are then kept cut off (`keep_apart`: only as many as
/// leave a majority of every configuration in force or committed anywhere healed). Then: a
/// healed leader that is a voter of its own configuration must exist and commit a new command
/// (a new leader commits its predecessors' entries, configuration entries included, only with
/// one of its own term, §5.4.2); the configuration must settle (simple and committed: the core
/// finishes a joint change on its own); new commands must commit on every healed member of it,
/// voters and learners; and every entry committed before healing must be applied on each.
/// Removed servers, retired or left running, and the servers kept apart are exempt.
async fn check_members(
    t: &Tester,
    plan: &Plan,
    ticks: &mut [SimTime],
    rng: &mut Stream,
) -> TestResult {
    let (healed, apart) = heal_members(t, plan, ticks, rng);
    let committed = t.world().checkers().highest_committed();
    let committed = committed.map_or(0, |(index, _)| index.0);
    let bound = bound_for(t, plan, ticks, &healed);
    let healed_at = t.now();
    let who = match apart.is_empty() {
        true => "every server healed".to_string(),
        false => format!("every server healed, {apart:?} kept apart,"),
    };
    let late = |what: String| {
        format!(
            "Liveness: {who} at {:.3}s, but {what} within {:.1}s",
            healed_at as f64 / 1e6,
            bound as f64 / 1e6
        )
    };
    let voter_leads = |t: &Tester| voting_leader(t, &healed).is_some();
    if !wait(t, bound, voter_leads).await {
        return t.fail(late("no voter of its own configuration leads".into()));
    }
    if !commit_on_leader(t, &healed, Value::Int(-1), bound).await {
        return t.fail(late("no leader committed a new command (probe 1)".into()));
    }
    let settled = |t: &Tester| {
        let leader = voting_leader(t, &healed);
        let world = t.world();
        leader.and_then(|i| world.node(i)).is_some_and(|n| {
            let m = n.membership();
            !m.is_joint() && m == n.committed_membership()
        })
    };
    if !wait(t, bound, settled).await {
        return t.fail(late(
            "the configuration did not settle (simple, committed at a leader)".into(),
        ));
    }
    // Members added late start with an empty log: shipping it takes time of its own.
    let bound = bound + catch_up_allowance(plan, committed);
    let leader = voting_leader(t, &healed).expect("settled");
    let members: Vec<usize> = {
        let world = t.world();
        let membership = world.node(leader).expect("leads").membership();
        membership
            .members()
            .iter()
            .map(|id| id.0 as usize)
            .filter(|i| !apart.contains(i))
            .collect()
    };
    let now = t.now();
    let note = format!("liveness phase: s{leader} leads members {members:?}");
    t.world().trace_note(now, note);
    for probe in 2..=PROBES {
        if !commit_on_all(t, &members, Value::Int(-probe), bound).await {
            return t.fail(late(format!(
                "a new command (probe {probe}) did not commit on every member of {members:?}"
            )));
        }
    }
    let caught_up = |t: &Tester| all_applied(t, &members, committed);
    if !wait(t, bound, caught_up).await {
        return t.fail(late(format!(
            "not every member of {members:?} applied the entries committed before (through \
             index {committed})"
        )));
    }
    Ok(())
}

/// How long a leader may take to ship `entries` entries to a server that has none, at the
/// plan's batch size, in-flight limit and worst latency (a round trip per batch window).
fn catch_up_allowance(plan: &Plan, entries: u64) -> SimTime {
    let defaults = raft_core::Config::new(raft_core::NodeId(0), Vec::new(), 0);
    let (per_message, inflight) = match plan.flow {
        Some((entries, _, inflight)) => (entries as u64, u64::from(inflight)),
        None => (
            defaults.max_entries_per_message as u64,
            u64::from(defaults.max_inflight_messages),
        ),
    };
    let round_trip = 2 * plan.latency_ms.map_or(1, |(_, high)| high.max(1)) * MS;
    entries.div_ceil(per_message * inflight) * round_trip
}

/// Restarts every server ever started (spares never added stay unstarted); with
/// `heal=majority`, then cuts off those [`keep_apart`] picks. Returns (healed, kept apart).
fn heal_members(
    t: &Tester,
    plan: &Plan,
    ticks: &mut [SimTime],
    rng: &mut Stream,
) -> (Vec<usize>, Vec<usize>) {
    let everyone: Vec<usize> = (0..plan.universe())
        .filter(|&i| t.world().incarnation(i) > 0)
        .collect();
    heal_servers(t, plan, ticks, &everyone, &[]);
    let apart = match plan.heal_all {
        true => Vec::new(),
        false => keep_apart(t, &everyone, rng),
    };
    let healed: Vec<usize> = everyone
        .iter()
        .copied()
        .filter(|i| !apart.contains(i))
        .collect();
    if !apart.is_empty() {
        set_cuts(t, "kept apart", &cuts_between(&healed, &apart));
    }
    (healed, apart)
}

/// With `heal=majority`, a plan that changes membership: the servers to keep cut off. Each
/// live server in turn, in a drawn order, is kept apart if every side of every configuration
/// in force or committed at a live server still has a majority of live servers not kept
/// apart. Then whichever of those configurations ends up deciding, its healed voters can
/// elect and commit on their own, and each committed entry is on one of them.
fn keep_apart(t: &Tester, servers: &[usize], rng: &mut Stream) -> Vec<usize> {
    let world = t.world();
    let live: Vec<usize> = servers
        .iter()
        .copied()
        .filter(|&i| world.node(i).is_some())
        .collect();
    let sides: Vec<Vec<usize>> = live
        .iter()
        .filter_map(|&i| world.node(i))
        .flat_map(|n| [n.membership(), n.committed_membership()])
        .flat_map(|m| std::iter::once(&m.voters).chain(m.outgoing.as_ref()))
        .map(|side| side.iter().map(|id| id.0 as usize).collect())
        .collect();
    let mut order = live.clone();
    shuffle(&mut order, rng);
    let mut apart = Vec::new();
    for candidate in order {
        let keeps_majority = |side: &Vec<usize>| {
            let healed = side
                .iter()
                .filter(|&&s| s != candidate && live.contains(&s) && !apart.contains(&s))
                .count();
            2 * healed > side.len()
        };
        if sides.iter().all(keeps_majority) {
            apart.push(candidate);
        }
    }
    apart.sort_unstable();
    apart
}

/// Whether every one of `servers` is up and has applied through `index`.
fn all_applied(t: &Tester, servers: &[usize], index: u64) -> bool {
    let world = t.world();
    servers
        .iter()
        .all(|&i| world.node(i).is_some_and(|n| n.last_applied().0 >= index))
}

/// Fisher–Yates, drawing from `rng`.
fn shuffle(items: &mut [usize], rng: &mut Stream) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i as u64 + 1) as usize);
    }
}

/// Every link between `a` and `b`, both ways.
fn cuts_between(a: &[usize], b: &[usize]) -> Vec<(usize, usize)> {
    a.iter()
        .flat_map(|&x| b.iter().flat_map(move |&y| [(x, y), (y, x)]))
        .collect()
}

/// The server among `healed` that leads the highest term, if it is a voter of the
/// configuration in force at it.
fn voting_leader(t: &Tester, healed: &[usize]) -> Option<usize> {
    let leader = healed
        .iter()
        .map(|&i| (i, t.get_state(i)))
        .filter(|(_, (_, leads))| *leads)
        .max_by_key(|(_, (term, _))| *term)
        .map(|(i, _)| i)?;
    let world = t.world();
    let node = world.node(leader)?;
    node.membership().is_voter(node.id()).then_some(leader)
}

/// Proposes `command` to whoever leads (retrying, like a client) until a leader has applied
/// it, or `bound` passes.
async fn commit_on_leader(t: &Tester, healed: &[usize], command: Value, bound: SimTime) -> bool {
    let deadline = t.now() + bound;
    while t.now() < deadline {
        let Some(leader) = voting_leader(t, healed) else {
            t.sleep(10).await;
            continue;
        };
        let started = t.start(leader, command.clone());
        if !started.is_leader {
            t.sleep(10).await;
            continue;
        }
        let attempt_until = (t.now() + 2_000 * MS).min(deadline);
        while t.now() < attempt_until && t.get_state(leader).1 {
            if t.world().appliers().applied(leader, started.index) == Some(&command) {
                return true;
            }
            t.sleep(10).await;
        }
    }
    false
}

/// The time allowed for each goal: 20 election timeouts of the slowest healed clock, plus
/// message latency.
fn bound_for(t: &Tester, plan: &Plan, ticks: &[SimTime], healed: &[usize]) -> SimTime {
    let slowest_tick = healed
        .iter()
        .map(|&i| ticks[i])
        .max()
        .unwrap_or(DEFAULT_TICK);
    let election_max = healed
        .iter()
        .find_map(|&i| t.world().node(i).map(|n| n.config().election_ticks_max))
        .unwrap_or(60);
    let latency = plan.latency_ms.map_or(0, |(_, high)| high * MS);
    TIMEOUTS_ALLOWED * (u64::from(election_max) * slowest_tick + 2 * latency)
}

/// Reads at server `i` (retrying, like a client) until a read is served, or `bound` passes.
async fn read_on(t: &Tester, i: usize, bound: SimTime) -> bool {
    let deadline = t.now() + bound;
    while t.now() < deadline {
        let Some(id) = t.world().read(i) else {
            return false;
        };
        loop {
            let outcome = t.world().read_outcome(id);
            match outcome {
                Some(ReadOutcome::Ready { .. }) => return true,
                Some(ReadOutcome::Failed(_)) => break,
                None if t.now() >= deadline => return false,
                None => t.sleep(10).await,
            }
        }
        t.sleep(10).await;
    }
    false
}

/// Chooses the healed servers; restarts and reconnects them; stops message faults, pending
/// crashes and large clock drift; leaves the others crashed or cut off. Returns the healed.
fn heal(t: &Tester, plan: &Plan, ticks: &mut [SimTime], rng: &mut Stream) -> Vec<usize> {
    let n = plan.nodes;
    let mut order: Vec<usize> = (0..n).collect();
    shuffle(&mut order, rng);
    let keep = if plan.heal_all { n } else { n / 2 + 1 };
    let mut healed = order[..keep].to_vec();
    healed.sort_unstable();
    let outside: Vec<usize> = (0..n).filter(|i| !healed.contains(i)).collect();
    heal_servers(t, plan, ticks, &healed, &outside);
    healed
}

/// Cuts `healed` off from `outside` (and heals every link among `healed`); stops message
/// faults, pending crashes and large clock drift; restarts every healed server that is down
/// (a retired one excepted).
fn heal_servers(
    t: &Tester,
    plan: &Plan,
    ticks: &mut [SimTime],
    healed: &[usize],
    outside: &[usize],
) {
    let n = ticks.len();
    set_cuts(t, "healed", &cuts_between(healed, outside));
    {
        let mut world = t.world();
        let latency = plan
            .latency_ms
            .map_or(MessageFaults::default(), |(low, high)| MessageFaults {
                latency_min: low * MS,
                latency_max: high * MS,
                ..MessageFaults::default()
            });
        world.network_mut().set_message_faults(latency);
        world.network_mut().set_duplication(0);
        for i in 0..n {
            world.cancel_crash(i);
        }
        let (low, high) = (
            DEFAULT_TICK * (100 - MAX_HEALED_SKEW_PERCENT) / 100,
            DEFAULT_TICK * (100 + MAX_HEALED_SKEW_PERCENT) / 100,
        );
        for &i in healed {
            ticks[i] = ticks[i].clamp(low, high);
            world.set_tick(i, ticks[i]);
        }
        let now = world.now();
        world.trace_note(now, format!("liveness phase: healed {healed:?}"));
    }
    for &i in healed {
        restart_if_down(t, i);
    }
}

/// Proposes `command` to whoever leads among `healed` (retrying, like a client) until every
/// healed server has applied it, or `bound` passes.
async fn commit_on_all(t: &Tester, healed: &[usize], command: Value, bound: SimTime) -> bool {
    let deadline = t.now() + bound;
    while t.now() < deadline {
        let leader = healed.iter().copied().find(|&i| t.get_state(i).1);
        let started = leader.map(|i| t.start(i, command.clone()));
        let Some(index) = started.filter(|r| r.is_leader).map(|r| r.index) else {
            t.sleep(10).await;
            continue;
        };
        let attempt_until = (t.now() + 2_000 * MS).min(deadline);
        while t.now() < attempt_until {
            let everywhere = {
                let world = t.world();
                let appliers = world.appliers();
                healed
                    .iter()
                    .all(|&i| appliers.applied(i, index) == Some(&command))
            };
            if everywhere {
                return true;
            }
            t.sleep(10).await;
        }
    }
    false
}

/// Polls every 10 ms until `ready` holds; false if `bound` passes first.
async fn wait(t: &Tester, bound: SimTime, ready: impl Fn(&Tester) -> bool) -> bool {
    let deadline = t.now() + bound;
    loop {
        if ready(t) {
            return true;
        }
        if t.now() >= deadline {
            return false;
        }
        t.sleep(10).await;
    }
}
