//! Group commit: several events in one call, their durable changes in one write.
//!
//! A driver that has several events at hand (a burst of proposals, the messages that arrived
//! while its last write was under way) can feed them with `step_many`. Each event is handled
//! exactly as `step` would, and its durable change is folded into one `PersistChange` that
//! comes first, before every other action of the group. N events thus cost one fsync instead
//! of N, and N proposals one message per follower (entries leave at the end of a call).
//!
//! Why it is safe: the result is what `step` on each event in turn would give if every
//! message and apply of the group were held up until the last event's write was durable, and
//! the node did not crash in between. Holding messages up is only network delay, which Raft
//! tolerates (§5.1); a crash inside the group loses the whole group's change, as a crash before
//! its first write would, and nothing that depended on it had left the node.

use crate::io::{Action, Event};
use crate::node::RaftNode;
use crate::persist::{ChangeError, PersistChange, Snapshot};
use crate::types::LogIndex;

impl RaftNode {
    /// Feeds several events as one group and returns what the driver must do, in order: at
    /// most one durable change, first, covering every event, then the other actions of each
    /// event in turn. See [`step_many_into`](Self::step_many_into).
    pub fn step_many(&mut self, events: impl IntoIterator<Item = Event>) -> Vec<Action> {
        let mut actions = Vec::new();
        self.step_many_into(events, &mut actions);
        actions
    }

    /// Like [`step_many`](Self::step_many), appending to a reused buffer. The same as calling
    /// [`step_into`](Self::step_into) on each event, except that the durable changes come out
    /// merged into one `Persist` (or `PersistAsync`) placed before all the other actions (the
    /// group's messages, applies and answers wait for one write instead of one each), and that
    /// a leader sends the entries proposed in the group together, and its commit notices once,
    /// at the end.
    pub fn step_many_into(
        &mut self,
        events: impl IntoIterator<Item = Event>,
        actions: &mut Vec<Action>,
    ) {
        let mut group = PersistChange::default();
        for event in events {
            self.handle(event);
            let change = std::mem::take(&mut self.pending);
            if group.is_empty() {
                group = change;
            } else {
                group
                    .merge(change)
                    .expect("a node's successive changes always chain");
            }
        }
        self.pending = group;
        self.finish_step(actions);
    }
}

impl PersistChange {
    /// Folds `later` into this change, so that applying the result has the same effect as
    /// applying this change and then `later` (see [`PersistentState::apply`]). Changes a node
    /// hands out one after the other always merge; an `Err` means `later` could not have
    /// followed this change (its append does not continue the log), and leaves this change
    /// as it was.
    ///
    /// [`PersistentState::apply`]: crate::PersistentState::apply
    pub fn merge(&mut self, later: PersistChange) -> Result<(), ChangeError> {
        self.check_merge(&later)?;
        if later.hard_state.is_some() {
            self.hard_state = later.hard_state;
        }
        if let Some(snapshot) = later.snapshot {
            self.cover_by_snapshot(snapshot);
        }
        if let Some(after) = later.truncate_after {
            self.truncate_after_index(after);
        }
        if let Some(append) = later.append {
            match &mut self.append {
                Some(ours) => ours.entries.extend(append.entries),
                None => self.append = Some(append),
            }
        }
        Ok(())
    }

    /// Where this change's append would end after `later`'s snapshot and truncation, so that
    /// `later`'s append must begin right after it.
    fn check_merge(&self, later: &PersistChange) -> Result<(), ChangeError> {
        let (Some(ours), Some(theirs)) = (&self.append, &later.append) else {
            return Ok(());
        };
        let mut end = ours.first_index.plus(ours.entries.len() as u64).prev();
        if let Some(snapshot) = &later.snapshot {
            end = end.max(snapshot.index);
        }
        if let Some(after) = later.truncate_after {
            end = end.min(after);
        }
        if end < ours.first_index {
            return Ok(()); // our append is wholly cut: theirs continues the old log
        }
        if theirs.first_index != end.next() {
            return Err(ChangeError(format!(
                "append at {} cannot follow an append ending at {end}",
                theirs.first_index
            )));
        }
        Ok(())
    }

    /// A later snapshot discards everything through its index: our appended entries up to
    /// there are dropped, and a truncation below it becomes one at it (the durable entries
    /// after the snapshot are the ones we appended, not the old ones).
    fn cover_by_snapshot(&mut self, snapshot: Snapshot) {
        let index = snapshot.index;
        if let Some(append) = &mut self.append {
            if index >= append.first_index {
                let covered = (index.0 - append.first_index.0 + 1) as usize;
                append.entries.drain(..covered.min(append.entries.len()));
                append.first_index = index.next();
                if append.entries.is_empty() {
                    self.append = None;
                }
            }
        }
        if let Some(after) = &mut self.truncate_after {
            *after = (*after).max(index);
        }
        self.snapshot = Some(snapshot);
    }

    /// A later truncation cuts our append first; only what reaches below it truncates the
    /// old log.
    fn truncate_after_index(&mut self, index: LogIndex) {
        if let Some(append) = &mut self.append {
            let before_first = append.first_index.prev();
            if index > before_first {
                append.entries.truncate((index.0 - before_first.0) as usize);
                return;
            }
            self.append = None;
        }
        let after = self.truncate_after.map_or(index, |t| t.min(index));
        self.truncate_after = Some(after);
    }
}
