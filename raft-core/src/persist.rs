//! Durable state: what must survive a crash (Figure 2 "persistent state" plus the snapshot),
//! the incremental changes the node asks the driver to make, and a checked byte encoding.

use crate::types::{Entry, LogIndex, NodeId, SharedBytes, Term};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The term and vote, which must be durable before the node acts on them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HardState {
    /// The latest term this node has seen.
    pub term: Term,
    /// Whom this node voted for in `term`, if anyone.
    pub voted_for: Option<NodeId>,
}

/// A snapshot of the service's state through `index` (§7). Index 0 means "no snapshot".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The last log index the snapshot replaces.
    pub index: LogIndex,
    /// The term of that entry.
    pub term: Term,
    /// The service's bytes.
    pub data: SharedBytes,
}

/// Entries to add at the end of the durable log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogAppend {
    /// The index of `entries[0]`; always the durable log's last index + 1.
    pub first_index: LogIndex,
    /// The new entries.
    pub entries: Vec<Entry>,
}

/// An incremental change to durable state, applied in field order: hard state, then snapshot
/// (which discards the log through its index), then truncation, then the append. An embedding
/// with a real log store does work proportional to the change, not to the log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PersistChange {
    /// The new term and vote, if they changed.
    pub hard_state: Option<HardState>,
    /// A new snapshot; every entry at or before its index is discarded.
    pub snapshot: Option<Snapshot>,
    /// Discard every entry after this index (conflicting entries, §5.3).
    pub truncate_after: Option<LogIndex>,
    /// Entries to append after the (possibly truncated) log.
    pub append: Option<LogAppend>,
}

impl PersistChange {
    /// Whether the change changes nothing.
    pub fn is_empty(&self) -> bool {
        self.hard_state.is_none()
            && self.snapshot.is_none()
            && self.truncate_after.is_none()
            && self.append.is_none()
    }
}

/// Everything durable: what a node is rebuilt from after a crash.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersistentState {
    /// Term and vote.
    pub hard_state: HardState,
    /// The latest snapshot (index 0 if none).
    pub snapshot: Snapshot,
    /// The log after the snapshot: `entries[0]` is at `snapshot.index + 1`.
    pub entries: Vec<Entry>,
}

/// Why a [`PersistChange`] could not be applied to a [`PersistentState`]: the changes were
/// applied out of order or skipped. The state is left untouched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeError(pub String);

impl fmt::Display for ChangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "persist change does not fit the state: {}", self.0)
    }
}

impl std::error::Error for ChangeError {}

impl PersistentState {
    /// The index of the last entry (the snapshot's index if the log is empty).
    pub fn last_index(&self) -> LogIndex {
        self.snapshot.index.plus(self.entries.len() as u64)
    }

    /// Applies one change, as a durable store would. On `Err` nothing was changed.
    pub fn apply(&mut self, change: &PersistChange) -> Result<(), ChangeError> {
        self.check_fits(change)?;
        if let Some(hard_state) = change.hard_state {
            self.hard_state = hard_state;
        }
        if let Some(snapshot) = &change.snapshot {
            let covered = snapshot.index.0.saturating_sub(self.snapshot.index.0) as usize;
            self.entries.drain(..covered.min(self.entries.len()));
            self.snapshot = snapshot.clone();
        }
        if let Some(after) = change.truncate_after {
            let keep = after.0.saturating_sub(self.snapshot.index.0) as usize;
            self.entries.truncate(keep);
        }
        if let Some(append) = &change.append {
            self.entries.extend(append.entries.iter().cloned());
        }
        Ok(())
    }

    /// Like [`apply`](Self::apply), but takes the change by value and moves its entries into
    /// the state instead of copying them: a store that keeps what it is given saves a
    /// reference-count update per entry. On `Err` nothing was changed.
    pub fn apply_owned(&mut self, mut change: PersistChange) -> Result<(), ChangeError> {
        self.check_fits(&change)?;
        let append = change.append.take();
        self.apply(&change)?;
        if let Some(append) = append {
            self.entries.extend(append.entries);
        }
        Ok(())
    }

    /// Checks that `change` applies cleanly, without changing anything.
    fn check_fits(&self, change: &PersistChange) -> Result<(), ChangeError> {
        let mut snapshot_index = self.snapshot.index;
        let mut last = self.last_index();
        if let Some(snapshot) = &change.snapshot {
            if snapshot.index < snapshot_index {
                return Err(ChangeError("snapshot moves backwards".into()));
            }
            snapshot_index = snapshot.index;
            last = last.max(snapshot_index);
        }
        if let Some(after) = change.truncate_after {
            if after < snapshot_index {
                return Err(ChangeError("truncation below the snapshot".into()));
            }
            last = last.min(after);
        }
        if let Some(append) = &change.append {
            if append.first_index != last.next() {
                return Err(ChangeError(format!(
                    "append at {} but the log ends at {}",
                    append.first_index, last
                )));
            }
        }
        Ok(())
    }

    /// The encoded size of everything but the snapshot's data: the lab's `RaftStateSize()`,
    /// which its snapshot tests bound.
    pub fn raft_state_size(&self) -> usize {
        let view = (
            &self.hard_state,
            self.snapshot.index,
            self.snapshot.term,
            &self.entries,
        );
        postcard::experimental::serialized_size(&view).expect("sizing cannot fail")
    }

    /// Encodes as `MAGIC, VERSION, postcard body, CRC-32 of version and body`.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        bytes.push(VERSION);
        let mut bytes = postcard::to_extend(self, bytes).expect("encoding cannot fail");
        let crc = crc32(&bytes[MAGIC.len()..]);
        bytes.extend_from_slice(&crc.to_le_bytes());
        bytes
    }

    /// Decodes [`encode`](Self::encode)'s output. Truncated, corrupt, wrong-version or
    /// inconsistent bytes are an `Err`, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<PersistentState, DecodeError> {
        let header = MAGIC.len() + 1;
        if bytes.len() < header + 4 {
            return Err(DecodeError::Truncated);
        }
        if bytes[..MAGIC.len()] != MAGIC {
            return Err(DecodeError::BadMagic);
        }
        if bytes[MAGIC.len()] != VERSION {
            return Err(DecodeError::UnsupportedVersion(bytes[MAGIC.len()]));
        }
        let (checked, crc) = bytes.split_at(bytes.len() - 4);
        let crc = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if crc32(&checked[MAGIC.len()..]) != crc {
            return Err(DecodeError::ChecksumMismatch);
        }
        let state = match postcard::take_from_bytes::<PersistentState>(&checked[header..]) {
            Ok((state, [])) => state,
            Ok((_, rest)) => return Err(DecodeError::TrailingBytes(rest.len())),
            Err(e) => return Err(DecodeError::Malformed(e.to_string())),
        };
        state.validate()?;
        Ok(state)
    }

    /// Checks what the node relies on: log terms never decrease and never precede the
    /// snapshot's term, and no entry is newer than the current term.
    pub fn validate(&self) -> Result<(), DecodeError> {
        let mut previous = self.snapshot.term;
        for (offset, entry) in self.entries.iter().enumerate() {
            if entry.term < previous || entry.term > self.hard_state.term {
                let index = self.snapshot.index.plus(offset as u64 + 1);
                return Err(DecodeError::Inconsistent(format!(
                    "entry {index} has term {} after term {previous} (current term {})",
                    entry.term, self.hard_state.term
                )));
            }
            previous = entry.term;
        }
        if self.snapshot.term > self.hard_state.term {
            return Err(DecodeError::Inconsistent(
                "snapshot term is newer than the current term".into(),
            ));
        }
        if self
            .snapshot
            .index
            .0
            .checked_add(self.entries.len() as u64)
            .is_none()
        {
            return Err(DecodeError::Inconsistent("log index overflows".into()));
        }
        Ok(())
    }
}

const MAGIC: [u8; 4] = *b"RAFT";
const VERSION: u8 = 1;

/// Why bytes could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Too short to hold even the header and checksum.
    Truncated,
    /// The bytes do not start with the format's magic number.
    BadMagic,
    /// Written by an unknown version of the format.
    UnsupportedVersion(u8),
    /// The checksum does not match: the bytes were corrupted or cut.
    ChecksumMismatch,
    /// The body is not a valid encoding.
    Malformed(String),
    /// Valid encoding followed by this many unexpected bytes.
    TrailingBytes(usize),
    /// Well-formed but violates Raft's invariants.
    Inconsistent(String),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => write!(f, "truncated: too short for header and checksum"),
            DecodeError::BadMagic => write!(f, "not a raft state: bad magic number"),
            DecodeError::UnsupportedVersion(v) => write!(f, "unsupported format version {v}"),
            DecodeError::ChecksumMismatch => write!(f, "checksum mismatch: corrupt or truncated"),
            DecodeError::Malformed(why) => write!(f, "malformed encoding: {why}"),
            DecodeError::TrailingBytes(n) => write!(f, "{n} unexpected trailing bytes"),
            DecodeError::Inconsistent(why) => write!(f, "inconsistent state: {why}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// CRC-32 (IEEE 802.3, reflected), bit by bit: persisted states are small and read rarely.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::crc32;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
