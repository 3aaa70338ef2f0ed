//! Shrinking a failing plan: fewer servers, fewer fault kinds, a shorter run, fewer clients,
//! while the same kind of failure (class and checker) remains.
//!
//! Greedy, like delta debugging: try each one-step simplification in turn, keep the first that
//! still fails the same way, and start over from it, until none does. Every candidate is one
//! deterministic run, so the result replays exactly.

use super::{run, Plan, SwarmFailure, SwarmOutcome};

/// The smallest plan found that still fails on `seed` like `failing` did, and its run.
/// `budget` bounds the runs tried.
pub fn shrink(seed: u64, failing: &SwarmOutcome, budget: usize) -> SwarmOutcome {
    let Some(target) = &failing.failure else {
        return failing.clone();
    };
    let mut best = failing.clone();
    let mut tried = 0;
    'improve: while tried < budget {
        for candidate in simpler(&best.plan) {
            if tried >= budget {
                break 'improve;
            }
            tried += 1;
            let outcome = run(seed, &candidate);
            if outcome
                .failure
                .as_ref()
                .is_some_and(|f: &SwarmFailure| f.same_kind(target))
            {
                best = outcome;
                continue 'improve;
            }
        }
        break;
    }
    best
}

/// Every plan one step simpler than `plan`, the boldest steps first.
fn simpler(plan: &Plan) -> Vec<Plan> {
    let mut out = Vec::new();
    let mut try_change = |change: &dyn Fn(&mut Plan)| {
        let mut candidate = plan.clone();
        change(&mut candidate);
        if candidate != *plan {
            out.push(candidate);
        }
    };
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
    try_change(&|p| p.heal_all = true);
    try_change(&|p| p.clients = p.clients.saturating_sub(1).max(1));
    for k in 0..plan.topologies.len() {
        try_change(&|p| {
            if p.topologies.len() > 1 {
                p.topologies.remove(k);
            }
        });
    }
    out
}
