//! What is known to be committed: every entry some server's service applied (or covered by an
//! installed snapshot), the canonical sequence that State Machine Safety compares against.

use raft_core::{LogIndex, Term};
use std::collections::BTreeMap;

/// One committed position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Known {
    /// The entry's term.
    pub(crate) term: Term,
    /// The command's digest, unless only a snapshot's last index was seen.
    pub(crate) digest: Option<u64>,
    /// The term of the server that first applied it: at least the term in which the entry
    /// was committed, so "every leader of a later term holds it" is checked only where it
    /// certainly applies.
    pub(crate) commit_term: Term,
}

#[derive(Debug, Default)]
pub(crate) struct Committed {
    known: BTreeMap<u64, Known>,
    /// Indexes in the order they were first recorded, so a leader can look at what was
    /// committed since it last checked.
    order: Vec<u64>,
}

impl Committed {
    /// Records that `index` holds an entry of `term` (and command `digest`) and is committed,
    /// as seen by a server in `observer_term`. An `Err` describes a disagreement with what was
    /// recorded before: two different committed entries at one index.
    pub(crate) fn record(
        &mut self,
        index: LogIndex,
        term: Term,
        digest: Option<u64>,
        observer_term: Term,
    ) -> Result<(), String> {
        match self.known.get_mut(&index.0) {
            None => {
                let known = Known {
                    term,
                    digest,
                    commit_term: observer_term,
                };
                self.known.insert(index.0, known);
                self.order.push(index.0);
                Ok(())
            }
            Some(known) => {
                let same_command = match (known.digest, digest) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                };
                if known.term != term || !same_command {
                    return Err(format!(
                        "index {} was committed as {} and is now applied as {}",
                        index.0,
                        describe(known.term, known.digest),
                        describe(term, digest)
                    ));
                }
                known.digest = known.digest.or(digest);
                Ok(())
            }
        }
    }

    /// The highest committed index and its term.
    pub(crate) fn highest(&self) -> Option<(LogIndex, Term)> {
        self.known
            .last_key_value()
            .map(|(&i, k)| (LogIndex(i), k.term))
    }

    /// Committed entries at `from` and above, lowest first.
    pub(crate) fn from(&self, from: u64) -> impl Iterator<Item = (u64, &Known)> {
        self.known.range(from..).map(|(&i, k)| (i, k))
    }

    /// How many positions were ever recorded.
    pub(crate) fn recorded(&self) -> usize {
        self.order.len()
    }

    /// The positions recorded from the `cursor`-th on, in recording order.
    pub(crate) fn recorded_since(&self, cursor: usize) -> impl Iterator<Item = (u64, &Known)> {
        self.order[cursor..].iter().map(|&i| (i, &self.known[&i]))
    }
}

/// "term 3, command 1f2e…" for messages.
pub(crate) fn describe(term: Term, digest: Option<u64>) -> String {
    match digest {
        Some(d) => format!("term {} command #{d:016x}", term.0),
        None => format!("term {} (snapshot)", term.0),
    }
}

/// FNV-1a: commands are compared by digest, so the checkers keep 8 bytes per entry.
pub(crate) fn digest(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
