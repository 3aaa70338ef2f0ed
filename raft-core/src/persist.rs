//! Durable state: what must survive a crash (Figure 2 "persistent state" plus the snapshot),
//! the incremental changes the node asks the driver to make, and a checked byte encoding.

use crate::membership::{Membership, MembershipError};
use crate::types::{Entry, LogIndex, NodeId, SharedBytes, Term, MAX_RESTORED_INDEX, TERM_CEILING};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

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
    /// The configuration in force at `index`: the latest configuration entry at or before it
    /// (§6, thesis §4.1), or `None` if there was none (the bootstrap configuration,
    /// `Config::peers`). The core fills it in; a driver passes it back unchanged.
    pub membership: Option<Arc<Membership>>,
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
/// (which replaces the log through its index, §7), then truncation, then the append. An
/// embedding with a real log store does work proportional to the change, not to the log.
///
/// A store writes the parts in that order, one appended entry at a time ([`Self::parts`]).
/// If it crashes part-way, what it holds is the state before the change plus a prefix of the
/// parts ([`Self::prefix`]); every such state is consistent and restores a working node,
/// because the node acts on a change only once all of it is durable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PersistChange {
    /// The new term and vote, if they changed.
    pub hard_state: Option<HardState>,
    /// A new snapshot; every entry at or before its index is discarded, and so is every entry
    /// after it unless the log holds the snapshot's last entry (same index and term, §7).
    pub snapshot: Option<Snapshot>,
    /// Discard every entry after this index (conflicting entries, §5.3).
    pub truncate_after: Option<LogIndex>,
    /// Entries to append after the (possibly truncated) log.
    pub append: Option<LogAppend>,
}

impl PersistChange {
    /// How many parts a store writes for this change, in order: the hard state, the snapshot,
    /// the truncation, then one per appended entry.
    pub fn parts(&self) -> usize {
        usize::from(self.hard_state.is_some())
            + usize::from(self.snapshot.is_some())
            + usize::from(self.truncate_after.is_some())
            + self.append.as_ref().map_or(0, |a| a.entries.len())
    }

    /// The first `parts` parts of this change: what a store that writes them in order holds
    /// if it stops (crashes) after that many.
    pub fn prefix(&self, parts: usize) -> PersistChange {
        let mut left = parts;
        let mut take = |present: bool| {
            let taken = present && left > 0;
            left -= usize::from(taken);
            taken
        };
        let mut written = PersistChange::default();
        if take(self.hard_state.is_some()) {
            written.hard_state = self.hard_state;
        }
        if take(self.snapshot.is_some()) {
            written.snapshot = self.snapshot.clone();
        }
        if take(self.truncate_after.is_some()) {
            written.truncate_after = self.truncate_after;
        }
        if let Some(append) = &self.append {
            let n = left.min(append.entries.len());
            if n > 0 {
                written.append = Some(LogAppend {
                    first_index: append.first_index,
                    entries: append.entries[..n].to_vec(),
                });
            }
        }
        written
    }

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
            if self.holds(snapshot) {
                let covered = snapshot.index.0.saturating_sub(self.snapshot.index.0) as usize;
                self.entries.drain(..covered.min(self.entries.len()));
            } else {
                // The entries after it belong to another history (§7). Dropping them here, in
                // the same part, keeps a write torn before its truncation consistent.
                self.entries.clear();
            }
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

    /// Whether the log holds the snapshot's last entry: the same index and term.
    fn holds(&self, snapshot: &Snapshot) -> bool {
        let term = match snapshot.index.0.checked_sub(self.snapshot.index.0) {
            Some(0) => Some(self.snapshot.term),
            Some(offset) => self.entries.get(offset as usize - 1).map(|e| e.term),
            None => None,
        };
        term == Some(snapshot.term)
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
            last = match self.holds(snapshot) {
                true => last.max(snapshot_index),
                false => snapshot_index,
            };
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
        // The snapshot's configuration counts only when there is one, so that a cluster that
        // never changed its membership measures what it always did.
        let membership = self.snapshot.membership.as_deref();
        let sizes = (postcard::experimental::serialized_size(&view)).and_then(|s| {
            Ok(s + membership.map_or(Ok(0), postcard::experimental::serialized_size)?)
        });
        sizes.expect("sizing cannot fail")
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

    /// Decodes [`encode`](Self::encode)'s output, and version 1 (written before snapshots
    /// carried a configuration; it decodes with none). Truncated, corrupt, unknown-version or
    /// inconsistent bytes are an `Err`, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<PersistentState, DecodeError> {
        let header = MAGIC.len() + 1;
        if bytes.len() < header + 4 {
            return Err(DecodeError::Truncated);
        }
        if bytes[..MAGIC.len()] != MAGIC {
            return Err(DecodeError::BadMagic);
        }
        let version = bytes[MAGIC.len()];
        if version != VERSION && version != 1 {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let (checked, crc) = bytes.split_at(bytes.len() - 4);
        let crc = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if crc32(&checked[MAGIC.len()..]) != crc {
            return Err(DecodeError::ChecksumMismatch);
        }
        let body = &checked[header..];
        let state = match version {
            1 => decode_body::<StateV1>(body)?.into(),
            _ => decode_body::<PersistentState>(body)?,
        };
        state.validate()?;
        Ok(state)
    }

    /// Checks what the node relies on, so that a restored node can run (and still elect and
    /// commit): index 0 ("no snapshot") has term 0 and no data; log terms never decrease and
    /// never precede the snapshot's term (§5.3); nothing is newer than the current term; and
    /// indexes and the current term leave room to grow (see [`Inconsistency`]).
    pub fn validate(&self) -> Result<(), DecodeError> {
        self.find_inconsistency()
            .map_or(Ok(()), |why| Err(DecodeError::Inconsistent(why)))
    }

    fn find_inconsistency(&self) -> Option<Inconsistency> {
        let current = self.hard_state.term;
        if current.0 >= TERM_CEILING {
            return Some(Inconsistency::TermTooLarge(current));
        }
        let snapshot = &self.snapshot;
        if snapshot.index.0 == 0 && (snapshot.term.0 != 0 || !snapshot.data.is_empty()) {
            return Some(Inconsistency::EmptySnapshotNotEmpty {
                term: snapshot.term,
                data_len: snapshot.data.len(),
            });
        }
        if let Some(why) = self.find_bad_membership() {
            return Some(why);
        }
        let last = snapshot.index.0.checked_add(self.entries.len() as u64);
        match last {
            Some(last) if last <= MAX_RESTORED_INDEX => {}
            _ => return Some(Inconsistency::IndexTooLarge(LogIndex(snapshot.index.0))),
        }
        let positions = std::iter::once((snapshot.index, snapshot.term)).chain(
            self.entries
                .iter()
                .enumerate()
                .map(|(offset, entry)| (snapshot.index.plus(offset as u64 + 1), entry.term)),
        );
        let mut previous = Term(0);
        for (index, term) in positions {
            if term < previous {
                return Some(Inconsistency::TermDecreases {
                    index,
                    term,
                    previous,
                });
            }
            if term > current {
                return Some(Inconsistency::TermAfterCurrent {
                    index,
                    term,
                    current,
                });
            }
            previous = term;
        }
        None
    }
}

/// Decodes a whole postcard body: trailing bytes are an error.
pub(crate) fn decode_body<'de, T: Deserialize<'de>>(body: &'de [u8]) -> Result<T, DecodeError> {
    match postcard::take_from_bytes::<T>(body) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(DecodeError::TrailingBytes(rest.len())),
        Err(e) => Err(DecodeError::Malformed(e.to_string())),
    }
}

/// A state as format version 1 wrote it: snapshots without a configuration.
#[derive(Deserialize)]
struct StateV1 {
    hard_state: HardState,
    snapshot: SnapshotV1,
    entries: Vec<Entry>,
}

impl From<StateV1> for PersistentState {
    fn from(v1: StateV1) -> PersistentState {
        PersistentState {
            hard_state: v1.hard_state,
            snapshot: v1.snapshot.into(),
            entries: v1.entries,
        }
    }
}

/// A snapshot as version 1 of the state and write-ahead-log formats wrote it.
#[derive(Deserialize)]
pub(crate) struct SnapshotV1 {
    index: LogIndex,
    term: Term,
    data: SharedBytes,
}

impl From<SnapshotV1> for Snapshot {
    fn from(v1: SnapshotV1) -> Snapshot {
        Snapshot {
            index: v1.index,
            term: v1.term,
            data: v1.data,
            membership: None,
        }
    }
}

impl PersistentState {
    /// A configuration that is malformed, or where none may be: on "no snapshot", or in an
    /// entry that also carries a command.
    fn find_bad_membership(&self) -> Option<Inconsistency> {
        let snapshot = &self.snapshot;
        if let Some(membership) = &snapshot.membership {
            if snapshot.index.0 == 0 {
                return Some(Inconsistency::EmptySnapshotHasMembership);
            }
            if let Err(error) = membership.validate() {
                let index = snapshot.index;
                return Some(Inconsistency::BadMembership { index, error });
            }
        }
        for (offset, entry) in self.entries.iter().enumerate() {
            let Some(membership) = entry.membership() else {
                continue;
            };
            let index = snapshot.index.plus(offset as u64 + 1);
            if !entry.command.is_empty() {
                return Some(Inconsistency::MembershipWithCommand(index));
            }
            if let Err(error) = membership.validate() {
                return Some(Inconsistency::BadMembership { index, error });
            }
        }
        None
    }
}

/// How a well-formed [`PersistentState`] breaks what a node relies on (see
/// [`PersistentState::validate`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inconsistency {
    /// The current term is at or beyond the ceiling (`u64::MAX >> 2`) that the core never
    /// reaches: it ignores messages from such terms and starts no election that would reach it.
    TermTooLarge(Term),
    /// The snapshot at index 0 stands for "no snapshot", yet has a term or data.
    EmptySnapshotNotEmpty {
        /// The snapshot's term.
        term: Term,
        /// The length of its data.
        data_len: usize,
    },
    /// The log ends beyond the largest index a restored state may hold (`u64::MAX >> 1`, far
    /// beyond any index the core accepts in a message, so never reached; below it, index
    /// arithmetic cannot overflow). The snapshot's index is given.
    IndexTooLarge(LogIndex),
    /// The entry at `index` has a term older than the entry (or snapshot) before it.
    TermDecreases {
        /// Where.
        index: LogIndex,
        /// Its term.
        term: Term,
        /// The term of the position before it.
        previous: Term,
    },
    /// The entry (or snapshot) at `index` is from a term after the current term.
    TermAfterCurrent {
        /// Where.
        index: LogIndex,
        /// Its term.
        term: Term,
        /// The current term.
        current: Term,
    },
    /// "No snapshot" (index 0) carries a configuration.
    EmptySnapshotHasMembership,
    /// The configuration of the snapshot (at its index) or of the entry at `index` is
    /// malformed.
    BadMembership {
        /// Where.
        index: LogIndex,
        /// What is wrong with it.
        error: MembershipError,
    },
    /// The configuration entry at this index also carries a command.
    MembershipWithCommand(LogIndex),
}

impl fmt::Display for Inconsistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Inconsistency::TermTooLarge(term) => {
                write!(f, "current term {term} is beyond the limit")
            }
            Inconsistency::EmptySnapshotNotEmpty { term, data_len } => write!(
                f,
                "no snapshot (index 0) but term {term} and {data_len} bytes of data"
            ),
            Inconsistency::IndexTooLarge(index) => {
                write!(
                    f,
                    "the log (snapshot at {index}) ends beyond the index limit"
                )
            }
            Inconsistency::TermDecreases {
                index,
                term,
                previous,
            } => write!(f, "entry {index} has term {term} after term {previous}"),
            Inconsistency::TermAfterCurrent {
                index,
                term,
                current,
            } => write!(
                f,
                "position {index} has term {term}, after the current term {current}"
            ),
            Inconsistency::EmptySnapshotHasMembership => {
                write!(f, "no snapshot (index 0) but a configuration")
            }
            Inconsistency::BadMembership { index, error } => {
                write!(f, "the configuration at {index} is malformed: {error}")
            }
            Inconsistency::MembershipWithCommand(index) => {
                write!(
                    f,
                    "the configuration entry at {index} also carries a command"
                )
            }
        }
    }
}

const MAGIC: [u8; 4] = *b"RAFT";
/// Version 2 added the snapshot's configuration; version 1 still decodes.
const VERSION: u8 = 2;

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
    /// Well-formed but violates what a node relies on.
    Inconsistent(Inconsistency),
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

/// CRC-32 (IEEE 802.3, reflected; the check value of `123456789` is `0xCBF43926`).
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    !crc32_update(!0, bytes)
}

/// Feeds `bytes` into a running CRC-32 register (start from `!0`, finish with `!`), so a
/// checksum can cover pieces that do not sit together in memory.
pub(crate) fn crc32_update(mut crc: u32, bytes: &[u8]) -> u32 {
    for &byte in bytes {
        crc = (crc >> 8) ^ CRC_TABLE[((crc ^ u32::from(byte)) & 0xFF) as usize];
    }
    crc
}

/// The register's update for each byte value, computed at compile time (one lookup per byte
/// instead of eight shifts: write-ahead logs checksum every byte they write and read).
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut crc = n as u32;
        let mut bit = 0;
        while bit < 8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
            bit += 1;
        }
        table[n] = crc;
        n += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::crc32;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
