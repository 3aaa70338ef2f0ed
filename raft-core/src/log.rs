//! The in-memory log: a snapshot of the prefix, then the entries after it.

use crate::membership::Membership;
use crate::persist::Snapshot;
use crate::types::{Entry, LogIndex, SharedBytes, Term};
use std::sync::Arc;

/// The log as the node sees it. `entries[0]` sits at `snapshot.index + 1`; everything at or
/// before `snapshot.index` is covered by the snapshot and freed (§7).
#[derive(Clone, Debug, Default)]
pub(crate) struct RaftLog {
    snapshot: Snapshot,
    entries: Vec<Entry>,
    /// The indexes of the configuration entries among `entries`, in order: the
    /// configuration at any index is found without scanning the log (§6).
    configs: Vec<LogIndex>,
}

impl RaftLog {
    pub(crate) fn new(snapshot: Snapshot, entries: Vec<Entry>) -> RaftLog {
        let mut log = RaftLog {
            snapshot,
            entries: Vec::new(),
            configs: Vec::new(),
        };
        log.append(&entries);
        log
    }

    /// The configuration in force at `index` (at or after the snapshot): the latest
    /// configuration entry at or before it, else the snapshot's; `None` if neither has one.
    pub(crate) fn membership_at(&self, index: LogIndex) -> Option<&Membership> {
        self.shared_membership_at(index).map(|m| &**m)
    }

    /// The same, shared: a snapshot records it without copying.
    fn shared_membership_at(&self, index: LogIndex) -> Option<&Arc<Membership>> {
        let held = self.configs.partition_point(|&i| i <= index);
        match held {
            0 => self.snapshot.membership.as_ref(),
            k => self
                .entry(self.configs[k - 1])
                .and_then(|e| e.membership.as_ref()),
        }
    }

    /// The configuration in force at the end of the log, and where it was set: the index of
    /// its entry, or the snapshot's index.
    pub(crate) fn latest_membership(&self) -> Option<(LogIndex, &Membership)> {
        match self.configs.last() {
            Some(&index) => self
                .entry(index)
                .and_then(Entry::membership)
                .map(|m| (index, m)),
            None => (self.snapshot.membership.as_deref()).map(|m| (self.snapshot.index, m)),
        }
    }

    /// The configuration the latest one replaced: the last one before it (in the log, else
    /// the snapshot's) that differs from it. A leader may append the same configuration
    /// twice (a new leader re-proposes an uncommitted one), so "the entry before" is not
    /// enough. `None` if the latest is the only one we hold.
    pub(crate) fn replaced_membership(&self) -> Option<&Membership> {
        let (_, latest) = self.latest_membership()?;
        let mut older = (self.configs.iter().rev())
            .filter_map(|&index| self.entry(index).and_then(Entry::membership));
        older
            .find(|m| *m != latest)
            .or_else(|| self.snapshot.membership.as_deref().filter(|m| *m != latest))
    }

    pub(crate) fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub(crate) fn snapshot_index(&self) -> LogIndex {
        self.snapshot.index
    }

    pub(crate) fn last_index(&self) -> LogIndex {
        self.snapshot.index.plus(self.entries.len() as u64)
    }

    pub(crate) fn last_term(&self) -> Term {
        self.entries.last().map_or(self.snapshot.term, |e| e.term)
    }

    /// Position of `index` in `entries`, if the entry is held in memory.
    fn offset(&self, index: LogIndex) -> Option<usize> {
        if index <= self.snapshot.index || index > self.last_index() {
            return None;
        }
        Some((index.0 - self.snapshot.index.0 - 1) as usize)
    }

    /// The term at `index`: known for the snapshot's last index and for held entries.
    pub(crate) fn term_at(&self, index: LogIndex) -> Option<Term> {
        if index == self.snapshot.index {
            return Some(self.snapshot.term);
        }
        self.offset(index).map(|i| self.entries[i].term)
    }

    pub(crate) fn entry(&self, index: LogIndex) -> Option<&Entry> {
        self.offset(index).map(|i| &self.entries[i])
    }

    /// Entries from `from` on, at most `max_count` of them and about `max_bytes` of commands
    /// (at least one entry if any exists, so one large command still travels).
    pub(crate) fn entries_from(
        &self,
        from: LogIndex,
        max_count: usize,
        max_bytes: usize,
    ) -> Vec<Entry> {
        let Some(start) = self.offset(from) else {
            return Vec::new();
        };
        let mut bytes = 0;
        let mut end = start;
        for entry in self.entries[start..].iter().take(max_count) {
            bytes += entry.command.len();
            if end > start && bytes > max_bytes {
                break;
            }
            end += 1;
        }
        self.entries[start..end].to_vec()
    }

    /// The first index at or before `index` that still holds `term`, not looking into the
    /// snapshot: the lab's XIndex.
    pub(crate) fn first_index_of_term_at(&self, index: LogIndex, term: Term) -> LogIndex {
        let Some(end) = self.offset(index) else {
            return index;
        };
        let start = self.entries[..end].iter().rposition(|e| e.term != term);
        let first_offset = start.map_or(0, |i| i + 1);
        self.snapshot.index.plus(first_offset as u64 + 1)
    }

    /// The last index holding `term`, counting the snapshot's last entry. Terms never decrease
    /// along the log, so a binary search finds it.
    pub(crate) fn last_index_of_term(&self, term: Term) -> Option<LogIndex> {
        let after = self.entries.partition_point(|e| e.term <= term);
        if after > 0 && self.entries[after - 1].term == term {
            return Some(self.snapshot.index.plus(after as u64));
        }
        let snapshot_has_it = after == 0 && self.snapshot.index.0 > 0 && self.snapshot.term == term;
        snapshot_has_it.then_some(self.snapshot.index)
    }

    /// Appends entries after the last one. Terms must not decrease (checked by the caller).
    /// Returns whether any of them is a configuration entry.
    pub(crate) fn append(&mut self, entries: &[Entry]) -> bool {
        let first = self.last_index().next();
        let configs = self.configs.len();
        for (offset, entry) in entries.iter().enumerate() {
            if entry.membership.is_some() {
                self.configs.push(first.plus(offset as u64));
            }
        }
        self.entries.extend_from_slice(entries);
        self.configs.len() > configs
    }

    /// Drops every entry after `index` (§5.3: a conflicting suffix).
    pub(crate) fn truncate_after(&mut self, index: LogIndex) {
        let keep = index.0.saturating_sub(self.snapshot.index.0) as usize;
        self.entries.truncate(keep);
        let kept = self.configs.partition_point(|&i| i <= index);
        self.configs.truncate(kept);
    }

    /// Replaces the log through `index` by a snapshot, keeping the entries after it. The
    /// discarded entries (and their commands, unless shared) are freed; the vector keeps room
    /// for as many entries as it held, which the log will need again before the next snapshot,
    /// and gives back only room beyond twice that (left by an earlier, longer log).
    /// The snapshot records the configuration in force at `index` (thesis §4.1).
    pub(crate) fn compact(&mut self, index: LogIndex, term: Term, data: SharedBytes) {
        let membership = self.shared_membership_at(index).cloned();
        self.discard_through(index);
        self.snapshot = Snapshot {
            index,
            term,
            data,
            membership,
        };
    }

    /// Frees the entries through `index`.
    fn discard_through(&mut self, index: LogIndex) {
        let held = self.entries.len();
        let covered = index.0.saturating_sub(self.snapshot.index.0) as usize;
        self.entries.drain(..covered.min(held));
        if self.entries.capacity() > 2 * held + 64 {
            self.entries.shrink_to(held);
        }
        let covered_configs = self.configs.partition_point(|&i| i <= index);
        self.configs.drain(..covered_configs);
    }

    /// Installs a leader's snapshot: keeps the tail after `index` only if our entry at `index`
    /// has the snapshot's term (§7), otherwise discards the whole log.
    pub(crate) fn install(&mut self, snapshot: Snapshot) {
        if self.term_at(snapshot.index) != Some(snapshot.term) {
            self.entries.clear();
            self.entries.shrink_to_fit();
            self.configs.clear();
        }
        self.discard_through(snapshot.index);
        self.snapshot = snapshot;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_with_terms(snapshot_index: u64, snapshot_term: u64, terms: &[u64]) -> RaftLog {
        let snapshot = Snapshot {
            index: LogIndex(snapshot_index),
            term: Term(snapshot_term),
            data: SharedBytes::from(&b""[..]),
            membership: None,
        };
        let entries = terms
            .iter()
            .map(|&t| Entry::new(Term(t), SharedBytes::from(&b"x"[..])))
            .collect();
        RaftLog::new(snapshot, entries)
    }

    #[test]
    fn term_lookup_covers_snapshot_point_and_entries_only() {
        let log = log_with_terms(5, 2, &[2, 3, 3]);
        assert_eq!(log.term_at(LogIndex(4)), None);
        assert_eq!(log.term_at(LogIndex(5)), Some(Term(2)));
        assert_eq!(log.term_at(LogIndex(7)), Some(Term(3)));
        assert_eq!(log.term_at(LogIndex(9)), None);
        assert_eq!(log.last_index(), LogIndex(8));
    }

    #[test]
    fn conflict_hint_finds_first_index_of_term() {
        let log = log_with_terms(0, 0, &[1, 1, 2, 2, 2, 4]);
        assert_eq!(
            log.first_index_of_term_at(LogIndex(5), Term(2)),
            LogIndex(3)
        );
        assert_eq!(
            log.first_index_of_term_at(LogIndex(2), Term(1)),
            LogIndex(1)
        );
        assert_eq!(log.last_index_of_term(Term(2)), Some(LogIndex(5)));
        assert_eq!(log.last_index_of_term(Term(3)), None);
        let compacted = log_with_terms(5, 2, &[3, 3]);
        assert_eq!(
            compacted.last_index_of_term(Term(2)),
            Some(LogIndex(5)),
            "the snapshot's term"
        );
        assert_eq!(compacted.last_index_of_term(Term(1)), None);
    }

    #[test]
    fn batches_respect_count_and_byte_caps_but_carry_one_entry() {
        let log = log_with_terms(0, 0, &[1, 1, 1, 1]);
        assert_eq!(log.entries_from(LogIndex(1), 2, 100).len(), 2);
        assert_eq!(log.entries_from(LogIndex(1), 10, 2).len(), 2);
        assert_eq!(log.entries_from(LogIndex(1), 10, 0).len(), 1);
        assert!(log.entries_from(LogIndex(5), 10, 100).is_empty());
    }

    #[test]
    fn compaction_keeps_tail_and_install_keeps_only_matching_tail() {
        let mut log = log_with_terms(0, 0, &[1, 1, 2, 2]);
        log.compact(LogIndex(2), Term(1), SharedBytes::from(&b"s"[..]));
        assert_eq!(log.entries().len(), 2);
        assert_eq!(log.term_at(LogIndex(3)), Some(Term(2)));
        let matching = Snapshot {
            index: LogIndex(3),
            term: Term(2),
            data: SharedBytes::from(&b""[..]),
            membership: None,
        };
        log.install(matching);
        assert_eq!(log.last_index(), LogIndex(4));
        let conflicting = Snapshot {
            index: LogIndex(4),
            term: Term(3),
            data: SharedBytes::from(&b""[..]),
            membership: None,
        };
        log.install(conflicting);
        assert_eq!(log.last_index(), LogIndex(4));
        assert!(log.entries().is_empty());
        assert_eq!(log.last_term(), Term(3));
    }
}
