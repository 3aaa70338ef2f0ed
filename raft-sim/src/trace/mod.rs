//! A run's trace and its digest, which proves that a seed replays bit for bit.
//!
//! Every event of a run goes through [`Trace`]: a delivered or dropped message, an apply, a
//! persist, a role or commit-index change, a crash or restart, a cut, a harness step, the
//! failure. Each is an [`Event`], from which its line in the text trace, its object in the
//! JSON-lines trace ([`JsonSink`]) and its mark on a timeline are all drawn.
//!
//! The digest mixes the delivered messages, applies and harness steps (crashes, restarts,
//! cuts and the failure count as harness steps, with the words they always had). Dropped
//! messages, role changes, persists and commit-index changes follow from those events and stay
//! out of it, so every digest is what it was before they were traced.
//!
//! Text lines are kept in memory ([`Trace::new`]) or streamed ([`Trace::to_writer`]); any
//! number of [`Sink`]s can be added ([`Trace::add_sink`]), so that a long run's trace never has
//! to fit in memory.

pub mod diff;
mod event;
mod json;
mod sink;

pub use event::{persisted, stamp, summary, Event};
pub use json::{escape_into, line as json_line, JsonSink};
pub use sink::{digest_line, header_text, Field, Sink, TextSink};

use crate::checkers::Invariant;
use crate::world::SimTime;
use event::Digested;
use raft_core::{LogIndex, Message, PersistChange, RaftNode, RoleKind, Term};
use std::fmt::{self, Write as _};
use std::io::{self, Write};

/// A sink, and the first error it returned (after which it gets nothing more).
struct Output {
    sink: Box<dyn Sink>,
    error: Option<io::Error>,
}

/// Mixes formatted text into a trace's digest (`Trace::note_display`).
struct DigestWriter<'a>(&'a mut Trace);

impl fmt::Write for DigestWriter<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.0.mix(text.as_bytes());
        Ok(())
    }
}

/// Records a run.
pub struct Trace {
    digest: u64,
    buffer: Vec<u8>,
    /// Text lines kept in memory, if asked for.
    kept: Option<Vec<String>>,
    outputs: Vec<Output>,
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trace")
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

impl Trace {
    /// A recorder; text lines are kept in memory only if `keep_lines`, the digest always.
    pub fn new(keep_lines: bool) -> Trace {
        Trace {
            digest: FNV_OFFSET,
            buffer: Vec::new(),
            kept: keep_lines.then(Vec::new),
            outputs: Vec::new(),
        }
    }

    /// A recorder that writes each text line to `out` as it happens (buffer it: lines are
    /// short).
    pub fn to_writer(out: Box<dyn Write>) -> Trace {
        Trace::new(false).with_sink(Box::new(TextSink::new(out)))
    }

    /// A recorder that writes the JSON-lines trace to `out` as it happens.
    pub fn to_json_writer(out: Box<dyn Write>) -> Trace {
        Trace::new(false).with_sink(Box::new(JsonSink::new(out)))
    }

    /// This recorder, also sending every event to `sink`.
    pub fn with_sink(mut self, sink: Box<dyn Sink>) -> Trace {
        self.add_sink(sink);
        self
    }

    /// Also sends every event from now on to `sink`.
    pub fn add_sink(&mut self, sink: Box<dyn Sink>) {
        self.outputs.push(Output { sink, error: None });
    }

    /// FNV-1a over every digested event.
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// The text lines kept in memory (empty unless [`Trace::new`] was asked to keep them).
    pub fn lines(&self) -> &[String] {
        self.kept.as_deref().unwrap_or_default()
    }

    /// Whether events are recorded at all (in memory or to a sink).
    pub fn is_recording(&self) -> bool {
        self.kept.is_some() || !self.outputs.is_empty()
    }

    /// Writes what produced the trace (its first line), without mixing it into the digest.
    pub fn header(&mut self, fields: &[(&str, Field<'_>)]) {
        if let Some(kept) = &mut self.kept {
            kept.push(header_text(fields));
        }
        self.each_sink(|sink| sink.header(fields));
    }

    /// Writes a free-form line (a header, say) without mixing it into the digest.
    pub fn comment(&mut self, text: &str) {
        if let Some(kept) = &mut self.kept {
            kept.push(text.to_string());
        }
        self.each_sink(|sink| sink.comment(text));
    }

    /// Ends the trace with its digest and flushes every sink; returns the first error any
    /// sink met, if one did. (Lines kept in memory get the digest line too.)
    pub fn finish(&mut self) -> io::Result<()> {
        let digest = self.digest;
        if let Some(kept) = &mut self.kept {
            kept.push(digest_line(digest));
        }
        self.each_sink(|sink| sink.finish(digest));
        let mut first = None;
        for output in &mut self.outputs {
            first = first.or(output.error.take());
        }
        first.map_or(Ok(()), Err)
    }

    /// Records `event` at `now`: mixes it into the digest, then hands it to every sink.
    #[inline]
    pub fn record(&mut self, now: SimTime, event: Event<'_>) {
        self.mix_event(now, &event);
        if let Some(kept) = &mut self.kept {
            if let Some(text) = event.text() {
                kept.push(format!("{} {text}", stamp(now)));
            }
        }
        self.each_sink(|sink| sink.event(now, &event));
    }

    fn each_sink(&mut self, mut write: impl FnMut(&mut dyn Sink) -> io::Result<()>) {
        for output in &mut self.outputs {
            if output.error.is_none() {
                output.error = write(output.sink.as_mut()).err();
            }
        }
    }

    #[inline]
    fn mix_event(&mut self, now: SimTime, event: &Event<'_>) {
        match event.digested() {
            Digested::No => {}
            Digested::Note(text) => {
                self.mix(&now.to_le_bytes());
                self.mix(text.as_bytes());
            }
            Digested::Message { from, to, message } => {
                let mut buffer = std::mem::take(&mut self.buffer);
                buffer.clear();
                message.encode_into(&mut buffer);
                self.mix(&now.to_le_bytes());
                self.mix(&[from as u8, to as u8]);
                self.mix(&buffer);
                self.buffer = buffer;
            }
            Digested::Apply {
                server,
                index,
                command,
            } => {
                self.mix(&now.to_le_bytes());
                self.mix(&index.0.to_le_bytes());
                self.mix(&[server as u8]);
                self.mix(command);
            }
        }
    }

    fn mix(&mut self, bytes: &[u8]) {
        let mut digest = self.digest;
        for &b in bytes {
            digest = (digest ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
        self.digest = digest;
    }

    /// A harness step or notable event, in words.
    pub fn note(&mut self, now: SimTime, text: &str) {
        self.record(now, Event::Note(text));
    }

    /// [`Trace::note`] of `text`'s display. When only the digest wants it (no lines kept, no
    /// sink), the text is mixed in as it is formatted, without building a string: the lab's
    /// `Start` notes are most of a run's notes, and building them as strings (allocation,
    /// copies) cost 6 % of a Lab 3 run's instructions. The digest is the same either way.
    pub fn note_display(&mut self, now: SimTime, text: impl fmt::Display) {
        if self.is_recording() {
            return self.note(now, &text.to_string());
        }
        self.mix(&now.to_le_bytes());
        // Writing to the digest cannot fail; only a `Display` that reports an error could.
        let _ = write!(DigestWriter(self), "{text}");
    }

    /// A message delivered from server `from` to server `to` (send time unknown).
    pub fn message(&mut self, now: SimTime, from: usize, to: usize, message: &Message) {
        self.delivered(now, None, from, to, message);
    }

    /// A message sent at `sent` by server `from`, delivered now to server `to`.
    pub fn delivered(
        &mut self,
        now: SimTime,
        sent: Option<SimTime>,
        from: usize,
        to: usize,
        message: &Message,
    ) {
        let event = Event::Deliver {
            from,
            to,
            sent,
            message,
        };
        self.record(now, event);
    }

    /// Server `server` applied `command` at `index`.
    pub fn apply(&mut self, now: SimTime, server: usize, index: LogIndex, command: &[u8]) {
        let event = Event::Apply {
            server,
            index,
            command,
        };
        self.record(now, event);
    }

    /// A message from `from` to `to` that will never be handled, and why (not digested).
    pub fn dropped(&mut self, now: SimTime, from: usize, to: usize, message: &Message, why: &str) {
        let event = Event::Drop {
            from,
            to,
            message,
            why,
        };
        self.record(now, event);
    }

    /// Server `server` changed role (not digested).
    pub fn role(&mut self, now: SimTime, server: usize, role: RoleKind, term: Term) {
        self.record(now, Event::Role { server, role, term });
    }

    /// Server `server` made `change` durable (not digested).
    pub fn persist(&mut self, now: SimTime, server: usize, change: &PersistChange) {
        self.record(now, Event::Persist { server, change });
    }

    /// Server `server`'s commit index moved to `index` (not digested; not in text traces).
    pub fn commit(&mut self, now: SimTime, server: usize, index: LogIndex) {
        self.record(now, Event::Commit { server, index });
    }

    /// Incarnation `incarnation` of server `server` started as `node`.
    pub fn start(&mut self, now: SimTime, server: usize, incarnation: u64, node: &RaftNode) {
        let event = Event::Start {
            server,
            incarnation,
            term: node.term(),
            commit: node.commit_index(),
        };
        self.record(now, event);
    }

    /// Server `server` crashed.
    pub fn crash(&mut self, now: SimTime, server: usize) {
        self.record(now, Event::Crash { server });
    }

    /// Server `server` was connected (`true`) or disconnected.
    pub fn connected(&mut self, now: SimTime, server: usize, connected: bool) {
        match connected {
            true => self.record(now, Event::Connect { server }),
            false => self.record(now, Event::Disconnect { server }),
        }
    }

    /// The network's one-way cuts became `cuts`, a topology called `name`.
    pub fn topology(&mut self, now: SimTime, name: &str, cuts: &[(usize, usize)]) {
        self.record(now, Event::Topology { name, cuts });
    }

    /// The run failed, because `why` (a checker's violation of `invariant`, if one).
    pub fn fail(&mut self, now: SimTime, why: &str, invariant: Option<Invariant>) {
        self.record(now, Event::Fail { why, invariant });
    }

    /// Server `server`'s service installed a leader's snapshot through `index`.
    pub fn install_snapshot(&mut self, now: SimTime, server: usize, index: LogIndex) {
        self.record(now, Event::InstallSnapshot { server, index });
    }

    /// Server `server`'s unsafe disk lost its last write at a crash.
    pub fn disk_lost(&mut self, now: SimTime, server: usize) {
        self.record(now, Event::DiskLost { server });
    }

    /// Server `server` crashed in a write of `of` parts, `parts` of which landed.
    pub fn torn_write(&mut self, now: SimTime, server: usize, parts: usize, of: usize) {
        self.record(now, Event::TornWrite { server, parts, of });
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

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
        traced.commit(9, 0, LogIndex(1));
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

    #[test]
    fn structured_harness_events_digest_as_the_notes_they_replaced() {
        let cuts = [(0, 1), (1, 0)];
        let mut notes = Trace::new(true);
        notes.note(1, "crash s1");
        notes.note(2, "connect s2");
        notes.note(3, "disconnect s0");
        notes.note(4, "topology split: cut [(0, 1), (1, 0)]");
        notes.note(5, "s1 installs snapshot i9");
        notes.note(6, "s1's unsafe disk lost its last write");
        notes.note(7, "s1 crashes mid-write: 1 of 3 parts durable");
        notes.note(8, "FAIL Durability violated: index 3");
        let mut events = Trace::new(true);
        events.crash(1, 1);
        events.connected(2, 2, true);
        events.connected(3, 0, false);
        events.topology(4, "split", &cuts);
        events.install_snapshot(5, 1, LogIndex(9));
        events.disk_lost(6, 1);
        events.torn_write(7, 1, 1, 3);
        let invariant = Some(Invariant::Durability);
        events.fail(8, "Durability violated: index 3", invariant);
        assert_eq!(notes.digest(), events.digest());
        assert_eq!(notes.lines(), events.lines());
    }

    /// A writer whose bytes can be read back after the trace is done with it.
    #[derive(Clone, Default)]
    struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().write(bytes)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_json_trace_has_a_header_one_object_per_event_and_the_digest() {
        let out = Shared::default();
        let mut trace = Trace::to_json_writer(Box::new(out.clone()));
        trace.header(&[
            ("producer", Field::Text("a \"test\"")),
            ("seed", Field::Number(7)),
        ]);
        let config = raft_core::Config::new(NodeId(1), vec![NodeId(0), NodeId(1)], 3);
        let node = RaftNode::new(config, None).unwrap();
        trace.start(10, 1, 2, &node);
        trace.delivered(25, Some(20), 0, 1, &vote());
        trace.commit(26, 1, LogIndex(4));
        trace.fail(30, "Election Safety violated: two leaders", None);
        trace.finish().unwrap();
        let text = String::from_utf8(out.0.borrow().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                r#"{"kind":"header","producer":"a \"test\"","seed":7}"#,
                r#"{"t":10,"kind":"start","node":1,"inc":2,"term":0,"commit":0}"#,
                concat!(
                    r#"{"t":25,"kind":"deliver","node":1,"inc":2,"from":0,"to":1,"sent":20,"#,
                    r#""msg":"RequestVote","term":2,"last_index":1,"last_term":1,"#,
                    r#""summary":"RequestVote t2 last=i1/t1"}"#
                ),
                r#"{"t":26,"kind":"commit","node":1,"inc":2,"index":4}"#,
                concat!(
                    r#"{"t":30,"kind":"fail","invariant":null,"#,
                    r#""text":"Election Safety violated: two leaders"}"#
                ),
                &format!(r#"{{"kind":"digest","digest":"{:016x}"}}"#, trace.digest()),
            ]
        );
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
