//! A linearizability checker for histories of concurrent operations.
//!
//! A history is linearizable if every operation can be given one instant between its call and
//! its return such that the operations, run one at a time in that order, are legal for a
//! sequential specification, the [`Model`] (Herlihy & Wing, 1990). The search is Wing & Gong's
//! (1993) with Lowe's memoisation of visited configurations (2017): linearize the earliest
//! pending operation that the model accepts, backtrack when some operation's return is reached
//! before it could be linearized, and never explore the same set of linearized operations with
//! the same model state twice. A model that splits its history into independent parts
//! ([`Model::partition`], e.g. the keys of a map) is checked one part at a time, which is
//! sound and complete when the specification composes that way (Horn & Kroening's
//! P-compositionality, 2015).
//!
//! Unlike checkers that give up after some wall-clock time and call the history fine, the work
//! here is bounded by a deterministic [`Budget`] of search steps, and running out of it is a
//! verdict of its own, [`Verdict::BudgetExhausted`], which callers should treat as a failure.
//!
//! Operations that never returned ([`Operation::pending`]) may have taken effect at any point
//! after their call, or never.
//!
//! ```
//! use raft_sim::linearizability::{check, Budget, KvInput, KvModel, KvOutput, Operation, Verdict};
//!
//! // Client 1 appends "x" to key "k" during [0, 10]; client 2 reads "x" during [5, 20]:
//! // fine, the append can take effect before the read.
//! let history = vec![
//!     Operation::completed(1, KvInput::append("k", "x"), 0, KvOutput::default(), 10),
//!     Operation::completed(2, KvInput::get("k"), 5, KvOutput::value("x"), 20),
//! ];
//! assert_eq!(check(&KvModel, &history, Budget::default()).verdict, Verdict::Linearizable);
//!
//! // Reading "x" strictly before the append was called is not.
//! let history = vec![
//!     Operation::completed(2, KvInput::get("k"), 0, KvOutput::value("x"), 4),
//!     Operation::completed(1, KvInput::append("k", "x"), 5, KvOutput::default(), 10),
//! ];
//! assert_eq!(check(&KvModel, &history, Budget::default()).verdict, Verdict::NotLinearizable);
//! ```

mod bitset;
mod html;
mod kv_models;
mod search;
#[cfg(test)]
mod tests;

pub use html::{visualize, write_visualization};
pub use kv_models::{
    KvInput, KvModel, KvOp, KvOutput, VersionedKvInput, VersionedKvModel, VersionedKvOutput,
};

use std::fmt;
use std::hash::Hash;

/// One operation of a history: who called what, when, and what it returned (if it did).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation<I, O> {
    /// The client that called it (only shown, never used by the check).
    pub client: i64,
    /// What was asked.
    pub input: I,
    /// When it was called.
    pub call: u64,
    /// When it returned and what, or `None` if it never did.
    pub returned: Option<Return<O>>,
}

/// The return of an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Return<O> {
    /// When it returned: any clock that never goes backwards; equal times count as concurrent.
    pub time: u64,
    /// What it returned.
    pub output: O,
}

impl<I, O> Operation<I, O> {
    /// An operation that returned `output` at `ret`.
    pub fn completed(client: i64, input: I, call: u64, output: O, ret: u64) -> Self {
        Operation {
            client,
            input,
            call,
            returned: Some(Return { time: ret, output }),
        }
    }

    /// An operation that was called at `call` and never returned: it may have taken effect
    /// at any point after its call, or never.
    pub fn pending(client: i64, input: I, call: u64) -> Self {
        Operation {
            client,
            input,
            call,
            returned: None,
        }
    }

    /// What it returned, if it did.
    pub fn output(&self) -> Option<&O> {
        self.returned.as_ref().map(|r| &r.output)
    }
}

/// A sequential specification.
pub trait Model {
    /// What an operation asks.
    type Input;
    /// What an operation returns.
    type Output;
    /// The specification's state; compared and hashed to recognise configurations already
    /// explored.
    type State: Clone + Eq + Hash;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// Whether `input` returning `output` is legal in `state`, and if so the state after it.
    /// `output` is `None` for an operation that never returned: the model says what it may
    /// have done if it took effect. Must be a pure function.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State>;

    /// Whether the operation is read-only: in every state where it is legal, it leaves the
    /// state unchanged (a read, or a conditional write that was refused). The search never
    /// reconsiders where it placed such an operation, which keeps many concurrent reads from
    /// multiplying the work. The default, `false`, is always safe; answering `true` for an
    /// operation that can change some state would make the check unsound.
    fn is_read_only(&self, input: &Self::Input, output: Option<&Self::Output>) -> bool {
        let _ = (input, output);
        false
    }

    /// Splits a history into independent parts (indexes into `history`), each checked on
    /// its own from [`init`](Model::init). The default keeps it whole.
    fn partition(&self, history: &[Operation<Self::Input, Self::Output>]) -> Vec<Vec<usize>> {
        vec![(0..history.len()).collect()]
    }

    /// A short description of an operation, for the visualisation.
    fn describe_operation(&self, input: &Self::Input, output: Option<&Self::Output>) -> String;

    /// What the partition `first` belongs to is about (e.g. "key 'k'"), for the
    /// visualisation.
    fn describe_partition(&self, first: &Self::Input) -> String {
        let _ = first;
        "partition".to_string()
    }

    /// A short description of a state, for the visualisation.
    fn describe_state(&self, state: &Self::State) -> String;
}

/// How much search a check may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// The most search steps one partition may take (a step tries one operation or takes one
    /// back).
    pub steps_per_partition: u64,
}

impl Budget {
    /// The default budget: far more than any history of the lab's tests needs (over seeds
    /// 1 to 200, the most any partition took was 114 259 steps), and small enough that
    /// running out of it takes seconds, not minutes (a step is well under a microsecond).
    pub const DEFAULT_STEPS: u64 = 10_000_000;
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            steps_per_partition: Budget::DEFAULT_STEPS,
        }
    }
}

/// The outcome of a check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Every partition has a legal linearization.
    #[default]
    Linearizable,
    /// Some partition has none.
    NotLinearizable,
    /// No partition was found illegal, but some ran out of budget: nothing is known. Treat it
    /// as a failure.
    BudgetExhausted,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Linearizable => "linearizable",
            Verdict::NotLinearizable => "not linearizable",
            Verdict::BudgetExhausted => "unknown (search budget exhausted)",
        })
    }
}

/// One step of a partial linearization: the operation (an index into the history) and the
/// model's state after it, described.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinearizedStep {
    /// Index of the operation in the history.
    pub op: usize,
    /// [`Model::describe_state`] of the state after it.
    pub state: String,
}

/// The result of one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionResult {
    /// The operations of the partition (indexes into the history), in history order.
    pub ops: Vec<usize>,
    /// The partition's verdict.
    pub verdict: Verdict,
    /// Search steps taken.
    pub steps: u64,
    /// Distinct configurations (linearized set, state) explored.
    pub states: u64,
    /// For a partition that is not linearizable (or ran out of budget): the longest
    /// linearizable prefix the search found. Empty otherwise.
    pub longest_prefix: Vec<LinearizedStep>,
    /// For a partition that is not linearizable: the operation whose return came before
    /// the search could linearize it, at the end of the longest prefix.
    pub stuck_op: Option<usize>,
}

/// Figures of one check, cheap to keep.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckStats {
    /// Operations in the history.
    pub ops: usize,
    /// Number of partitions.
    pub partitions: usize,
    /// Operations in the largest partition.
    pub largest_partition: usize,
    /// Search steps, all partitions together.
    pub steps: u64,
    /// Most search steps in one partition.
    pub max_partition_steps: u64,
    /// Distinct configurations explored, all partitions together.
    pub states: u64,
    /// The verdict.
    pub verdict: Verdict,
}

/// The result of [`check`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckResult {
    /// The overall verdict: not linearizable if any partition is not, else unknown if any ran
    /// out of budget, else linearizable.
    pub verdict: Verdict,
    /// Every partition, in the model's order.
    pub partitions: Vec<PartitionResult>,
    /// Totals.
    pub stats: CheckStats,
}

/// Checks `history` against `model`, every partition within `budget`.
pub fn check<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    budget: Budget,
) -> CheckResult {
    let mut partitions = Vec::new();
    for ops in model.partition(history) {
        let mut result = search::search(model, history, &ops, budget, false);
        if result.verdict == Verdict::NotLinearizable {
            // Run the same (deterministic) search again, recording the longest prefix for the
            // visualisation; only illegal partitions pay for it.
            result = search::search(model, history, &ops, budget, true);
        }
        partitions.push(result);
    }
    let verdict = if partitions
        .iter()
        .any(|p| p.verdict == Verdict::NotLinearizable)
    {
        Verdict::NotLinearizable
    } else if partitions
        .iter()
        .any(|p| p.verdict == Verdict::BudgetExhausted)
    {
        Verdict::BudgetExhausted
    } else {
        Verdict::Linearizable
    };
    let stats = CheckStats {
        ops: history.len(),
        partitions: partitions.len(),
        largest_partition: partitions.iter().map(|p| p.ops.len()).max().unwrap_or(0),
        steps: partitions.iter().map(|p| p.steps).sum(),
        max_partition_steps: partitions.iter().map(|p| p.steps).max().unwrap_or(0),
        states: partitions.iter().map(|p| p.states).sum(),
        verdict,
    };
    CheckResult {
        verdict,
        partitions,
        stats,
    }
}
