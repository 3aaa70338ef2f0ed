//! The replicated state machine: a map from keys to string values, with duplicate detection.
//!
//! Every server applies the same committed commands in the same order, so every server's map
//! goes through the same states. A client resends a command whose reply it did not get, with
//! the same `(client, seq)`, and the same command may then sit in the log twice; the service
//! remembers the highest `seq` it executed per client and skips a write it has already seen.
//! (A client has one operation outstanding at a time, so any lower `seq` is done or given up.)
//! Gets do not go through the log (the driver serves them with ReadIndex, through [`Kv::get`]);
//! a `Get` found in the log, which only another client program could have put there, is
//! executed as a read, again at each position: that is just as linearizable.

use crate::protocol::{self, Command, Op};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The whole state; its postcard encoding is the service's snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kv {
    values: BTreeMap<String, String>,
    /// Per client, the highest `seq` executed.
    last_seq: BTreeMap<u64, u64>,
}

impl Kv {
    /// Executes one committed command and returns it and its result (a `Get`'s value, "" for a
    /// write). A command that does not decode is skipped by every server alike (`None`); only a
    /// faulty server could have proposed it.
    pub fn apply(&mut self, command: &[u8]) -> Option<(Command, String)> {
        let command: Command = protocol::decode(command).ok()?;
        let last = self.last_seq.entry(command.client).or_insert(0);
        let duplicate = command.seq <= *last;
        *last = (*last).max(command.seq);
        let result = match &command.op {
            Op::Get { key } => self.values.get(key).cloned().unwrap_or_default(),
            _ if duplicate => String::new(),
            Op::Put { key, value } => {
                self.values.insert(key.clone(), value.clone());
                String::new()
            }
            Op::Append { key, value } => {
                self.values.entry(key.clone()).or_default().push_str(value);
                String::new()
            }
        };
        Some((command, result))
    }

    /// A key's value ("" if it has none): a Get served outside the log (ReadIndex).
    pub fn get(&self, key: &str) -> String {
        self.values.get(key).cloned().unwrap_or_default()
    }

    /// The snapshot: everything, duplicate table included (a restarted server must skip the
    /// same duplicates as the others).
    pub fn snapshot(&self) -> Vec<u8> {
        protocol::encode(self)
    }

    /// The state a snapshot holds.
    pub fn restore(data: &[u8]) -> Result<Kv, String> {
        protocol::decode(data).map_err(|e| format!("cannot restore the service's snapshot: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(client: u64, seq: u64, op: Op) -> Vec<u8> {
        protocol::encode(&Command { client, seq, op })
    }

    fn append(key: &str, value: &str) -> Op {
        Op::Append {
            key: key.into(),
            value: value.into(),
        }
    }

    fn get(kv: &mut Kv, key: &str) -> String {
        let read = command(99, u64::MAX, Op::Get { key: key.into() });
        kv.apply(&read).unwrap().1
    }

    #[test]
    fn a_resent_write_is_executed_once_and_reads_run_again() {
        let mut kv = Kv::default();
        kv.apply(&command(1, 1, append("k", "a"))).unwrap();
        kv.apply(&command(1, 1, append("k", "a"))).unwrap();
        kv.apply(&command(2, 1, append("k", "b"))).unwrap();
        kv.apply(&command(1, 2, append("k", "c"))).unwrap();
        kv.apply(&command(1, 1, append("k", "a"))).unwrap(); // an older resend, late
        assert_eq!(get(&mut kv, "k"), "abc");
        assert_eq!(get(&mut kv, "k"), "abc");
        let put = Op::Put {
            key: "k".into(),
            value: "x".into(),
        };
        kv.apply(&command(2, 2, put)).unwrap();
        assert_eq!(get(&mut kv, "k"), "x");
        assert_eq!(kv.apply(b"\xff\xff\xff"), None);
    }

    #[test]
    fn a_restored_service_skips_the_same_duplicates() {
        let mut kv = Kv::default();
        kv.apply(&command(1, 1, append("k", "a"))).unwrap();
        let mut restored = Kv::restore(&kv.snapshot()).unwrap();
        assert_eq!(restored, kv);
        restored.apply(&command(1, 1, append("k", "a"))).unwrap();
        assert_eq!(get(&mut restored, "k"), "a");
        assert!(Kv::restore(b"\xff").is_err());
    }
}
