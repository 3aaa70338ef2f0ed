//! The structured trace: JSON lines, one object per event, for `jq` and for programs.
//!
//! ```text
//! {"kind":"header","producer":"raft-sim replay","test":"TestBackup3B",...,"seed":7}
//! {"t":1250,"kind":"start","node":0,"inc":1,"term":0,"commit":0}
//! {"t":512034,"kind":"deliver","from":0,"to":1,"node":1,"inc":1,"sent":512034,"msg":"AppendEntries","term":2,...,"summary":"AppendEntries t2 prev=i0/t0 n=1 commit=i0"}
//! {"kind":"digest","digest":"115f88f5bf2466e5"}
//! ```
//!
//! `t` is virtual time in microseconds; `node` is the server an event happens at (the receiver
//! of a delivered message) and `inc` that server's incarnation then; terms and indexes are plain
//! numbers. The objects are written by hand (a few lines of escaping below): the library needs
//! no JSON dependency to write its own fixed shapes.

use super::event::{appended, summary, Event};
use super::sink::{Field, Sink};
use crate::world::SimTime;
use raft_core::{AppendOutcome, ConflictHint, Message, PersistChange};
use std::fmt::Write as _;
use std::io::{self, Write};

/// Writes the JSON-lines trace to a writer.
pub struct JsonSink {
    out: Box<dyn Write>,
    /// Each server's current incarnation (0 before its first start).
    incarnations: Vec<u64>,
}

impl JsonSink {
    /// Writes to `out` (buffer it: lines are short).
    pub fn new(out: Box<dyn Write>) -> JsonSink {
        JsonSink {
            out,
            incarnations: Vec::new(),
        }
    }

    fn incarnation(&mut self, server: usize) -> &mut u64 {
        if self.incarnations.len() <= server {
            self.incarnations.resize(server + 1, 0);
        }
        &mut self.incarnations[server]
    }
}

impl Sink for JsonSink {
    fn header(&mut self, fields: &[(&str, Field<'_>)]) -> io::Result<()> {
        let mut object = Object::new().text("kind", "header");
        for &(key, value) in fields {
            object = match value {
                Field::Text(text) => object.text(key, text),
                Field::Number(n) => object.number(key, n),
            };
        }
        writeln!(self.out, "{}", object.end())
    }

    fn comment(&mut self, text: &str) -> io::Result<()> {
        let object = Object::new().text("kind", "comment").text("text", text);
        writeln!(self.out, "{}", object.end())
    }

    fn event(&mut self, now: SimTime, event: &Event<'_>) -> io::Result<()> {
        if let Event::Start {
            server,
            incarnation,
            ..
        } = *event
        {
            *self.incarnation(server) = incarnation;
        }
        let inc = event.server().map(|server| *self.incarnation(server));
        let mut line = line(now, event, inc);
        line.push('\n');
        self.out.write_all(line.as_bytes())
    }

    fn finish(&mut self, digest: u64) -> io::Result<()> {
        let digest = format!("{digest:016x}");
        let object = Object::new().text("kind", "digest").text("digest", &digest);
        writeln!(self.out, "{}", object.end())?;
        self.out.flush()
    }
}

/// One event's JSON object; `inc` is the incarnation of the server it happens at.
pub fn line(now: SimTime, event: &Event<'_>, inc: Option<u64>) -> String {
    let mut object = Object::new().number("t", now).text("kind", event.kind());
    if let (Some(server), Some(inc)) = (event.server(), inc) {
        object = object.number("node", server as u64).number("inc", inc);
    }
    match *event {
        Event::Note(text) => object.text("text", text),
        Event::Start { term, commit, .. } => {
            object.number("term", term.0).number("commit", commit.0)
        }
        Event::Crash { .. } | Event::Connect { .. } | Event::Disconnect { .. } => object,
        Event::DiskLost { .. } => object,
        Event::Topology { name, cuts } => {
            let pairs: Vec<String> = cuts.iter().map(|(a, b)| format!("[{a},{b}]")).collect();
            object
                .text("name", name)
                .raw("cuts", &format!("[{}]", pairs.join(",")))
        }
        Event::Fail { why, invariant } => match invariant {
            Some(invariant) => object.text("invariant", invariant.name()),
            None => object.raw("invariant", "null"),
        }
        .text("text", why),
        Event::Deliver {
            from,
            to,
            sent,
            message,
        } => {
            let object = object.number("from", from as u64).number("to", to as u64);
            let object = match sent {
                Some(sent) => object.number("sent", sent),
                None => object,
            };
            message_fields(object, message)
        }
        Event::Drop {
            from,
            to,
            message,
            why,
        } => {
            let object = object.number("from", from as u64).number("to", to as u64);
            message_fields(object.text("why", why), message)
        }
        Event::Apply { index, command, .. } => object
            .number("index", index.0)
            .number("bytes", command.len() as u64),
        Event::Role { role, term, .. } => object
            .text("role", &format!("{role:?}"))
            .number("term", term.0),
        Event::Persist { change, .. } => persist_fields(object, change),
        Event::Commit { index, .. } | Event::InstallSnapshot { index, .. } => {
            object.number("index", index.0)
        }
        Event::TornWrite { parts, of, .. } => {
            object.number("parts", parts as u64).number("of", of as u64)
        }
    }
    .end()
}

/// A message's kind, term, indexes and one-line summary.
fn message_fields(object: Object, message: &Message) -> Object {
    let object = object
        .text("msg", message.kind())
        .number("term", message.term().0);
    let object = match message {
        Message::RequestVote(m) => object
            .number("last_index", m.last_log_index.0)
            .number("last_term", m.last_log_term.0),
        Message::RequestVoteReply(m) => object.raw("granted", &m.granted.to_string()),
        Message::AppendEntries(m) => object
            .number("prev_index", m.prev_log_index.0)
            .number("prev_term", m.prev_log_term.0)
            .number("entries", m.entries.len() as u64)
            .number("commit", m.leader_commit.0),
        Message::AppendEntriesReply(m) => match m.outcome {
            AppendOutcome::Matched(index) => {
                object.text("outcome", "matched").number("matched", index.0)
            }
            AppendOutcome::Rejected { rejected, hint } => {
                let object = object
                    .text("outcome", "rejected")
                    .number("rejected", rejected.0);
                match hint {
                    ConflictHint::LogTooShort { next } => object.number("hint_next", next.0),
                    ConflictHint::TermMismatch { term, first_index } => object
                        .number("hint_term", term.0)
                        .number("hint_index", first_index.0),
                }
            }
            AppendOutcome::StaleTerm => object.text("outcome", "stale"),
        },
        Message::InstallSnapshot(m) => object
            .number("last_index", m.last_included_index.0)
            .number("last_term", m.last_included_term.0)
            .number("bytes", m.data.len() as u64),
        Message::InstallSnapshotReply(m) => match m.matched {
            Some(index) => object.number("matched", index.0),
            None => object.raw("matched", "null"),
        },
    };
    object.text("summary", &summary(message))
}

/// The parts of a durable change that are present.
fn persist_fields(mut object: Object, change: &PersistChange) -> Object {
    if let Some(hard) = &change.hard_state {
        object = object.number("term", hard.term.0);
        object = match hard.voted_for {
            Some(vote) => object.number("vote", vote.0),
            None => object.raw("vote", "null"),
        };
    }
    if let Some(snapshot) = &change.snapshot {
        object = object
            .number("snapshot_index", snapshot.index.0)
            .number("snapshot_term", snapshot.term.0);
    }
    if let Some(after) = change.truncate_after {
        object = object.number("truncate_after", after.0);
    }
    if let Some((first, last)) = appended(change) {
        object = object
            .number("append_first", first.0)
            .number("append_last", last.0);
    }
    object
}

/// A JSON object written field by field.
struct Object(String);

impl Object {
    fn new() -> Object {
        Object(String::from("{"))
    }

    fn key(mut self, key: &str) -> Object {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        escape_into(&mut self.0, key);
        self.0.push(':');
        self
    }

    fn number(self, key: &str, value: u64) -> Object {
        let mut object = self.key(key);
        let _ = write!(object.0, "{value}");
        object
    }

    fn text(self, key: &str, value: &str) -> Object {
        let mut object = self.key(key);
        escape_into(&mut object.0, value);
        object
    }

    /// A value already in JSON (`null`, `true`, an array of numbers).
    fn raw(self, key: &str, json: &str) -> Object {
        let mut object = self.key(key);
        object.0.push_str(json);
        object
    }

    fn end(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// Appends `text` as a JSON string: quoted, with `"`, `\` and control characters escaped
/// (RFC 8259 §7); everything else, non-ASCII included, passes through as UTF-8.
pub fn escape_into(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str) -> String {
        let mut out = String::new();
        escape_into(&mut out, text);
        out
    }

    #[test]
    fn strings_are_escaped_as_json_requires() {
        assert_eq!(escaped("plain"), r#""plain""#);
        assert_eq!(escaped(r#"say "hi" \ bye"#), r#""say \"hi\" \\ bye""#);
        assert_eq!(escaped("a\nb\tc\r\u{1}"), r#""a\nb\tc\r\u0001""#);
        assert_eq!(escaped("é ✓"), "\"é ✓\"");
    }

    #[test]
    fn objects_separate_their_fields() {
        let object = Object::new()
            .number("t", 5)
            .text("kind", "note")
            .raw("x", "null")
            .end();
        assert_eq!(object, r#"{"t":5,"kind":"note","x":null}"#);
    }
}
