//! Shrinking a failing plan: fewer servers, fewer fault kinds, a shorter run, fewer clients,
//! fewer production features, fewer kinds of membership change, while the same kind of failure (class and checker) remains.
//!
//! Greedy, like delta debugging: try each one-step simplification in turn, keep the first that
//! still fails the same way, and start over from it, until none does. A simpler plan changes
//! every random draw after it, so the exact interleaving that failed is gone; what matters is
//! whether the simpler plan can still fail that way. Each candidate is therefore tried on the
//! failing seed and then on the next few seeds, and the result is a (seed, plan) pair that
//! replays exactly.

use super::{run, Class, Plan, SwarmFailure, SwarmOutcome};

/// Seeds tried per candidate plan: the current one and the next ones.
const SEEDS_PER_CANDIDATE: u64 = 16;

/// The smallest plan found that still fails like `failing` did (on its seed or another), and
/// its run. `budget` bounds the runs tried.
pub fn shrink(failing: &SwarmOutcome, budget: usize) -> SwarmOutcome {
    let Some(target) = failing.failure.clone() else {
        return failing.clone();
    };
    let mut best = failing.clone();
    let mut runs = 0;
    'improve: while runs < budget {
        for candidate in simpler(&best) {
            for k in 0..SEEDS_PER_CANDIDATE {
                if runs >= budget {
                    break 'improve;
                }
                runs += 1;
                // Neighbouring seeds are as independent as any (every stream mixes the seed).
                let seed = best.seed.wrapping_add(k);
                if let Some(outcome) = fails_like(seed, &candidate, &target) {
                    best = outcome;
                    continue 'improve;
                }
            }
        }
        break;
    }
    best
}

/// The run of `plan` on `seed`, if it fails the way `target` did.
fn fails_like(seed: u64, plan: &Plan, target: &SwarmFailure) -> Option<SwarmOutcome> {
    let outcome = run(seed, plan);
    let same = outcome
        .failure
        .as_ref()
        .is_some_and(|f| f.same_kind(target));
    same.then_some(outcome)
}

/// Every plan one step simpler than the one `failing` ran, the boldest steps first.
fn simpler(failing: &SwarmOutcome) -> Vec<Plan> {
    let plan = &failing.plan;
    let mut out = Vec::new();
    let mut try_change = |change: &dyn Fn(&mut Plan)| {
        let mut candidate = plan.clone();
        change(&mut candidate);
        if candidate != *plan {
            out.push(candidate);
        }
    };
    // A safety failure happens in the fault phase, and nothing after it matters: ending the
    // phase just after it replays the same draws up to the failure.
    if let Some(failure) = failing
        .failure
        .as_ref()
        .filter(|f| f.class != Class::Liveness)
    {
        let end_ms = failure.time.div_ceil(1000) + 1;
        try_change(&|p| p.time_ms = p.time_ms.min(end_ms));
    }
    try_change(&|p| p.nodes = p.nodes.min(3));
    try_change(&|p| p.nodes = p.nodes.saturating_sub(1).max(3));
    try_change(&|p| p.time_ms = (p.time_ms / 2).max(500));
    try_change(&|p| (p.topologies, p.hold_ms) = (Vec::new(), 0));
    try_change(&|p| p.crash_every_ms = 0);
    try_change(&|p| p.loss = 0);
    try_change(&|p| p.duplicate = 0);
    try_change(&|p| p.reorder = 0);
    try_change(&|p| p.latency_ms = None);
    try_change(&|p| p.skew_percent = 0);
    try_change(&|p| p.mid_write = 0);
    try_change(&|p| (p.snapshot_every, p.snapshot_bytes) = (0, 0));
    try_change(&|p| p.snapshot_bytes = 0);
    try_change(&|p| p.flow = None);
    try_change(&|p| p.pipelined_ms = None);
    try_change(&|p| p.heal_all = true);
    try_change(&|p| p.clients = p.clients.saturating_sub(1).max(1));
    try_change(&|p| p.transfer_every_ms = 0);
    try_change(&|p| p.features.pre_vote = false);
    try_change(&|p| p.features.lease_reads = false);
    try_change(&|p| {
        if !p.features.lease_reads {
            p.features.check_quorum = false;
        }
    });
    try_change(&|p| {
        if !p.features.lease_reads {
            p.features.read_index = false;
        }
    });
    try_change(&|p| (p.membership, p.member_every_ms) = (Vec::new(), 0));
    for k in 0..plan.membership.len() {
        try_change(&|p| {
            if p.membership.len() > 1 {
                p.membership.remove(k);
            }
        });
    }
    for k in 0..plan.topologies.len() {
        try_change(&|p| {
            if p.topologies.len() > 1 {
                p.topologies.remove(k);
            }
        });
    }
    out
}
