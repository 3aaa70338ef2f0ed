//! A write-ahead log format for [`PersistChange`]s: what a store appends, and how it reads
//! back what survived a crash.
//!
//! A node's durable state can be kept as one file: append one record per `Persist` (or per
//! group of them, merged with [`PersistChange::merge`] or handed out merged by
//! [`RaftNode::step_many`](crate::RaftNode::step_many)), fsync, and only then carry out the
//! actions that follow. On start, [`replay`] applies the records in order to an empty
//! [`PersistentState`] and stops at the first record that is incomplete or fails its
//! checksum: the write that was under way when the process died. Nothing after that point
//! was acknowledged (its fsync had not returned), so the store cuts the file there
//! ([`Replay::valid_len`]) and appends after it. A record counts whole or not at all, so a
//! crash leaves the changes before the torn one, each complete: states a node can restart
//! from (a store that writes a change's parts one by one may also keep a prefix of the torn
//! change, [`PersistChange::prefix`]). To compact, a store writes the whole state as a single
//! record ([`PersistChange::from_state`]) into a new file and renames it over the old one.
//!
//! # The format (versions 1 and 2; stable)
//!
//! A log is a sequence of records, each:
//!
//! | bytes | what |
//! |---|---|
//! | 4 | `length`: the number of bytes after the checksum (version and body), little-endian, at least 1 |
//! | 4 | `crc`: CRC-32 (IEEE 802.3) of the 4 length bytes, the version and the body, little-endian |
//! | 1 | `version`: 1, or 2 if the change carries a configuration |
//! | `length - 1` | `body`: postcard of the tuple `(Option<HardState>, Option<Snapshot>, Option<LogIndex>, Option<(LogIndex, Vec<Entry>)>)`: the change's hard state, snapshot, truncation and append (first index and entries) |
//!
//! Version 2 has the same layout, but its snapshot ends with the configuration in force at
//! its index (an `Option<Membership>`), and its entries may be configuration entries (see
//! [`Entry::config`]: a term with bit 62 set, then the configuration). A change with neither
//! is written as version 1, so logs of clusters that never change membership are unchanged.
//!
//! The checksum covers the length, so a torn or damaged length field is caught like damaged
//! data. The tests pin these bytes: a change of format needs a new version.
//!
//! # What a store should do with what [`decode`] finds
//!
//! - A record cut short ([`StopKind::Incomplete`]) or failing its checksum
//!   ([`StopKind::ChecksumMismatch`]): a torn write. Cut the file before it.
//! - A record whose checksum holds but which cannot be read ([`StopKind::UnsupportedVersion`],
//!   [`StopKind::Malformed`]), or one that does not fit the state before it: it was written
//!   whole, by another version of the program or by a bug. Cutting it would drop state that
//!   was acknowledged, which Raft does not tolerate (a forgotten vote lets a node vote twice in
//!   a term; a forgotten entry can undo a commit). [`replay`] refuses such a log with a
//!   [`ReplayError`]; the node should not start.
//!
//! A checksum failure is taken for a torn write wherever it is, which is right for the last
//! write of an append-only file on a disk that honours fsync. Damage in the middle of an older
//! part of the file (bit rot) is indistinguishable from it by the format and also cuts
//! everything after it; a store that must survive that needs replication of its own.

use crate::persist::{
    crc32_update, decode_body, ChangeError, DecodeError, HardState, LogAppend, PersistChange,
    PersistentState, Snapshot, SnapshotV1,
};
use crate::types::{Entry, LogIndex, SharedBytes, Term};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The newest record format version this code writes and reads. Version 2 adds
/// configurations: a snapshot's ([`Snapshot::membership`]) and configuration entries. A record
/// that carries none is written as version 1, byte for byte as before (see the module's
/// comment); both versions are read.
pub const VERSION: u8 = 2;

/// Bytes before a record's version: the length and the checksum.
pub const HEADER_LEN: usize = 8;

/// The body, borrowed for encoding; field order is the format.
#[derive(Serialize)]
struct BodyRef<'a>(
    Option<HardState>,
    SnapshotRef<'a>,
    Option<LogIndex>,
    Option<(LogIndex, &'a [Entry])>,
);

/// The snapshot as the record's version lays it out.
#[derive(Serialize)]
#[serde(untagged)]
enum SnapshotRef<'a> {
    V1(Option<SnapshotRefV1<'a>>),
    Current(Option<&'a Snapshot>),
}

/// A snapshot without its configuration (version 1).
#[derive(Serialize)]
struct SnapshotRefV1<'a> {
    index: LogIndex,
    term: Term,
    data: &'a SharedBytes,
}

impl<'a> From<&'a Snapshot> for SnapshotRefV1<'a> {
    fn from(snapshot: &'a Snapshot) -> SnapshotRefV1<'a> {
        SnapshotRefV1 {
            index: snapshot.index,
            term: snapshot.term,
            data: &snapshot.data,
        }
    }
}

/// The body, owned for decoding; the same layout as [`BodyRef`].
#[derive(Deserialize)]
struct Body(
    Option<HardState>,
    Option<Snapshot>,
    Option<LogIndex>,
    Option<(LogIndex, Vec<Entry>)>,
);

/// A version-1 body: its snapshot has no configuration.
#[derive(Deserialize)]
struct BodyV1(
    Option<HardState>,
    Option<SnapshotV1>,
    Option<LogIndex>,
    Option<(LogIndex, Vec<Entry>)>,
);

/// A version-1 record must not carry configurations: version 1 had none.
fn record_version(change: &PersistChange) -> u8 {
    let snapshot_config = change
        .snapshot
        .as_ref()
        .is_some_and(|s| s.membership.is_some());
    let config_entry = change
        .append
        .as_ref()
        .is_some_and(|a| a.entries.iter().any(|e| e.membership().is_some()));
    match snapshot_config || config_entry {
        true => VERSION,
        false => 1,
    }
}

/// A change too large for one record: its version and body need more than `u32::MAX` bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordTooLarge(pub usize);

impl fmt::Display for RecordTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a log record of {} bytes exceeds the 4 GiB limit",
            self.0
        )
    }
}

impl std::error::Error for RecordTooLarge {}

/// Appends the record for `change` to `out` and returns its length in bytes. On `Err`, `out`
/// is as it was.
pub fn encode_record(change: &PersistChange, out: &mut Vec<u8>) -> Result<usize, RecordTooLarge> {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER_LEN]);
    let version = record_version(change);
    out.push(version);
    let v1_snapshot = change.snapshot.as_ref().map(SnapshotRefV1::from);
    let body = BodyRef(
        change.hard_state,
        match version {
            1 => SnapshotRef::V1(v1_snapshot),
            _ => SnapshotRef::Current(change.snapshot.as_ref()),
        },
        change.truncate_after,
        change
            .append
            .as_ref()
            .map(|a| (a.first_index, a.entries.as_slice())),
    );
    *out = postcard::to_extend(&body, std::mem::take(out)).expect("encoding cannot fail");
    let length = out.len() - start - HEADER_LEN;
    let Ok(length32) = u32::try_from(length) else {
        out.truncate(start);
        return Err(RecordTooLarge(length));
    };
    out[start..start + 4].copy_from_slice(&length32.to_le_bytes());
    let crc = record_crc(&out[start..start + 4], &out[start + HEADER_LEN..]);
    out[start + 4..start + HEADER_LEN].copy_from_slice(&crc.to_le_bytes());
    Ok(out.len() - start)
}

/// The checksum of a record: over its length field, then its version and body.
fn record_crc(length: &[u8], payload: &[u8]) -> u32 {
    !crc32_update(crc32_update(!0, length), payload)
}

/// Why [`decode`] stopped before the end of the bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopKind {
    /// The bytes end inside the record: its header, or the `length` it announces.
    Incomplete {
        /// Bytes the record needs (its header alone if the header is cut).
        needed: usize,
        /// Bytes left.
        available: usize,
    },
    /// The record's length is 0 or its checksum does not match: damaged or half-written.
    ChecksumMismatch,
    /// The checksum holds, but the record is of a version this code does not read.
    UnsupportedVersion(u8),
    /// The checksum holds, but the body is not a valid encoding (or has trailing bytes).
    Malformed(String),
}

impl StopKind {
    /// Whether this is what a write cut short by a crash leaves: an incomplete record or a
    /// checksum failure. The other kinds are records that were written whole.
    pub fn is_torn_write(&self) -> bool {
        matches!(
            self,
            StopKind::Incomplete { .. } | StopKind::ChecksumMismatch
        )
    }
}

impl fmt::Display for StopKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopKind::Incomplete { needed, available } => write!(
                f,
                "incomplete record: {available} of its {needed} bytes are there"
            ),
            StopKind::ChecksumMismatch => write!(f, "the record's checksum does not match"),
            StopKind::UnsupportedVersion(v) => write!(f, "record of unknown version {v}"),
            StopKind::Malformed(why) => write!(f, "malformed record: {why}"),
        }
    }
}

/// What [`decode`] read from a log's bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    /// The records before the first bad or incomplete one, in order.
    pub records: Vec<PersistChange>,
    /// The bytes those records take: where a store cuts the file. Equal to the input's
    /// length when every record was good.
    pub valid_len: usize,
    /// Why decoding stopped at `valid_len`, if it did before the end.
    pub stop: Option<StopKind>,
}

/// Reads the records of a log, up to the first one that is incomplete, damaged or
/// unreadable. Never panics, whatever the bytes.
pub fn decode(bytes: &[u8]) -> Decoded {
    let mut decoded = Decoded::default();
    let mut at = 0;
    while at < bytes.len() {
        match decode_one(&bytes[at..]) {
            Ok((change, len)) => {
                decoded.records.push(change);
                at += len;
            }
            Err(stop) => {
                decoded.stop = Some(stop);
                break;
            }
        }
    }
    decoded.valid_len = at;
    decoded
}

/// The record at the start of `bytes`, and its length.
fn decode_one(bytes: &[u8]) -> Result<(PersistChange, usize), StopKind> {
    if bytes.len() < HEADER_LEN {
        return Err(StopKind::Incomplete {
            needed: HEADER_LEN,
            available: bytes.len(),
        });
    }
    let length = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let crc = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    let needed = HEADER_LEN.saturating_add(length);
    if bytes.len() < needed {
        return Err(StopKind::Incomplete {
            needed,
            available: bytes.len(),
        });
    }
    let payload = &bytes[HEADER_LEN..needed];
    if length == 0 || record_crc(&bytes[..4], payload) != crc {
        return Err(StopKind::ChecksumMismatch);
    }
    let body = match payload[0] {
        1 => decode_body::<BodyV1>(&payload[1..])
            .map(|BodyV1(h, s, t, a)| Body(h, s.map(Snapshot::from), t, a)),
        VERSION => decode_body::<Body>(&payload[1..]),
        other => return Err(StopKind::UnsupportedVersion(other)),
    };
    let body = body.map_err(|e| match e {
        DecodeError::TrailingBytes(n) => StopKind::Malformed(format!("{n} trailing bytes")),
        DecodeError::Malformed(why) => StopKind::Malformed(why),
        other => StopKind::Malformed(other.to_string()),
    })?;
    let Body(hard_state, snapshot, truncate_after, append) = body;
    let change = PersistChange {
        hard_state,
        snapshot,
        truncate_after,
        append: append.map(|(first_index, entries)| LogAppend {
            first_index,
            entries,
        }),
    };
    Ok((change, needed))
}

/// A log replayed: the state it holds, and where its good part ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replay {
    /// The state after every good record, validated: ready for
    /// [`RaftNode::new`](crate::RaftNode::new).
    pub state: PersistentState,
    /// How many records were applied.
    pub records: usize,
    /// Where the good records end: cut the file here before appending.
    pub valid_len: usize,
    /// The torn write found at `valid_len`, if any (always [`StopKind::is_torn_write`]).
    pub torn: Option<StopKind>,
}

/// Why a log cannot be replayed: something in it was written whole and still cannot be used.
/// Starting a node from less than it holds could break Raft's guarantees, so don't.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplayError {
    /// A record whose checksum holds cannot be read.
    Unreadable {
        /// Where the record starts.
        offset: usize,
        /// What is wrong with it.
        kind: StopKind,
    },
    /// A record does not apply to the state the records before it built.
    DoesNotFit {
        /// Where the record starts.
        offset: usize,
        /// Why it does not apply.
        error: ChangeError,
    },
    /// The records apply, but the state they build fails [`PersistentState::validate`].
    Inconsistent(DecodeError),
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Unreadable { offset, kind } => {
                write!(f, "unusable log record at byte {offset}: {kind}")
            }
            ReplayError::DoesNotFit { offset, error } => {
                write!(f, "log record at byte {offset} does not apply: {error}")
            }
            ReplayError::Inconsistent(why) => write!(f, "the log builds an unusable state: {why}"),
        }
    }
}

impl std::error::Error for ReplayError {}

/// Rebuilds the durable state from a log's bytes: every good record applied in order to an
/// empty state, stopping at a torn write (see the module's documentation). Never panics.
pub fn replay(bytes: &[u8]) -> Result<Replay, ReplayError> {
    let decoded = decode(bytes);
    let mut state = PersistentState::default();
    let mut offset = 0;
    let records = decoded.records.len();
    for change in decoded.records {
        let len = record_len(bytes, offset);
        state
            .apply_owned(change)
            .map_err(|error| ReplayError::DoesNotFit { offset, error })?;
        offset += len;
    }
    let torn = match decoded.stop {
        Some(kind) if !kind.is_torn_write() => {
            return Err(ReplayError::Unreadable { offset, kind });
        }
        stop => stop,
    };
    state.validate().map_err(ReplayError::Inconsistent)?;
    Ok(Replay {
        state,
        records,
        valid_len: decoded.valid_len,
        torn,
    })
}

/// The length of the good record at `offset` (its header was read by `decode`).
fn record_len(bytes: &[u8], offset: usize) -> usize {
    let header = &bytes[offset..offset + 4];
    HEADER_LEN + u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize
}

impl PersistChange {
    /// The change that builds `state` from nothing (applied to an empty
    /// [`PersistentState`], it gives `state`): the first record of a compacted log.
    pub fn from_state(state: PersistentState) -> PersistChange {
        let first_index = state.snapshot.index.next();
        PersistChange {
            hard_state: Some(state.hard_state),
            snapshot: (state.snapshot.index.0 > 0).then_some(state.snapshot),
            truncate_after: None,
            append: (!state.entries.is_empty()).then_some(LogAppend {
                first_index,
                entries: state.entries,
            }),
        }
    }
}

#[cfg(test)]
mod tests;
