//! The tester's view of what each server applied, with the lab's checks (`docs/lab-harness.md`,
//! "What each server applied").

use crate::service::Service;
use crate::value::Value;
use raft_core::{PersistentState, SharedBytes};
use serde::{Deserialize, Serialize};
use std::any::Any;

/// The lab's `SnapShotInterval`: the snapshot applier snapshots after indexes 9, 19, 29, …
pub const SNAPSHOT_INTERVAL: u64 = 10;

/// What one server has applied: `values[i]` is the command applied at index `i`.
#[derive(Clone, Debug, Default)]
struct AppliedLog {
    values: Vec<Option<Value>>,
    last_applied: u64,
}

impl AppliedLog {
    fn get(&self, index: u64) -> Option<&Value> {
        self.values.get(index as usize).and_then(Option::as_ref)
    }

    fn set(&mut self, index: u64, value: Value) {
        let i = index as usize;
        if self.values.len() <= i {
            self.values.resize(i + 1, None);
        }
        self.values[i] = Some(value);
    }
}

/// The tester's snapshot format: the last included index and every applied command up to it
/// (index 0 is a placeholder), as the lab's snapshot applier encodes it.
#[derive(Serialize, Deserialize)]
struct TesterSnapshot {
    last_included_index: u64,
    values: Vec<Option<Value>>,
}

/// The appliers of all servers (plain for 3A–3C, snapshotting for 3D).
#[derive(Debug)]
pub struct Appliers {
    logs: Vec<AppliedLog>,
    snapshotting: bool,
    max_index: u64,
    /// Per server: snapshot after every this many entries (the lab's 10).
    intervals: Vec<u64>,
    /// Zero bytes appended to every snapshot, to make snapshots as large as a test wants.
    padding: usize,
    /// 2025 forgets a restarted server's whole applied log (see [`Appliers::restart`]).
    forget_on_restart: bool,
}

impl Appliers {
    /// Empty logs for `n` servers.
    pub fn new(n: usize, snapshotting: bool) -> Appliers {
        Appliers {
            logs: vec![AppliedLog::default(); n],
            snapshotting,
            max_index: 0,
            intervals: vec![SNAPSHOT_INTERVAL; n],
            padding: 0,
            forget_on_restart: false,
        }
    }

    /// Server `i` snapshots every `interval` entries (instead of the lab's 10); every
    /// snapshot is `padding` bytes larger than its content. Servers with different intervals
    /// hold snapshots at different indexes, as real services that snapshot by size do.
    pub fn set_snapshot_policy(&mut self, i: usize, interval: u64, padding: usize) {
        self.intervals[i] = interval.max(1);
        self.padding = padding;
    }

    /// The same, with whether a restart forgets the server's applied log (the 2025 tester
    /// does, the 2024 one does not).
    pub fn forgetting_on_restart(mut self, forget: bool) -> Appliers {
        self.forget_on_restart = forget;
        self
    }

    /// The highest index any server applied (the lab's `maxIndex`).
    pub fn max_index(&self) -> u64 {
        self.max_index
    }

    /// Whether server `i` has applied `index`, and what.
    pub fn applied(&self, i: usize, index: u64) -> Option<&Value> {
        self.logs[i].get(index)
    }

    /// A new incarnation starts: the lab resets `lastApplied`, and in 2025 the whole map
    /// (`forget`); then a persisted snapshot, if any, seeds the map.
    pub fn restart(&mut self, i: usize, forget: bool, snapshot: &[u8]) -> Result<(), String> {
        self.logs[i].last_applied = 0;
        if forget {
            self.logs[i].values.clear();
        }
        if !snapshot.is_empty() {
            let decoded = decode_snapshot(snapshot)?;
            self.logs[i].values = decoded.values;
            self.logs[i].last_applied = decoded.last_included_index;
        }
        Ok(())
    }

    /// Server `i` applied `command` at `index`. Returns snapshot bytes when the snapshot
    /// applier wants Raft to compact through `index`.
    pub fn apply(
        &mut self,
        i: usize,
        index: u64,
        command: &[u8],
    ) -> Result<Option<SharedBytes>, String> {
        let value = Value::decode(command)
            .ok_or_else(|| format!("server {i} applied a command that is not a tester value"))?;
        if self.snapshotting && index != self.logs[i].last_applied + 1 {
            return Err(format!(
                "server {i} apply out of order, expected index {}, got {index}",
                self.logs[i].last_applied + 1
            ));
        }
        let prev_ok = self.check_logs(i, index, value)?;
        if index > 1 && !prev_ok {
            return Err(format!("server {i} apply out of order {index}"));
        }
        if !self.snapshotting {
            return Ok(None);
        }
        self.logs[i].last_applied = index;
        if !(index + 1).is_multiple_of(self.intervals[i]) {
            return Ok(None);
        }
        let log = &self.logs[i];
        let snapshot = TesterSnapshot {
            last_included_index: index,
            values: (0..=index).map(|j| log.get(j).cloned()).collect(),
        };
        let mut bytes = postcard::to_stdvec(&snapshot).expect("encoding cannot fail");
        bytes.resize(bytes.len() + self.padding, 0); // decoding ignores what follows
        Ok(Some(bytes.into()))
    }

    /// Server `i` installed a snapshot from the leader: the tester's map is replaced.
    pub fn apply_snapshot(&mut self, i: usize, index: u64, data: &[u8]) -> Result<(), String> {
        let decoded = decode_snapshot(data)?;
        if decoded.last_included_index != index {
            return Err(format!(
                "server {i} snapshot index {index} does not match its content's {}",
                decoded.last_included_index
            ));
        }
        self.logs[i].values = decoded.values;
        self.logs[i].last_applied = index;
        Ok(())
    }

    /// The lab's `checkLogs`: every server that applied `index` applied the same command.
    /// Returns whether `i` had applied `index - 1`.
    fn check_logs(&mut self, i: usize, index: u64, value: Value) -> Result<bool, String> {
        for (j, log) in self.logs.iter().enumerate() {
            if let Some(old) = log.get(index) {
                if *old != value {
                    return Err(format!(
                        "commit index={index} server={i} {value} != server={j} {old}"
                    ));
                }
            }
        }
        let prev_ok = index > 0 && self.logs[i].get(index - 1).is_some();
        self.logs[i].set(index, value);
        self.max_index = self.max_index.max(index);
        Ok(prev_ok)
    }

    /// The lab's `nCommitted`: how many servers applied `index`, and the command.
    pub fn n_committed(&self, index: u64) -> Result<(usize, Option<Value>), String> {
        let mut count = 0;
        let mut command: Option<&Value> = None;
        for (i, log) in self.logs.iter().enumerate() {
            if let Some(value) = log.get(index) {
                if let Some(previous) = command {
                    if previous != value {
                        return Err(format!(
                            "committed values do not match: index {index}, {previous}, {value} (server {i})"
                        ));
                    }
                }
                count += 1;
                command = Some(value);
            }
        }
        Ok((count, command.cloned()))
    }
}

/// The tester's appliers are the Lab 3 service: they check what Raft applies and snapshot every
/// ten entries when snapshotting.
impl Service for Appliers {
    fn start(&mut self, server: usize, snapshot: &[u8]) -> Result<(), String> {
        self.restart(server, self.forget_on_restart, snapshot)
    }

    fn crash(&mut self, _server: usize) {}

    fn wiped(&mut self, server: usize) {
        self.logs[server] = AppliedLog::default();
    }

    fn apply(
        &mut self,
        server: usize,
        index: u64,
        command: &[u8],
        _durable: &PersistentState,
    ) -> Result<Option<SharedBytes>, String> {
        Appliers::apply(self, server, index, command)
    }

    fn apply_snapshot(&mut self, server: usize, index: u64, data: &[u8]) -> Result<(), String> {
        Appliers::apply_snapshot(self, server, index, data)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

fn decode_snapshot(data: &[u8]) -> Result<TesterSnapshot, String> {
    postcard::from_bytes(data).map_err(|e| format!("snapshot decode error: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(x: i64) -> SharedBytes {
        Value::Int(x).encode()
    }

    #[test]
    fn disagreement_between_servers_is_an_error() {
        let mut a = Appliers::new(2, false);
        a.apply(0, 1, &cmd(10)).unwrap();
        let err = a.apply(1, 1, &cmd(11)).unwrap_err();
        assert!(err.contains("commit index=1"), "{err}");
    }

    #[test]
    fn gaps_are_an_error_duplicates_are_not() {
        let mut a = Appliers::new(1, false);
        a.apply(0, 1, &cmd(1)).unwrap();
        a.apply(0, 1, &cmd(1)).unwrap();
        assert!(a.apply(0, 3, &cmd(3)).unwrap_err().contains("out of order"));
    }

    #[test]
    fn snapshot_applier_is_strict_and_snapshots_every_ten() {
        let mut a = Appliers::new(1, true);
        for i in 1..9 {
            assert!(a.apply(0, i, &cmd(i as i64)).unwrap().is_none());
        }
        let snapshot = a.apply(0, 9, &cmd(9)).unwrap().expect("snapshot at 9");
        assert!(a
            .apply(0, 11, &cmd(11))
            .unwrap_err()
            .contains("expected index 10"));
        let mut b = Appliers::new(1, true);
        b.apply_snapshot(0, 9, &snapshot).unwrap();
        assert_eq!(b.applied(0, 9), Some(&Value::Int(9)));
        assert!(b.apply_snapshot(0, 8, &snapshot).is_err());
        b.apply(0, 10, &cmd(10)).unwrap();
    }

    #[test]
    fn n_committed_counts_and_compares() {
        let mut a = Appliers::new(3, false);
        a.apply(0, 1, &cmd(5)).unwrap();
        a.apply(2, 1, &cmd(5)).unwrap();
        assert_eq!(a.n_committed(1).unwrap(), (2, Some(Value::Int(5))));
        assert_eq!(a.n_committed(2).unwrap(), (0, None));
    }
}
