//! The lab's two key/value specifications: 2024's strings with Get/Put/Append, and 2025's
//! versioned values with conditional Puts that may answer "maybe".

use super::{Model, Operation};
use crate::kv::rpc::KvErr;
use std::collections::BTreeMap;

/// Which operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KvOp {
    /// Read a key.
    Get,
    /// Replace a key's value.
    Put,
    /// Append to a key's value (2024 only).
    Append,
}

/// A 2024 operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KvInput {
    /// Which operation.
    pub op: KvOp,
    /// The key.
    pub key: String,
    /// The value written (empty for Get).
    pub value: String,
}

impl KvInput {
    /// `Get(key)`.
    pub fn get(key: &str) -> KvInput {
        KvInput {
            op: KvOp::Get,
            key: key.into(),
            value: String::new(),
        }
    }

    /// `Put(key, value)`.
    pub fn put(key: &str, value: &str) -> KvInput {
        KvInput {
            op: KvOp::Put,
            key: key.into(),
            value: value.into(),
        }
    }

    /// `Append(key, value)`.
    pub fn append(key: &str, value: &str) -> KvInput {
        KvInput {
            op: KvOp::Append,
            key: key.into(),
            value: value.into(),
        }
    }
}

/// A 2024 result: the value a Get returned (empty for Put and Append).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvOutput {
    /// The value read.
    pub value: String,
}

impl KvOutput {
    /// A Get's result.
    pub fn value(value: &str) -> KvOutput {
        KvOutput {
            value: value.into(),
        }
    }
}

/// The 2024 lab's model: per key a string, initially empty. Get must return it; Put replaces
/// it; Append appends to it. Keys are independent partitions.
#[derive(Clone, Copy, Debug, Default)]
pub struct KvModel;

impl Model for KvModel {
    type Input = KvInput;
    type Output = KvOutput;
    type State = String;

    fn init(&self) -> String {
        String::new()
    }

    fn step(&self, state: &String, input: &KvInput, output: Option<&KvOutput>) -> Option<String> {
        match input.op {
            KvOp::Get => output
                .is_none_or(|o| o.value == *state)
                .then(|| state.clone()),
            KvOp::Put => Some(input.value.clone()),
            KvOp::Append => Some(format!("{state}{}", input.value)),
        }
    }

    fn is_read_only(&self, input: &KvInput, _: Option<&KvOutput>) -> bool {
        input.op == KvOp::Get
    }

    fn partition(&self, history: &[Operation<KvInput, KvOutput>]) -> Vec<Vec<usize>> {
        by_key(history.iter().map(|op| &op.input.key))
    }

    fn describe_operation(&self, input: &KvInput, output: Option<&KvOutput>) -> String {
        let (key, value) = (short(&input.key), short(&input.value));
        match input.op {
            KvOp::Get => match output {
                Some(o) => format!("get('{key}') -> '{}'", short(&o.value)),
                None => format!("get('{key}') -> ?"),
            },
            KvOp::Put => format!("put('{key}', '{value}')"),
            KvOp::Append => format!("append('{key}', '{value}')"),
        }
    }

    fn describe_partition(&self, first: &KvInput) -> String {
        format!("key '{}'", short(&first.key))
    }

    fn describe_state(&self, state: &String) -> String {
        format!("'{}'", short(state))
    }
}

/// A 2025 operation: Get, or a Put conditional on the key's version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionedKvInput {
    /// Get or Put.
    pub op: KvOp,
    /// The key.
    pub key: String,
    /// The value written (Put).
    pub value: String,
    /// The version the Put expects (Put).
    pub version: u64,
}

impl VersionedKvInput {
    /// `Get(key)`.
    pub fn get(key: &str) -> VersionedKvInput {
        VersionedKvInput {
            op: KvOp::Get,
            key: key.into(),
            value: String::new(),
            version: 0,
        }
    }

    /// `Put(key, value, version)`.
    pub fn put(key: &str, value: &str, version: u64) -> VersionedKvInput {
        VersionedKvInput {
            op: KvOp::Put,
            key: key.into(),
            value: value.into(),
            version,
        }
    }
}

/// A 2025 result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionedKvOutput {
    /// The value a Get read.
    pub value: String,
    /// The version a Get read.
    pub version: u64,
    /// The error (`OK` when it worked).
    pub err: KvErr,
}

impl VersionedKvOutput {
    /// A Get's result.
    pub fn get(value: &str, version: u64, err: KvErr) -> VersionedKvOutput {
        VersionedKvOutput {
            value: value.into(),
            version,
            err,
        }
    }

    /// A Put's result.
    pub fn put(err: KvErr) -> VersionedKvOutput {
        VersionedKvOutput {
            value: String::new(),
            version: 0,
            err,
        }
    }
}

/// The 2025 lab's model: per key a (value, version), initially ("", 0). A Get must return
/// the value (its version and error are not compared). A Put whose version matches is legal
/// if it answered OK or ErrMaybe, and writes the value with the next version; one whose
/// version does not match is legal if it answered ErrVersion or ErrMaybe, and changes
/// nothing. So ErrMaybe may have taken effect or not, and any other answer is illegal.
#[derive(Clone, Copy, Debug, Default)]
pub struct VersionedKvModel;

impl Model for VersionedKvModel {
    type Input = VersionedKvInput;
    type Output = VersionedKvOutput;
    type State = (String, u64);

    fn init(&self) -> (String, u64) {
        (String::new(), 0)
    }

    fn step(
        &self,
        state: &(String, u64),
        input: &VersionedKvInput,
        output: Option<&VersionedKvOutput>,
    ) -> Option<(String, u64)> {
        let matches = state.1 == input.version;
        match (input.op, output.map(|o| o.err)) {
            (KvOp::Get, _) => output
                .is_none_or(|o| o.value == state.0)
                .then(|| state.clone()),
            (KvOp::Put, None | Some(KvErr::OK | KvErr::ErrMaybe)) if matches => {
                Some((input.value.clone(), state.1 + 1))
            }
            (KvOp::Put, None | Some(KvErr::ErrVersion | KvErr::ErrMaybe)) if !matches => {
                Some(state.clone())
            }
            _ => None,
        }
    }

    /// Gets, and Puts that answered ErrVersion (legal only where the version differs, and
    /// then without effect). Not ErrMaybe, which may take effect.
    fn is_read_only(&self, input: &VersionedKvInput, output: Option<&VersionedKvOutput>) -> bool {
        input.op == KvOp::Get || output.is_some_and(|o| o.err == KvErr::ErrVersion)
    }

    fn partition(
        &self,
        history: &[Operation<VersionedKvInput, VersionedKvOutput>],
    ) -> Vec<Vec<usize>> {
        by_key(history.iter().map(|op| &op.input.key))
    }

    fn describe_operation(
        &self,
        input: &VersionedKvInput,
        output: Option<&VersionedKvOutput>,
    ) -> String {
        let key = short(&input.key);
        match (input.op, output) {
            (KvOp::Get, Some(o)) => {
                format!(
                    "get('{key}') -> ('{}', {}, {:?})",
                    short(&o.value),
                    o.version,
                    o.err
                )
            }
            (KvOp::Get, None) => format!("get('{key}') -> ?"),
            (_, Some(o)) => format!(
                "put('{key}', '{}', {}) -> {:?}",
                short(&input.value),
                input.version,
                o.err
            ),
            (_, None) => format!(
                "put('{key}', '{}', {}) -> ?",
                short(&input.value),
                input.version
            ),
        }
    }

    fn describe_partition(&self, first: &VersionedKvInput) -> String {
        format!("key '{}'", short(&first.key))
    }

    fn describe_state(&self, state: &(String, u64)) -> String {
        format!("('{}', {})", short(&state.0), state.1)
    }
}

/// Indexes grouped by key, keys in order.
fn by_key<'a>(keys: impl Iterator<Item = &'a String>) -> Vec<Vec<usize>> {
    let mut groups: BTreeMap<&String, Vec<usize>> = BTreeMap::new();
    for (i, key) in keys.enumerate() {
        groups.entry(key).or_default().push(i);
    }
    groups.into_values().collect()
}

/// Long values (appends pile up) shortened for display: the start and the end.
fn short(s: &str) -> String {
    const KEEP: usize = 24;
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= 2 * KEEP + 3 {
        return s.to_string();
    }
    let head: String = chars[..KEEP].iter().collect();
    let tail: String = chars[chars.len() - KEEP..].iter().collect();
    format!("{head}…{tail} ({} chars)", chars.len())
}
