//! An optional trace of a run (one line per delivered message, apply and harness step) and an
//! always-on digest of the same events, which proves that a seed replays bit for bit.

use crate::world::SimTime;
use raft_core::{AppendOutcome, LogIndex, Message};
use std::fmt::Write;

/// Records a run.
#[derive(Debug)]
pub struct Trace {
    lines: Option<Vec<String>>,
    digest: u64,
    buffer: Vec<u8>,
}

impl Trace {
    /// A recorder; lines are kept only if `keep_lines`, the digest always.
    pub fn new(keep_lines: bool) -> Trace {
        Trace {
            lines: keep_lines.then(Vec::new),
            digest: FNV_OFFSET,
            buffer: Vec::new(),
        }
    }

    /// FNV-1a over every recorded event.
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// The recorded lines (empty unless kept).
    pub fn lines(&self) -> &[String] {
        self.lines.as_deref().unwrap_or(&[])
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
        if let Some(lines) = &mut self.lines {
            lines.push(format!("{} {text}", stamp(now)));
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
        if let Some(lines) = &mut self.lines {
            lines.push(format!(
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
        if let Some(lines) = &mut self.lines {
            lines.push(format!(
                "{} s{server} apply {index} ({} bytes)",
                stamp(now),
                command.len()
            ));
        }
    }
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
    };
    s
}
