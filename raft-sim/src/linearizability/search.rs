//! The search for a linearization of one partition (Wing & Gong, with Lowe's memoisation).
//!
//! Calls and returns are entries of a doubly linked list in time order. Linearizing an
//! operation lifts its two entries out of the list; backtracking puts them back exactly where
//! they were (the list's links still point at their old neighbours). The search always tries
//! the earliest entry first: a call is a candidate to linearize next, and reaching a return
//! means that operation should already have been linearized, so the last choice is undone.
//!
//! One pruning beyond Wing & Gong and Lowe, for operations the model calls read-only (every
//! state in which they are legal, they leave unchanged: a read, a refused conditional write):
//! such an operation, once legal, never needs to be moved later. Any linearization that places
//! it later can place it where it was tried instead: it is past its call, every operation that
//! returned before its call is already linearized, and since it changes no state, no other
//! operation sees the difference. So when the search undoes a read-only operation, the
//! configuration before it is dead as well, and it undoes the one before too. Without this, a
//! wrong guess followed by many reads (twenty clients on one key) makes the search try every
//! subset of them. (An operation that merely happened to leave the state unchanged where it
//! was tried, such as a Put of the current value, does not qualify: elsewhere it would not.)

use super::bitset::{Bitset, Key};
use super::{Budget, LinearizedStep, Model, Operation, PartitionResult, Verdict};
use indexmap::IndexSet;
use std::hash::{BuildHasherDefault, Hasher};

/// A fast, fixed (so deterministic) hash for the cache, after rustc's FxHash: the cache is
/// only looked up, never iterated, and hashing is most of a search step.
#[derive(Default)]
struct FastHasher(u64);

impl FastHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.mix(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        for &b in chunks.remainder() {
            self.mix(u64::from(b));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.mix(word);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type Cache<S> = IndexSet<(Key, S), BuildHasherDefault<FastHasher>>;

/// "No entry": the end of the list.
const NIL: usize = usize::MAX;
/// Slot 0 is the list's head, before every entry.
const HEAD: usize = 0;

#[derive(Clone, Copy)]
struct Entry {
    /// Which operation (0..n, its position in the partition).
    op: usize,
    /// For a call: the slot of its return, if it returned. `None` for a return.
    call_of: Option<Option<usize>>,
}

/// The time-ordered list of call and return entries.
struct List {
    entries: Vec<Entry>,
    next: Vec<usize>,
    prev: Vec<usize>,
}

impl List {
    /// Entries sorted by time; at equal times calls come first (intervals are closed, so an
    /// operation returning at `t` overlaps one called at `t`), then by operation number.
    fn new<I, O>(ops: &[&Operation<I, O>]) -> List {
        let mut events: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * ops.len());
        for (k, op) in ops.iter().enumerate() {
            events.push((op.call, false, k));
            if let Some(r) = &op.returned {
                events.push((r.time.max(op.call), true, k));
            }
        }
        events.sort_unstable();
        let slots = events.len() + 1;
        let mut entries = vec![
            Entry {
                op: 0,
                call_of: None,
            };
            slots
        ];
        let mut return_slot = vec![None; ops.len()];
        for (i, &(_, is_return, k)) in events.iter().enumerate() {
            if is_return {
                return_slot[k] = Some(i + 1);
            }
        }
        for (i, &(_, is_return, k)) in events.iter().enumerate() {
            entries[i + 1] = Entry {
                op: k,
                call_of: (!is_return).then_some(return_slot[k]),
            };
        }
        let next = (0..slots)
            .map(|i| if i + 1 < slots { i + 1 } else { NIL })
            .collect();
        let prev = (0..slots)
            .map(|i| if i == 0 { NIL } else { i - 1 })
            .collect();
        List {
            entries,
            next,
            prev,
        }
    }

    fn unlink(&mut self, x: usize) {
        let (p, n) = (self.prev[x], self.next[x]);
        self.next[p] = n;
        if n != NIL {
            self.prev[n] = p;
        }
    }

    fn relink(&mut self, x: usize) {
        let (p, n) = (self.prev[x], self.next[x]);
        self.next[p] = x;
        if n != NIL {
            self.prev[n] = x;
        }
    }

    /// Takes an operation's call (and return) out of the list.
    fn lift(&mut self, call: usize) {
        self.unlink(call);
        if let Some(Some(ret)) = self.entries[call].call_of {
            self.unlink(ret);
        }
    }

    /// Puts them back, in the reverse order of `lift`.
    fn unlift(&mut self, call: usize) {
        if let Some(Some(ret)) = self.entries[call].call_of {
            self.relink(ret);
        }
        self.relink(call);
    }
}

/// Searches the partition `indexes` of `history`. With `verbose`, records the longest
/// linearizable prefix seen (costly; only for partitions already known to fail). A search
/// that runs out of budget reports the prefix it stood on.
pub(super) fn search<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    indexes: &[usize],
    budget: Budget,
    verbose: bool,
) -> PartitionResult {
    let ops: Vec<&Operation<M::Input, M::Output>> = indexes.iter().map(|&i| &history[i]).collect();
    let mut list = List::new(&ops);
    let mut linearized = Bitset::new(ops.len());
    let mut cache: Cache<M::State> = Cache::default();
    // (call slot, state before, whether the operation is read-only)
    let mut stack: Vec<(usize, M::State, bool)> = Vec::new();
    let read_only: Vec<bool> = ops
        .iter()
        .map(|op| model.is_read_only(&op.input, op.output()))
        .collect();
    let mut state = model.init();
    // Returned operations not yet linearized: when none is left, the rest (operations that
    // never returned) may simply not have happened.
    let mut unreturned = ops.iter().filter(|op| op.returned.is_some()).count();
    let mut longest: Vec<(usize, M::State)> = Vec::new();
    let mut stuck = None;
    let mut cursor = list.next[HEAD];
    let mut steps = 0u64;
    let verdict = loop {
        if unreturned == 0 {
            break Verdict::Linearizable;
        }
        if steps == budget.steps_per_partition {
            break Verdict::BudgetExhausted;
        }
        steps += 1;
        // While a returned operation is unlinearized its return is in the list, and the
        // cursor never passes a return, so it cannot run off the end.
        let entry = list.entries[cursor];
        let op = ops[entry.op];
        if entry.call_of.is_some() {
            if let Some(after) = model.step(&state, &op.input, op.output()) {
                linearized.insert(entry.op);
                if cache.insert((linearized.key(), after.clone())) {
                    let before = std::mem::replace(&mut state, after);
                    stack.push((cursor, before, read_only[entry.op]));
                    list.lift(cursor);
                    unreturned -= usize::from(op.returned.is_some());
                    cursor = list.next[HEAD];
                    continue;
                }
                linearized.remove(entry.op);
            }
            cursor = list.next[cursor];
            continue;
        }
        // A return: its operation must come before everything after it, but no order of the
        // remaining candidates allowed it. Undo the last choice.
        if verbose && stack.len() >= longest.len() {
            longest = prefix(&stack, &list, &state);
            stuck = Some(indexes[entry.op]);
        }
        let mut resume = None;
        while let Some((call, before, read_only)) = stack.pop() {
            state = before;
            let undone = list.entries[call].op;
            linearized.remove(undone);
            list.unlift(call);
            unreturned += usize::from(ops[undone].returned.is_some());
            if !read_only {
                resume = Some(call);
                break;
            }
        }
        let Some(call) = resume else {
            break Verdict::NotLinearizable;
        };
        cursor = list.next[call];
    };
    // Out of budget: where the search stood is the best prefix there is to show, for free.
    if verdict == Verdict::BudgetExhausted && stack.len() >= longest.len() {
        longest = prefix(&stack, &list, &state);
    }
    PartitionResult {
        ops: indexes.to_vec(),
        verdict,
        steps,
        states: cache.len() as u64,
        longest_prefix: longest
            .into_iter()
            .map(|(op, s)| LinearizedStep {
                op: indexes[op],
                state: model.describe_state(&s),
            })
            .collect(),
        stuck_op: if verdict == Verdict::NotLinearizable {
            stuck
        } else {
            None
        },
    }
}

/// The current stack as (operation, state after it) pairs.
fn prefix<S: Clone>(stack: &[(usize, S, bool)], list: &List, current: &S) -> Vec<(usize, S)> {
    (0..stack.len())
        .map(|j| {
            let after = stack.get(j + 1).map_or(current, |(_, s, _)| s);
            (list.entries[stack[j].0].op, after.clone())
        })
        .collect()
}
