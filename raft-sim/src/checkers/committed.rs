//! What is known to be committed: every entry some server's service applied (or covered by an
//! installed snapshot), the canonical sequence that State Machine Safety compares against.

use raft_core::{Entry, LogIndex, Membership, Term};
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
    /// The committed configuration entries, by index.
    configurations: BTreeMap<u64, Membership>,
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

    /// Records that the committed entry at `index` is a configuration entry.
    pub(crate) fn record_configuration(&mut self, index: LogIndex, membership: &Membership) {
        self.configurations
            .entry(index.0)
            .or_insert_with(|| membership.clone());
    }

    /// The configuration in force at `index` by the committed configuration entries: the
    /// latest at or before it (`None`: the bootstrap configuration).
    pub(crate) fn configuration_at(&self, index: LogIndex) -> Option<&Membership> {
        self.configurations
            .range(..=index.0)
            .next_back()
            .map(|(_, m)| m)
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

/// The digest of an entry: its command's, and for a configuration entry its configuration's
/// too (so two configuration entries with different members differ).
pub(crate) fn entry_digest(entry: &Entry) -> u64 {
    let command = digest(&entry.command);
    let Some(membership) = entry.membership() else {
        return command;
    };
    let mut bytes = Vec::new();
    let sides = [Some(&membership.voters), membership.outgoing.as_ref()];
    for (tag, list) in sides
        .into_iter()
        .chain([Some(&membership.learners)])
        .enumerate()
    {
        bytes.push(0xff - tag as u8);
        for id in list.into_iter().flatten() {
            bytes.extend_from_slice(&id.0.to_le_bytes());
        }
    }
    command ^ digest(&bytes).rotate_left(1)
}

/// FNV-1a: commands are compared by digest, so the checkers keep 8 bytes per entry.
pub(crate) fn digest(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
