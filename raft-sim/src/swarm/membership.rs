//! The swarm's operator: membership changes made at the leader while every other fault goes
//! on, the way an operator grows, shrinks and repairs a cluster that is years old (Raft paper
//! §6, Ongaro's thesis ch. 4).
//!
//! Every change is asked of whoever leads (`Event::ChangeMembership`) and retried like a
//! client's command on `NotLeader` or `ChangeInProgress`, until the leader's *committed*
//! configuration is the one asked for (the core moves through C_old,new to C_new by itself), or
//! the change's patience runs out. A change begins only from a settled configuration (simple,
//! and committed). Servers outside the cluster are spares: started with no configuration just
//! before they are added. A removed server is either stopped for good (*retired*) or left
//! running, to try to disrupt the cluster it no longer belongs to.

use super::nemesis::sleep_until;
use super::plan::Plan;
use crate::rng::Stream;
use crate::tester::{TestResult, Tester};
use crate::world::{ChangeAnswer, SimTime, MS};
use raft_core::{Membership, NodeId, Refusal};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// How long one change may take before the operator gives up on it (it may still complete).
const PATIENCE: SimTime = 10_000 * MS;

/// The kinds of membership change the operator makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    /// A spare joins as a learner, catches up, and is promoted to voter.
    Learner,
    /// A spare joins as a voter directly.
    Add,
    /// A voter (not necessarily a follower) is removed.
    Remove,
    /// A voter is replaced by a spare in one joint change.
    Replace,
    /// Two voters leave at once (5 → 3, or 7 → 5, 6 → 4).
    Shrink,
    /// Up to four spares join at once, to at most seven voters (3 → 7).
    Grow,
    /// The leader itself is removed: it leads until C_new commits, then steps down.
    RemoveLeader,
    /// A removed server rejoins as a voter with its old disk (stale log, term and vote).
    /// Drawn only on seeds that run PreVote: a server removed while it was down or cut off
    /// does not know it was removed, and keeps standing for election in its old
    /// configuration at ever higher terms. Re-added, its vote may be needed (a two-voter
    /// configuration needs both), and without PreVote the candidates that could win learn
    /// its term only from its refusals; if its clock runs faster than theirs it is always a
    /// term ahead, and no one is elected (swarm seeds 3238 and 6830, pinned in the tests).
    /// PreVote stops the term from running away (thesis §9.6); raft-core documents it as
    /// required for re-adding such a server.
    ReaddStale,
    /// A removed server rejoins as a voter with a wiped disk, under its old id. Outside
    /// raft-core's contract (its embedding guide: never reuse the id of a server that lost its
    /// disk), so never drawn; a plan may name it to show what goes wrong, as
    /// `--unsafe-disk` shows a disk that breaks its promise.
    ReaddWiped,
}

impl ChangeKind {
    /// Every kind.
    pub const ALL: [ChangeKind; 9] = [
        ChangeKind::Learner,
        ChangeKind::Add,
        ChangeKind::Remove,
        ChangeKind::Replace,
        ChangeKind::Shrink,
        ChangeKind::Grow,
        ChangeKind::RemoveLeader,
        ChangeKind::ReaddStale,
        ChangeKind::ReaddWiped,
    ];

    /// The kinds a seed draws from: every kind within raft-core's contract (all but
    /// [`ChangeKind::ReaddWiped`]; [`ChangeKind::ReaddStale`] only with PreVote).
    pub const DRAWN: [ChangeKind; 8] = [
        ChangeKind::Learner,
        ChangeKind::Add,
        ChangeKind::Remove,
        ChangeKind::Replace,
        ChangeKind::Shrink,
        ChangeKind::Grow,
        ChangeKind::RemoveLeader,
        ChangeKind::ReaddStale,
    ];

    /// The kind's name in plans (`member=learner+replace/2000`).
    pub fn name(self) -> &'static str {
        match self {
            ChangeKind::Learner => "learner",
            ChangeKind::Add => "add",
            ChangeKind::Remove => "remove",
            ChangeKind::Replace => "replace",
            ChangeKind::Shrink => "shrink",
            ChangeKind::Grow => "grow",
            ChangeKind::RemoveLeader => "leader",
            ChangeKind::ReaddStale => "stale",
            ChangeKind::ReaddWiped => "wiped",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<ChangeKind> {
        ChangeKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// Per kind of change: how many the operator began and how many completed (the leader's
/// committed configuration became the one asked for in time).
pub type ChangeCounts = BTreeMap<ChangeKind, (u64, u64)>;

/// The cluster as the operator sees it: a settled configuration's voters and learners.
struct Settled {
    leader: usize,
    voters: Vec<usize>,
    learners: Vec<usize>,
}

/// The operator's loop: a change every so often until `end`, each run to completion (or out
/// of patience) before the next; `counts` records what was reached and completed.
pub async fn changes(
    t: Tester,
    plan: Plan,
    mut rng: Stream,
    end: SimTime,
    counts: Rc<RefCell<ChangeCounts>>,
) -> TestResult {
    if plan.membership.is_empty() {
        return Ok(());
    }
    loop {
        let pause_ms = rng.below(2 * plan.member_every_ms + 1);
        sleep_until(&t, (t.now() + pause_ms * MS).min(end)).await;
        if t.now() >= end {
            return Ok(());
        }
        let Some(settled) = settled(&t, plan.universe()) else {
            continue;
        };
        let usable: Vec<ChangeKind> = plan
            .membership
            .iter()
            .copied()
            .filter(|&kind| applies(&t, kind, &settled, plan.universe()))
            .collect();
        if usable.is_empty() {
            continue;
        }
        let kind = usable[rng.below(usable.len() as u64) as usize];
        counts.borrow_mut().entry(kind).or_default().0 += 1;
        let deadline = t.now() + PATIENCE;
        if make(&t, kind, settled, &mut rng, deadline, plan.universe()).await {
            counts.borrow_mut().entry(kind).or_default().1 += 1;
        }
    }
}

/// Whether `kind` can be made from `settled` with the servers at hand.
fn applies(t: &Tester, kind: ChangeKind, settled: &Settled, universe: usize) -> bool {
    let voters = settled.voters.len();
    let fresh = spares(t, universe).len();
    let removed = removed(t, settled, universe).len();
    match kind {
        ChangeKind::Learner | ChangeKind::Add => fresh >= 1 && voters < 7,
        ChangeKind::Remove | ChangeKind::RemoveLeader => voters >= 2,
        ChangeKind::Replace => fresh >= 1 && voters >= 1,
        ChangeKind::Shrink => voters >= 5,
        ChangeKind::Grow => voters <= 3 && fresh >= 1,
        ChangeKind::ReaddStale | ChangeKind::ReaddWiped => removed >= 1 && voters < 7,
    }
}

/// Makes one change of `kind` from `settled`; true if it completed before `deadline`.
async fn make(
    t: &Tester,
    kind: ChangeKind,
    settled: Settled,
    rng: &mut Stream,
    deadline: SimTime,
    universe: usize,
) -> bool {
    let Settled {
        leader,
        voters,
        learners,
    } = settled;
    let pick = |rng: &mut Stream, from: &[usize]| from[rng.below(from.len() as u64) as usize];
    let without = |list: &[usize], gone: &[usize]| -> Vec<usize> {
        list.iter().copied().filter(|i| !gone.contains(i)).collect()
    };
    let with = |list: &[usize], more: &[usize]| -> Vec<usize> {
        let mut all: Vec<usize> = list.iter().chain(more).copied().collect();
        all.sort_unstable();
        all.dedup();
        all
    };
    match kind {
        ChangeKind::Learner => {
            let spare = pick(rng, &spares(t, universe));
            join(t, spare);
            if !change(t, &voters, &with(&learners, &[spare]), deadline).await {
                return false;
            }
            let caught_up = catch_up(t, spare, deadline).await;
            caught_up
                && change(
                    t,
                    &with(&voters, &[spare]),
                    &without(&learners, &[spare]),
                    deadline,
                )
                .await
        }
        ChangeKind::Add => {
            let spare = pick(rng, &spares(t, universe));
            join(t, spare);
            change(t, &with(&voters, &[spare]), &learners, deadline).await
        }
        ChangeKind::Remove | ChangeKind::RemoveLeader => {
            let gone = match kind {
                ChangeKind::RemoveLeader => leader,
                _ => pick(rng, &voters),
            };
            let done = change(t, &without(&voters, &[gone]), &learners, deadline).await;
            if done {
                retire_or_leave(t, gone, rng);
            }
            done
        }
        ChangeKind::Replace => {
            let (gone, spare) = (pick(rng, &voters), pick(rng, &spares(t, universe)));
            join(t, spare);
            let new = with(&without(&voters, &[gone]), &[spare]);
            let done = change(t, &new, &without(&learners, &[spare]), deadline).await;
            if done {
                retire_or_leave(t, gone, rng);
            }
            done
        }
        ChangeKind::Shrink => {
            let first = pick(rng, &voters);
            let second = pick(rng, &without(&voters, &[first]));
            let done = change(t, &without(&voters, &[first, second]), &learners, deadline).await;
            if done {
                retire_or_leave(t, first, rng);
                retire_or_leave(t, second, rng);
            }
            done
        }
        ChangeKind::Grow => {
            let mut fresh = spares(t, universe);
            let mut joining = Vec::new();
            while joining.len() < 4 && voters.len() + joining.len() < 7 && !fresh.is_empty() {
                let spare = fresh.remove(rng.below(fresh.len() as u64) as usize);
                join(t, spare);
                joining.push(spare);
            }
            let new = with(&voters, &joining);
            change(t, &new, &without(&learners, &joining), deadline).await
        }
        ChangeKind::ReaddStale | ChangeKind::ReaddWiped => {
            let back = pick(rng, &removed_of(t, &voters, &learners, universe));
            {
                let mut world = t.world();
                if kind == ChangeKind::ReaddWiped {
                    world.wipe(back);
                }
                world.set_retired(back, false);
            }
            if !t.is_alive(back) {
                t.start_server(back);
            }
            t.connect(back);
            let new = with(&voters, &[back]);
            change(t, &new, &without(&learners, &[back]), deadline).await
        }
    }
}

/// Starts spare `i` (no configuration: it waits to hear from a leader) and connects it.
fn join(t: &Tester, i: usize) {
    if !t.is_alive(i) {
        t.start_server(i);
    }
    t.connect(i);
}

/// A removed server: half the time stopped for good, else left running (it may try to disrupt
/// the cluster it left).
fn retire_or_leave(t: &Tester, i: usize, rng: &mut Stream) {
    if rng.below(2) == 0 {
        t.crash(i);
        t.world().set_retired(i, true);
        let now = t.now();
        t.world().trace_note(now, format!("s{i} retired"));
    }
}

/// Servers never started: spares that can join as new members.
fn spares(t: &Tester, universe: usize) -> Vec<usize> {
    let world = t.world();
    (0..universe)
        .filter(|&i| world.incarnation(i) == 0)
        .collect()
}

/// Servers that ran once and are not members of `settled`: removed ones.
fn removed(t: &Tester, settled: &Settled, universe: usize) -> Vec<usize> {
    removed_of(t, &settled.voters, &settled.learners, universe)
}

fn removed_of(t: &Tester, voters: &[usize], learners: &[usize], universe: usize) -> Vec<usize> {
    let world = t.world();
    (0..universe)
        .filter(|&i| world.incarnation(i) > 0)
        .filter(|i| !voters.contains(i) && !learners.contains(i))
        .collect()
}

/// The live server that leads the highest term, if any.
pub(crate) fn leader(t: &Tester, universe: usize) -> Option<usize> {
    (0..universe)
        .map(|i| (i, t.get_state(i)))
        .filter(|(_, (_, leads))| *leads)
        .max_by_key(|(_, (term, _))| *term)
        .map(|(i, _)| i)
}

/// The configuration, if a leader has it committed and nothing newer in force.
fn settled(t: &Tester, universe: usize) -> Option<Settled> {
    let leader = leader(t, universe)?;
    let world = t.world();
    let node = world.node(leader)?;
    let (in_force, committed) = (node.membership(), node.committed_membership());
    if in_force != committed || in_force.is_joint() {
        return None;
    }
    Some(Settled {
        leader,
        voters: ids(&in_force.voters),
        learners: ids(&in_force.learners),
    })
}

fn ids(list: &[NodeId]) -> Vec<usize> {
    list.iter().map(|id| id.0 as usize).collect()
}

/// Asks whoever leads for `voters` and `learners`, retrying like a client, until a leader
/// has that configuration committed (true) or `deadline` passes (false).
pub(crate) async fn change(
    t: &Tester,
    voters: &[usize],
    learners: &[usize],
    deadline: SimTime,
) -> bool {
    let ids = |list: &[usize]| list.iter().map(|&i| NodeId(i as u64)).collect();
    let wanted = Membership::new(ids(voters), ids(learners));
    let universe = t.n();
    while t.now() < deadline {
        let Some(leader) = leader(t, universe) else {
            t.sleep(20).await;
            continue;
        };
        if committed_at(t, leader, &wanted) {
            return true;
        }
        let answer = t.world().change_membership(leader, voters, learners);
        match answer {
            ChangeAnswer::Proposed { .. } => {
                // Wait while this leader leads: the core finishes the change on its own.
                while t.now() < deadline && t.get_state(leader).1 {
                    if committed_at(t, leader, &wanted) {
                        return true;
                    }
                    t.sleep(10).await;
                }
            }
            ChangeAnswer::Refused(Refusal::InvalidMembership(why)) => {
                let now = t.now();
                let note = format!("operator: the change was refused as invalid: {why}");
                t.world().trace_note(now, note);
                return false;
            }
            ChangeAnswer::Refused(_) | ChangeAnswer::Down => t.sleep(20).await,
        }
    }
    false
}

/// Whether server `i` leads with `wanted` committed and in force.
fn committed_at(t: &Tester, i: usize, wanted: &Membership) -> bool {
    let world = t.world();
    world.node(i).is_some_and(|n| {
        n.is_leader() && n.committed_membership() == wanted && n.membership() == wanted
    })
}

/// Waits until learner `i` has applied what its leader had committed when the wait began.
async fn catch_up(t: &Tester, i: usize, deadline: SimTime) -> bool {
    let Some(leader) = leader(t, t.n()) else {
        return false;
    };
    let target = t.world().node(leader).map_or(0, |n| n.commit_index().0);
    while t.now() < deadline {
        let applied = t.world().node(i).map_or(0, |n| n.last_applied().0);
        if applied >= target {
            return true;
        }
        t.sleep(20).await;
    }
    false
}
