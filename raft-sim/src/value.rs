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
    /// The empty command a leader appends on taking office when ReadIndex is on (raft-core's
    /// no-op); tests never propose it, and it encodes to no bytes at all.
    NoOp,
}

impl Value {
    /// The command bytes handed to Raft.
    pub fn encode(&self) -> SharedBytes {
        match self {
            Value::NoOp => SharedBytes::from(&[][..]),
            _ => postcard::to_stdvec(self)
                .expect("encoding cannot fail")
                .into(),
        }
    }

    /// Decodes command bytes; `None` if they are not a tester value.
    pub fn decode(bytes: &[u8]) -> Option<Value> {
        match bytes {
            [] => Some(Value::NoOp),
            _ => postcard::from_bytes(bytes).ok(),
        }
    }

    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(x) => Some(*x),
            Value::Str(_) | Value::NoOp => None,
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
            Value::NoOp => write!(f, "no-op"),
            Value::Str(s) => {
                // Cut at a character boundary: a byte offset could split a UTF-8 sequence.
                let chars = s.chars().count();
                match s.char_indices().nth(DISPLAY_CHARS) {
                    Some((cut, _)) => write!(f, "{:?}…({chars} chars)", &s[..cut]),
                    None => write!(f, "{s:?}"),
                }
            }
        }
    }
}

/// How many characters of a string command a message shows.
const DISPLAY_CHARS: usize = 16;

#[cfg(test)]
mod tests {
    use super::Value;

    #[test]
    fn long_strings_are_cut_at_sixteen_characters_not_bytes() {
        let text = "aéééééééééééééééééé"; // 2-byte characters from byte 1 on
        let shown = Value::Str(text.into()).to_string();
        assert_eq!(shown, "\"aééééééééééééééé\"…(19 chars)");
        let emoji = Value::Str("🦀".repeat(20)).to_string();
        assert_eq!(emoji, format!("{:?}…(20 chars)", "🦀".repeat(16)));
    }

    #[test]
    fn short_strings_and_integers_are_shown_whole() {
        // 9 characters in 17 bytes: once sliced at byte 16, inside the last 'é'.
        assert_eq!(Value::Str("aéééééééé".into()).to_string(), "\"aéééééééé\"");
        assert_eq!(
            Value::Str("x".repeat(16)).to_string(),
            format!("{:?}", "x".repeat(16))
        );
        assert_eq!(Value::Int(-7).to_string(), "-7");
    }
}
