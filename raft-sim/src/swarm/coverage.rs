//! What a sweep covered: how many seeds drew each cluster size and each fault kind, and the
//! range of rates drawn for it; and, for membership changes, how many of each kind the runs
//! began and completed.

use super::membership::{ChangeCounts, ChangeKind};
use super::Plan;
use std::collections::BTreeMap;
use std::fmt;

/// Counts over the plans of a sweep.
#[derive(Clone, Debug, Default)]
pub struct Coverage {
    seeds: u64,
    nodes: BTreeMap<usize, u64>,
    /// Per fault kind: seeds that drew it, and the lowest and highest size drawn.
    kinds: BTreeMap<&'static str, (u64, u64, u64)>,
    /// Per kind of membership change: seeds that drew it, changes begun, changes completed.
    changes: BTreeMap<ChangeKind, (u64, u64, u64)>,
}

impl Coverage {
    /// Counts one seed's plan.
    pub fn add(&mut self, plan: &Plan) {
        self.seeds += 1;
        *self.nodes.entry(plan.nodes).or_default() += 1;
        let mut count = |kind: &'static str, on: bool, size: u64| {
            if on {
                let entry = self.kinds.entry(kind).or_insert((0, u64::MAX, 0));
                entry.0 += 1;
                entry.1 = entry.1.min(size);
                entry.2 = entry.2.max(size);
            }
        };
        let latency = plan.latency_ms.map_or(0, |(_, high)| high);
        count("latency (max ms)", plan.latency_ms.is_some(), latency);
        count("loss (per mille)", plan.loss > 0, plan.loss);
        count(
            "duplication (per mille)",
            plan.duplicate > 0,
            plan.duplicate,
        );
        count("reordering (per mille)", plan.reorder > 0, plan.reorder);
        for kind in &plan.topologies {
            count(topology_label(kind.name()), true, plan.hold_ms);
        }
        let crashes = plan.crash_every_ms > 0;
        count("crashes (mean gap ms)", crashes, plan.crash_every_ms);
        count(
            "torn writes (per mille)",
            crashes && plan.mid_write > 0,
            plan.mid_write,
        );
        count(
            "clock skew (percent)",
            plan.skew_percent > 0,
            plan.skew_percent,
        );
        count(
            "snapshots (every n)",
            plan.snapshot_every > 0,
            plan.snapshot_every,
        );
        let batch = plan.flow.map_or(0, |(entries, _, _)| entries as u64);
        count("small batches (max entries)", plan.flow.is_some(), batch);
        let pipe = plan.pipelined_ms.unwrap_or(0);
        count(
            "pipelined writes (max ms)",
            plan.pipelined_ms.is_some(),
            pipe,
        );
        count("clients", true, plan.clients as u64);
        count("fault phase (ms)", true, plan.time_ms);
        count(
            "heal majority only",
            !plan.heal_all,
            plan.nodes as u64 / 2 + 1,
        );
        count("unsafe disk", plan.unsafe_disk, 1);
        let f = &plan.features;
        count("pre-vote", f.pre_vote, 1);
        count("check-quorum", f.check_quorum, 1);
        count("read-index (reads by clients)", f.read_index, 1);
        let drift = u64::from(f.drift_percent);
        count("lease reads (drift bound %)", f.lease_reads, drift);
        let transfers = plan.transfer_every_ms;
        count("leader transfers (mean gap ms)", transfers > 0, transfers);
        let changes = plan.member_every_ms;
        let changing = !plan.membership.is_empty();
        count("membership changes (mean gap ms)", changing, changes);
        for &kind in &plan.membership {
            self.changes.entry(kind).or_default().0 += 1;
        }
    }

    /// Counts the membership changes one run began and completed.
    pub fn add_changes(&mut self, counts: &ChangeCounts) {
        for (&kind, &(begun, completed)) in counts {
            let entry = self.changes.entry(kind).or_default();
            entry.1 += begun;
            entry.2 += completed;
        }
    }

    /// Membership changes of `kind`: (seeds that drew it, changes begun, changes completed).
    pub fn changes(&self, kind: ChangeKind) -> (u64, u64, u64) {
        self.changes.get(&kind).copied().unwrap_or_default()
    }

    /// Seeds counted.
    pub fn seeds(&self) -> u64 {
        self.seeds
    }

    /// Seeds that drew `kind` (a label of the table, e.g. "loss (per mille)").
    pub fn count(&self, kind: &str) -> u64 {
        self.kinds.get(kind).map_or(0, |k| k.0)
    }

    /// Adds another sweep's counts.
    pub fn merge(&mut self, other: &Coverage) {
        self.seeds += other.seeds;
        for (&n, &c) in &other.nodes {
            *self.nodes.entry(n).or_default() += c;
        }
        for (&kind, &(c, low, high)) in &other.kinds {
            let entry = self.kinds.entry(kind).or_insert((0, u64::MAX, 0));
            *entry = (entry.0 + c, entry.1.min(low), entry.2.max(high));
        }
        for (&kind, &(seeds, begun, completed)) in &other.changes {
            let entry = self.changes.entry(kind).or_default();
            *entry = (entry.0 + seeds, entry.1 + begun, entry.2 + completed);
        }
    }
}

fn topology_label(name: &str) -> &'static str {
    match name {
        "split" => "topology split (hold ms)",
        "isolate" => "topology isolate (hold ms)",
        "oneway" => "topology one-way (hold ms)",
        "bridge" => "topology bridge (hold ms)",
        _ => "topology partial (hold ms)",
    }
}

impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sizes: Vec<String> = self
            .nodes
            .iter()
            .map(|(n, c)| format!("{n}: {c}"))
            .collect();
        writeln!(f, "cluster sizes        {}", sizes.join(", "))?;
        for (kind, (count, low, high)) in &self.kinds {
            writeln!(f, "{kind:<28} {count:>7} seeds, {low}–{high}")?;
        }
        for (kind, (seeds, begun, completed)) in &self.changes {
            let label = format!("change {}", kind.name());
            writeln!(
                f,
                "{label:<28} {seeds:>7} seeds, {begun} begun, {completed} completed"
            )?;
        }
        Ok(())
    }
}
