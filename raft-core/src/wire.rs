//! How configurations ride in the encodings of entries and `InstallSnapshot` (wire version 3).
//!
//! An ordinary entry encodes as it always has: its term, then its command. A configuration
//! entry sets bit 62 of its term ([`CONFIG_MARK`]) and carries its [`Membership`] in place
//! of the command. No real term has that bit: terms stay below `u64::MAX >> 2`, and a node
//! drops any message or state with a term beyond that. So every encoding of a log without
//! configuration entries is byte for byte what it was, and an older decoder that meets a
//! marked entry sees a term from beyond the ceiling and drops the message as malformed.
//!
//! `InstallSnapshot` does the same with its `last_included_term`: marked, the snapshot's
//! configuration follows its data.
//!
//! A decoded configuration is checked ([`Membership::validate`]): an empty, unsorted,
//! duplicated or oversized one makes the whole decode fail, never a panic.

use crate::membership::Membership;
use crate::message::InstallSnapshot;
use crate::types::{Entry, LogIndex, SharedBytes, Term};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeTuple, Serializer};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// Bit 62 of a term on the wire: a configuration follows (see the module's comment).
pub(crate) const CONFIG_MARK: u64 = 1 << 62;

fn marked(term: Term, marked: bool) -> Term {
    match marked {
        true => Term(term.0 | CONFIG_MARK),
        false => term,
    }
}

/// Splits a term read from the wire into the term and whether it was marked.
fn unmark(term: Term) -> (Term, bool) {
    (Term(term.0 & !CONFIG_MARK), term.0 & CONFIG_MARK != 0)
}

fn next<'de, T: Deserialize<'de>, A: SeqAccess<'de>>(
    seq: &mut A,
    at: usize,
) -> Result<T, A::Error> {
    seq.next_element()?
        .ok_or_else(|| de::Error::invalid_length(at, &"a complete record"))
}

impl Serialize for Entry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(2)?;
        tuple.serialize_element(&marked(self.term, self.membership.is_some()))?;
        match &self.membership {
            Some(membership) => tuple.serialize_element(&**membership)?,
            None => tuple.serialize_element(&self.command)?,
        }
        tuple.end()
    }
}

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Entry, D::Error> {
        deserializer.deserialize_tuple(2, EntryVisitor)
    }
}

struct EntryVisitor;

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = Entry;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a log entry")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Entry, A::Error> {
        let (term, is_config) = unmark(next(&mut seq, 0)?);
        Ok(match is_config {
            true => Entry::config(term, next(&mut seq, 1)?),
            false => Entry::new(term, next(&mut seq, 1)?),
        })
    }
}

impl Serialize for InstallSnapshot {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let fields = 4 + usize::from(self.membership.is_some());
        let mut tuple = serializer.serialize_tuple(fields)?;
        tuple.serialize_element(&self.term)?;
        tuple.serialize_element(&self.last_included_index)?;
        let is_config = self.membership.is_some();
        tuple.serialize_element(&marked(self.last_included_term, is_config))?;
        tuple.serialize_element(&self.data)?;
        if let Some(membership) = &self.membership {
            tuple.serialize_element(&**membership)?;
        }
        tuple.end()
    }
}

impl<'de> Deserialize<'de> for InstallSnapshot {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<InstallSnapshot, D::Error> {
        deserializer.deserialize_tuple(5, InstallSnapshotVisitor)
    }
}

struct InstallSnapshotVisitor;

impl<'de> Visitor<'de> for InstallSnapshotVisitor {
    type Value = InstallSnapshot;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an InstallSnapshot request")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<InstallSnapshot, A::Error> {
        let term: Term = next(&mut seq, 0)?;
        let last_included_index: LogIndex = next(&mut seq, 1)?;
        let (last_included_term, is_config) = unmark(next(&mut seq, 2)?);
        let data: SharedBytes = next(&mut seq, 3)?;
        let membership = match is_config {
            true => Some(Arc::new(next::<Membership, _>(&mut seq, 4)?)),
            false => None,
        };
        Ok(InstallSnapshot {
            term,
            last_included_index,
            last_included_term,
            data,
            membership,
        })
    }
}
