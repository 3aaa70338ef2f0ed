//! Where two traces part: the first event at which they differ, with the events before it.
//!
//! Two runs of one seed before and after a change to the core, or two seeds of one test, agree
//! event for event up to some point; what happens there is usually the whole story. Traces are
//! compared line by line (JSON or text alike), streamed, in constant memory. Header and comment
//! lines, which name the run rather than describe it, are set aside and reported on their own.

use crate::world::SimTime;
use std::collections::VecDeque;
use std::io::{self, BufRead};

/// The first difference between two traces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// Events both traces share before they part.
    pub common: u64,
    /// The last few of those shared events, oldest first.
    pub before: VecDeque<String>,
    /// Trace A from the first differing event on, a few events (empty if A ended there).
    pub a: Vec<String>,
    /// Trace B likewise.
    pub b: Vec<String>,
    /// The line numbers (from 1) of the first differing line in A and in B.
    pub lines: (u64, u64),
}

/// What comparing two traces found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparison {
    /// The header and comment lines of A and of B.
    pub headers: (Vec<String>, Vec<String>),
    /// `None` if every event is the same (the digest lines included).
    pub divergence: Option<Divergence>,
    /// Events compared in all.
    pub events: u64,
}

/// One trace being read: its event lines, with header and comment lines set aside.
struct Reader<R> {
    input: R,
    line_number: u64,
    headers: Vec<String>,
}

impl<R: BufRead> Reader<R> {
    fn new(input: R) -> Reader<R> {
        Reader {
            input,
            line_number: 0,
            headers: Vec::new(),
        }
    }

    /// The next event line and its line number, or `None` at the end.
    fn next_event(&mut self) -> io::Result<Option<(u64, String)>> {
        loop {
            let mut line = String::new();
            if self.input.read_line(&mut line)? == 0 {
                return Ok(None);
            }
            self.line_number += 1;
            let line = line.trim_end_matches(['\n', '\r']).to_string();
            if is_meta(&line) {
                self.headers.push(line);
            } else {
                return Ok(Some((self.line_number, line)));
            }
        }
    }

    /// Up to `n` more event lines.
    fn take(&mut self, n: usize) -> io::Result<Vec<String>> {
        let mut lines = Vec::new();
        while lines.len() < n {
            match self.next_event()? {
                Some((_, line)) => lines.push(line),
                None => break,
            }
        }
        Ok(lines)
    }
}

/// Whether a line names the run rather than records an event: a JSON header or comment, or a
/// text line without a time stamp that is not the digest.
fn is_meta(line: &str) -> bool {
    if line.starts_with('{') {
        return line.starts_with(r#"{"kind":"header""#) || line.starts_with(r#"{"kind":"comment""#);
    }
    !line.starts_with("trace digest ") && text_time(line).is_none()
}

/// Compares traces `a` and `b`; a divergence keeps `context` events on each side.
pub fn compare(a: impl BufRead, b: impl BufRead, context: usize) -> io::Result<Comparison> {
    let (mut a, mut b) = (Reader::new(a), Reader::new(b));
    let mut before = VecDeque::new();
    let mut common = 0;
    let divergence = loop {
        match (a.next_event()?, b.next_event()?) {
            (None, None) => break None,
            (Some((_, x)), Some((_, y))) if x == y => {
                common += 1;
                before.push_back(x);
                if before.len() > context {
                    before.pop_front();
                }
            }
            (x, y) => {
                let lines = (
                    x.as_ref().map_or(a.line_number + 1, |(n, _)| *n),
                    y.as_ref().map_or(b.line_number + 1, |(n, _)| *n),
                );
                let rest = context.saturating_sub(1);
                let mut side_a: Vec<String> = x.into_iter().map(|(_, l)| l).collect();
                side_a.extend(a.take(rest)?);
                let mut side_b: Vec<String> = y.into_iter().map(|(_, l)| l).collect();
                side_b.extend(b.take(rest)?);
                break Some(Divergence {
                    common,
                    before,
                    a: side_a,
                    b: side_b,
                    lines,
                });
            }
        }
    };
    Ok(Comparison {
        events: common,
        headers: (a.headers, b.headers),
        divergence,
    })
}

/// The virtual time of an event line, JSON (`{"t":1234,...`) or text (`     1.234ms ...`).
pub fn event_time(line: &str) -> Option<SimTime> {
    match line.strip_prefix(r#"{"t":"#) {
        Some(rest) => {
            let digits = rest.split(|c: char| !c.is_ascii_digit()).next()?;
            digits.parse().ok()
        }
        None => text_time(line),
    }
}

/// The time stamp of a text trace line: `   123.456ms ` (milliseconds with 3 decimals).
fn text_time(line: &str) -> Option<SimTime> {
    let (stamp, _) = line.trim_start().split_once("ms ")?;
    let (ms, us) = stamp.split_once('.')?;
    if us.len() != 3 {
        return None;
    }
    let ms: SimTime = ms.parse().ok()?;
    let us: SimTime = us.parse().ok()?;
    Some(ms * 1000 + us)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> io::Cursor<Vec<u8>> {
        io::Cursor::new(text.as_bytes().to_vec())
    }

    #[test]
    fn identical_traces_do_not_diverge_whatever_their_headers() {
        let a = "{\"kind\":\"header\",\"seed\":1}\n{\"t\":1,\"kind\":\"note\"}\n";
        let b = "{\"kind\":\"header\",\"seed\":2}\n{\"t\":1,\"kind\":\"note\"}\n";
        let found = compare(lines(a), lines(b), 3).unwrap();
        assert_eq!(found.divergence, None);
        assert_eq!(found.events, 1);
        assert_eq!(found.headers.0, vec!["{\"kind\":\"header\",\"seed\":1}"]);
    }

    #[test]
    fn the_first_differing_event_comes_with_context_on_both_sides() {
        let a = "trace of x\n     0.001ms a\n     0.002ms b\n     0.003ms c\n     0.004ms d\n";
        let b = "trace of y\n     0.001ms a\n     0.002ms b\n     0.003ms X\n     0.004ms d\n";
        let found = compare(lines(a), lines(b), 2).unwrap();
        let divergence = found.divergence.expect("they differ");
        assert_eq!(divergence.common, 2);
        assert_eq!(divergence.before, ["     0.001ms a", "     0.002ms b"]);
        assert_eq!(divergence.a, ["     0.003ms c", "     0.004ms d"]);
        assert_eq!(divergence.b, ["     0.003ms X", "     0.004ms d"]);
        assert_eq!(divergence.lines, (4, 4));
        assert_eq!(event_time(&divergence.a[0]), Some(3));
    }

    #[test]
    fn a_trace_that_ends_early_diverges_where_it_ends() {
        let a = "{\"t\":5,\"kind\":\"a\"}\n";
        let b = "{\"t\":5,\"kind\":\"a\"}\n{\"t\":7,\"kind\":\"b\"}\n";
        let divergence = compare(lines(a), lines(b), 3).unwrap().divergence.unwrap();
        assert!(divergence.a.is_empty());
        assert_eq!(divergence.b, ["{\"t\":7,\"kind\":\"b\"}"]);
        assert_eq!(divergence.lines, (2, 2));
        assert_eq!(event_time(&divergence.b[0]), Some(7));
    }
}
