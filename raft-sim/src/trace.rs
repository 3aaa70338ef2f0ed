//! An optional trace of a run (one line per delivered or dropped message, apply, persist, role
//! change and harness step) and an always-on digest, which proves that a seed replays bit for
//! bit.
//!
//! The digest mixes the delivered messages, applies and harness steps. Dropped messages, role
//! changes and persists are traced as lines only: they follow from the digested events, and
//! leaving them out keeps every digest what it was before they were traced.
//!
//! Lines are kept in memory ([`Trace::new`]) or streamed to a writer ([`Trace::to_writer`]), so
//! that a long run's trace never has to fit in memory.

use crate::world::SimTime;
use raft_core::{AppendOutcome, LogIndex, Message, PersistChange, RoleKind, Term};
use std::fmt::Write as _;
use std::io::{self, Write};

/// Where trace lines go.
enum Lines {
    Off,
    Memory(Vec<String>),
    /// Streamed; after the first write error nothing more is written and the error is kept.
    Stream {
        out: Box<dyn Write>,
        error: Option<io::Error>,
    },
}

/// Records a run.
pub struct Trace {
    lines: Lines,
    digest: u64,
    buffer: Vec<u8>,
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trace")
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

impl Trace {
    /// A recorder; lines are kept in memory only if `keep_lines`, the digest always.
    pub fn new(keep_lines: bool) -> Trace {
        let lines = if keep_lines {
            Lines::Memory(Vec::new())
        } else {
            Lines::Off
        };
        Trace {
            lines,
            digest: FNV_OFFSET,
            buffer: Vec::new(),
        }
    }

    /// A recorder that writes each line to `out` as it happens (buffer it: lines are short).
    pub fn to_writer(out: Box<dyn Write>) -> Trace {
        Trace {
            lines: Lines::Stream { out, error: None },
            ..Trace::new(false)
        }
    }

    /// FNV-1a over every recorded event.
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// The lines kept in memory (empty unless [`Trace::new`] was asked to keep them).
    pub fn lines(&self) -> &[String] {
        match &self.lines {
            Lines::Memory(lines) => lines,
            _ => &[],
        }
    }

    /// Whether lines are recorded at all (in memory or streamed).
    pub fn is_recording(&self) -> bool {
        !matches!(self.lines, Lines::Off)
    }

    /// Writes a free-form line (a header, say) without mixing it into the digest.
    pub fn comment(&mut self, text: &str) {
        self.push(text.to_string());
    }

    /// Ends a streamed trace with its digest line and flushes it; returns the first write
    /// error, if any. (A trace kept in memory gets the digest line too.)
    pub fn finish(&mut self) -> io::Result<()> {
        let digest = format!("trace digest {:016x}", self.digest);
        self.push(digest);
        match &mut self.lines {
            Lines::Stream { out, error } => match error.take() {
                Some(e) => Err(e),
                None => out.flush(),
            },
            _ => Ok(()),
        }
    }

    fn push(&mut self, line: String) {
        match &mut self.lines {
            Lines::Off => {}
            Lines::Memory(lines) => lines.push(line),
            Lines::Stream { out, error } => {
                if error.is_none() {
                    if let Err(e) = writeln!(out, "{line}") {
                        *error = Some(e);
                    }
                }
            }
        }
    }

    fn mix(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.digest = (self.digest ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
    }

    /// A harness step or notable event.
    pub fn note(&mut self, now: SimTime, text: &str) {
        self.mix(&now.to_le_bytes());
        self.mix(text.as_bytes());
        if self.is_recording() {
            self.push(format!("{} {text}", stamp(now)));
        }
    }

    /// A message delivered from server `from` to server `to`.
    pub fn message(&mut self, now: SimTime, from: usize, to: usize, message: &Message) {
        let mut buffer = std::mem::take(&mut self.buffer);
        buffer.clear();
        message.encode_into(&mut buffer);
        self.mix(&now.to_le_bytes());
        self.mix(&[from as u8, to as u8]);
        self.mix(&buffer);
        self.buffer = buffer;
        if self.is_recording() {
            self.push(format!(
                "{} s{from}->s{to} {}",
                stamp(now),
                summary(message)
            ));
        }
    }

    /// Server `server` applied `command` at `index`.
    pub fn apply(&mut self, now: SimTime, server: usize, index: LogIndex, command: &[u8]) {
        self.mix(&now.to_le_bytes());
        self.mix(&index.0.to_le_bytes());
        self.mix(&[server as u8]);
        self.mix(command);
        if self.is_recording() {
            let bytes = command.len();
            self.push(format!(
                "{} s{server} apply {index} ({bytes} bytes)",
                stamp(now)
            ));
        }
    }

    /// A message from `from` to `to` that will never be handled, and why (line only).
    pub fn dropped(&mut self, now: SimTime, from: usize, to: usize, message: &Message, why: &str) {
        if self.is_recording() {
            let what = summary(message);
            self.push(format!(
                "{} s{from}->s{to} DROPPED ({why}) {what}",
                stamp(now)
            ));
        }
    }

    /// Server `server` changed role (line only).
    pub fn role(&mut self, now: SimTime, server: usize, role: RoleKind, term: Term) {
        if self.is_recording() {
            self.push(format!(
                "{} s{server} becomes {role:?} in {term}",
                stamp(now)
            ));
        }
    }

    /// Server `server` made `change` durable (line only).
    pub fn persist(&mut self, now: SimTime, server: usize, change: &PersistChange) {
        if self.is_recording() {
            self.push(format!(
                "{} s{server} persist {}",
                stamp(now),
                persisted(change)
            ));
        }
    }
}

/// One short description of a durable change: what it touches, in the order it applies.
fn persisted(change: &PersistChange) -> String {
    let mut parts = Vec::new();
    if let Some(hard) = &change.hard_state {
        let vote = hard.voted_for.map_or("none".to_string(), |v| v.to_string());
        parts.push(format!("term={} vote={vote}", hard.term));
    }
    if let Some(snapshot) = &change.snapshot {
        parts.push(format!("snapshot={}/{}", snapshot.index, snapshot.term));
    }
    if let Some(after) = change.truncate_after {
        parts.push(format!("truncate-after={after}"));
    }
    if let Some(append) = &change.append {
        let n = append.entries.len() as u64;
        let last = append.first_index.plus(n.saturating_sub(1));
        parts.push(format!("append={}..={last}", append.first_index));
    }
    parts.join(" ")
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

fn stamp(now: SimTime) -> String {
    format!("{:>6}.{:03}ms", now / 1000, now % 1000)
}

/// One short line per message.
pub fn summary(message: &Message) -> String {
    let mut s = String::new();
    let _ = match message {
        Message::RequestVote(m) => write!(
            s,
            "RequestVote {} last={}/{}",
            m.term, m.last_log_index, m.last_log_term
        ),
        Message::RequestVoteReply(m) => write!(s, "VoteReply {} granted={}", m.term, m.granted),
        Message::AppendEntries(m) => write!(
            s,
            "AppendEntries {} prev={}/{} n={} commit={}",
            m.term,
            m.prev_log_index,
            m.prev_log_term,
            m.entries.len(),
            m.leader_commit
        ),
        Message::AppendEntriesReply(m) => match m.outcome {
            AppendOutcome::Matched(i) => write!(s, "AppendReply {} matched={i}", m.term),
            AppendOutcome::Rejected { rejected, hint } => {
                write!(s, "AppendReply {} rejected={rejected} {hint:?}", m.term)
            }
            AppendOutcome::StaleTerm => write!(s, "AppendReply {} stale", m.term),
        },
        Message::InstallSnapshot(m) => write!(
            s,
            "InstallSnapshot {} last={}/{} {} bytes",
            m.term,
            m.last_included_index,
            m.last_included_term,
            m.data.len()
        ),
        Message::InstallSnapshotReply(m) => {
            write!(s, "SnapshotReply {} matched={:?}", m.term, m.matched)
        }
        Message::PreVote(m) => write!(
            s,
            "PreVote {} last={}/{}",
            m.term, m.last_log_index, m.last_log_term
        ),
        Message::PreVoteReply(m) => write!(s, "PreVoteReply {} granted={}", m.term, m.granted),
        Message::TimeoutNow(m) => write!(s, "TimeoutNow {}", m.term),
        Message::TransferVote(m) => write!(
            s,
            "TransferVote {} last={}/{}",
            m.term, m.last_log_index, m.last_log_term
        ),
        Message::Heartbeat(m) => write!(s, "Heartbeat {} round={}", m.term, m.round),
        Message::HeartbeatReply(m) => write!(s, "HeartbeatReply {} round={}", m.term, m.round),
        Message::ReadIndex(m) => write!(s, "ReadIndex {} id={}", m.term, m.id),
        Message::ReadIndexResponse(m) => {
            write!(s, "ReadIndexResponse {} id={} {:?}", m.term, m.id, m.index)
        }
    };
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft_core::{HardState, NodeId, RequestVote};

    fn vote() -> Message {
        Message::RequestVote(RequestVote {
            term: Term(2),
            last_log_index: LogIndex(1),
            last_log_term: Term(1),
        })
    }

    #[test]
    fn derived_events_are_traced_but_leave_the_digest_alone() {
        let mut plain = Trace::new(false);
        let mut traced = Trace::new(true);
        for trace in [&mut plain, &mut traced] {
            trace.note(5, "start s0#1");
            trace.message(7, 0, 1, &vote());
        }
        let change = PersistChange {
            hard_state: Some(HardState {
                term: Term(2),
                voted_for: Some(NodeId(0)),
            }),
            ..PersistChange::default()
        };
        traced.dropped(8, 0, 2, &vote(), "lost");
        traced.role(9, 0, RoleKind::Leader, Term(2));
        traced.persist(9, 0, &change);
        assert_eq!(plain.digest(), traced.digest());
        let lines = traced.lines().join("\n");
        assert!(
            lines.contains("s0->s2 DROPPED (lost) RequestVote t2"),
            "{lines}"
        );
        assert!(lines.contains("s0 becomes Leader in t2"), "{lines}");
        assert!(lines.contains("s0 persist term=t2 vote=n0"), "{lines}");
        assert!(plain.lines().is_empty());
    }

    /// A writer that takes `room` bytes, then fails as a full disk does.
    struct Full {
        room: usize,
        written: std::rc::Rc<std::cell::RefCell<Vec<u8>>>,
    }

    impl Write for Full {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            if bytes.len() > self.room {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "full"));
            }
            self.room -= bytes.len();
            self.written.borrow_mut().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_streamed_trace_reports_its_first_write_error_and_stops_writing() {
        let written = std::rc::Rc::default();
        let full = Full {
            room: 40,
            written: std::rc::Rc::clone(&written),
        };
        let mut trace = Trace::to_writer(Box::new(full));
        trace.comment("header");
        for at in 0..10 {
            trace.note(at, "a step that does not fit for long");
        }
        let error = trace.finish().expect_err("the disk filled up");
        assert_eq!(error.kind(), io::ErrorKind::StorageFull);
        assert_eq!(String::from_utf8_lossy(&written.borrow()), "header\n");
    }
}
