//! The commands the lab's tests replicate: integers and strings, encoded with postcard.

use raft_core::SharedBytes;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A tester command (Go's `interface{}` holding an `int` or a `string`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Value {
    /// An integer command.
    Int(i64),
    /// A string command.
    Str(String),
}

impl Value {
    /// The command bytes handed to Raft.
    pub fn encode(&self) -> SharedBytes {
        postcard::to_stdvec(self)
            .expect("encoding cannot fail")
            .into()
    }

    /// Decodes command bytes; `None` if they are not a tester value.
    pub fn decode(bytes: &[u8]) -> Option<Value> {
        postcard::from_bytes(bytes).ok()
    }

    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(x) => Some(*x),
            Value::Str(_) => None,
        }
    }
}

impl From<i64> for Value {
    fn from(x: i64) -> Value {
        Value::Int(x)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(x) => write!(f, "{x}"),
            Value::Str(s) if s.len() > 16 => write!(f, "{:?}…({} chars)", &s[..16], s.len()),
            Value::Str(s) => write!(f, "{s:?}"),
        }
    }
}
