//! Where a trace goes: a [`Sink`] receives every event, and writes it somewhere (the text
//! trace, the JSON trace) or builds something from it (a timeline).

use super::event::{stamp, Event};
use crate::world::SimTime;
use std::cell::RefCell;
use std::io::{self, Write};
use std::rc::Rc;

/// A value in a trace's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field<'a> {
    /// Words.
    Text(&'a str),
    /// A number.
    Number(u64),
}

/// Receives a trace as it is recorded.
pub trait Sink {
    /// What produced the trace (its first line): named fields.
    fn header(&mut self, fields: &[(&str, Field<'_>)]) -> io::Result<()>;
    /// A free-form line, not an event.
    fn comment(&mut self, text: &str) -> io::Result<()>;
    /// One event, at virtual time `now`.
    fn event(&mut self, now: SimTime, event: &Event<'_>) -> io::Result<()>;
    /// The run is over; `digest` is its trace digest. Flush what is buffered.
    fn finish(&mut self, digest: u64) -> io::Result<()>;
}

/// A sink shared with whoever reads it afterwards (a timeline being built, say).
impl<S: Sink> Sink for Rc<RefCell<S>> {
    fn header(&mut self, fields: &[(&str, Field<'_>)]) -> io::Result<()> {
        self.borrow_mut().header(fields)
    }

    fn comment(&mut self, text: &str) -> io::Result<()> {
        self.borrow_mut().comment(text)
    }

    fn event(&mut self, now: SimTime, event: &Event<'_>) -> io::Result<()> {
        self.borrow_mut().event(now, event)
    }

    fn finish(&mut self, digest: u64) -> io::Result<()> {
        self.borrow_mut().finish(digest)
    }
}

/// The text trace: one line per event, `   123.456ms s0->s1 AppendEntries ...`, ending with
/// `trace digest 0123456789abcdef`.
pub struct TextSink {
    out: Box<dyn Write>,
}

impl TextSink {
    /// Writes to `out` (buffer it: lines are short).
    pub fn new(out: Box<dyn Write>) -> TextSink {
        TextSink { out }
    }
}

impl Sink for TextSink {
    fn header(&mut self, fields: &[(&str, Field<'_>)]) -> io::Result<()> {
        self.comment(&header_text(fields))
    }

    fn comment(&mut self, text: &str) -> io::Result<()> {
        writeln!(self.out, "{text}")
    }

    fn event(&mut self, now: SimTime, event: &Event<'_>) -> io::Result<()> {
        match event.text() {
            // One write per line, so that a line is written whole or not at all.
            Some(line) => self
                .out
                .write_all(format!("{} {line}\n", stamp(now)).as_bytes()),
            None => Ok(()),
        }
    }

    fn finish(&mut self, digest: u64) -> io::Result<()> {
        writeln!(self.out, "{}", digest_line(digest))?;
        self.out.flush()
    }
}

/// A header as one line of text: `trace of key=value key=value`.
pub fn header_text(fields: &[(&str, Field<'_>)]) -> String {
    let mut line = String::from("trace of");
    for (key, value) in fields {
        match value {
            Field::Text(text) => line.push_str(&format!(" {key}={text}")),
            Field::Number(n) => line.push_str(&format!(" {key}={n}")),
        }
    }
    line
}

/// The last line of a text trace.
pub fn digest_line(digest: u64) -> String {
    format!("trace digest {digest:016x}")
}
