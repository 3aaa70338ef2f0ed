//! Log Matching (§5.3): if two logs contain an entry with the same index and term, the logs are
//! identical in all entries up through that index.
//!
//! Checked by induction over every entry any server ever made durable: the pair (index, term)
//! must always come with the same command and the same term just before it. Two logs that share
//! a pair then share the entry before it too, and so on down to the start (or to a snapshot,
//! which only ever covers committed entries).

use super::committed::entry_digest;
use super::{durable_term_at, Check, Invariant, Violation};
use raft_core::{PersistChange, PersistentState, Term};
use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub(crate) struct LogMatching {
    /// (index, term) → what the first server to hold it had there.
    seen: BTreeMap<(u64, u64), Seen>,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    digest: u64,
    prev_term: Option<Term>,
    server: usize,
}

impl LogMatching {
    pub(crate) fn persisted(
        &mut self,
        server: usize,
        change: &PersistChange,
        durable: &PersistentState,
    ) -> Check {
        let Some(append) = &change.append else {
            return Ok(());
        };
        let mut prev_term = durable_term_at(durable, append.first_index.prev());
        for (offset, entry) in append.entries.iter().enumerate() {
            let index = append.first_index.0 + offset as u64;
            let here = Seen {
                digest: entry_digest(entry),
                prev_term,
                server,
            };
            let first = *self.seen.entry((index, entry.term.0)).or_insert(here);
            let same_history = match (first.prev_term, here.prev_term) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            };
            if first.digest != here.digest || !same_history {
                return Err(Violation::new(
                    Invariant::LogMatching,
                    format!(
                        "servers {} and {server} both hold index {index} term {} but with \
                         {}",
                        first.server,
                        entry.term.0,
                        if first.digest != here.digest {
                            "different commands".to_string()
                        } else {
                            format!(
                                "different terms before it ({} and {})",
                                first.prev_term.map_or(0, |t| t.0),
                                here.prev_term.map_or(0, |t| t.0)
                            )
                        }
                    ),
                ));
            }
            prev_term = Some(entry.term);
        }
        Ok(())
    }
}
