//! One traced event, structured. The text line, the JSON line and the timeline all render
//! from it, and the digest mixes it the way it always has (see [`Event::digested`]).

use crate::checkers::Invariant;
use crate::world::SimTime;
use raft_core::{AppendOutcome, LogIndex, Message, PersistChange, RoleKind, Term};
use std::borrow::Cow;
use std::fmt::Write as _;

/// What happened in a run, and where. It borrows from the simulator, so that recording costs
/// nothing beyond the digest unless a trace is written.
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    /// A harness step in words (a `Start`, a phase of a swarm run).
    Note(&'a str),
    /// A new incarnation of `server` started from its disk, in `term`, with its commit index
    /// (and applied index) at `commit`.
    Start {
        /// The server.
        server: usize,
        /// Its incarnation, counted from 1.
        incarnation: u64,
        /// The term it restored.
        term: Term,
        /// Its commit index on starting (its snapshot's index).
        commit: LogIndex,
    },
    /// `server` crashed (its volatile state is gone; it is also unplugged).
    Crash {
        /// The server.
        server: usize,
    },
    /// `server` was plugged into the network (the lab's whole-server connect).
    Connect {
        /// The server.
        server: usize,
    },
    /// `server` was unplugged from the network.
    Disconnect {
        /// The server.
        server: usize,
    },
    /// The network's one-way link cuts were replaced by `cuts` (`(from, to)` pairs).
    Topology {
        /// The topology's name (`split`, `healthy`, ...).
        name: &'a str,
        /// The links that are down, one direction each.
        cuts: &'a [(usize, usize)],
    },
    /// The run failed here.
    Fail {
        /// Why: the check that failed and its evidence.
        why: &'a str,
        /// The whole-cluster invariant violated, if a checker fired.
        invariant: Option<Invariant>,
    },
    /// `message` from `from` was handled by `to`.
    Deliver {
        /// The sender.
        from: usize,
        /// The receiver.
        to: usize,
        /// When it was sent, if known.
        sent: Option<SimTime>,
        /// The message.
        message: &'a Message,
    },
    /// `message` from `from` to `to` will never be handled, because `why`.
    Drop {
        /// The sender.
        from: usize,
        /// The intended receiver.
        to: usize,
        /// The message.
        message: &'a Message,
        /// Why it is lost.
        why: &'a str,
    },
    /// `server`'s service applied `command` at `index`.
    Apply {
        /// The server.
        server: usize,
        /// The log index.
        index: LogIndex,
        /// The command.
        command: &'a [u8],
    },
    /// `server` became `role` in `term`.
    Role {
        /// The server.
        server: usize,
        /// Its new role.
        role: RoleKind,
        /// Its term.
        term: Term,
    },
    /// `server` made `change` durable.
    Persist {
        /// The server.
        server: usize,
        /// What was written.
        change: &'a PersistChange,
    },
    /// `server`'s commit index became `index`.
    Commit {
        /// The server.
        server: usize,
        /// The new commit index.
        index: LogIndex,
    },
    /// `server`'s service installed a snapshot through `index` (sent by a leader).
    InstallSnapshot {
        /// The server.
        server: usize,
        /// The snapshot's last index.
        index: LogIndex,
    },
    /// `server`'s unsafe disk lost the last write it had reported durable, at a crash.
    DiskLost {
        /// The server.
        server: usize,
    },
    /// `server` crashed inside a durable write: only `parts` of its `of` parts landed.
    TornWrite {
        /// The server.
        server: usize,
        /// Parts written.
        parts: usize,
        /// Parts the write had.
        of: usize,
    },
}

/// How an event enters the digest.
pub(super) enum Digested<'a> {
    /// Not at all: it follows from digested events (drops, roles, persists, commits).
    No,
    /// As a harness note with this text.
    Note(Cow<'a, str>),
    /// As a delivered message.
    Message {
        from: usize,
        to: usize,
        message: &'a Message,
    },
    /// As an apply.
    Apply {
        server: usize,
        index: LogIndex,
        command: &'a [u8],
    },
}

impl<'a> Event<'a> {
    /// The server this event happens at, if one.
    pub fn server(&self) -> Option<usize> {
        match *self {
            Event::Note(_) | Event::Topology { .. } | Event::Fail { .. } | Event::Drop { .. } => {
                None
            }
            Event::Deliver { to, .. } => Some(to),
            Event::Start { server, .. }
            | Event::Crash { server }
            | Event::Connect { server }
            | Event::Disconnect { server }
            | Event::Apply { server, .. }
            | Event::Role { server, .. }
            | Event::Persist { server, .. }
            | Event::Commit { server, .. }
            | Event::InstallSnapshot { server, .. }
            | Event::DiskLost { server }
            | Event::TornWrite { server, .. } => Some(server),
        }
    }

    /// The short name of the event's kind, as the JSON trace spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Note(_) => "note",
            Event::Start { .. } => "start",
            Event::Crash { .. } => "crash",
            Event::Connect { .. } => "connect",
            Event::Disconnect { .. } => "disconnect",
            Event::Topology { .. } => "topology",
            Event::Fail { .. } => "fail",
            Event::Deliver { .. } => "deliver",
            Event::Drop { .. } => "drop",
            Event::Apply { .. } => "apply",
            Event::Role { .. } => "role",
            Event::Persist { .. } => "persist",
            Event::Commit { .. } => "commit",
            Event::InstallSnapshot { .. } => "install_snapshot",
            Event::DiskLost { .. } => "disk_lost",
            Event::TornWrite { .. } => "torn_write",
        }
    }

    /// What the digest mixes. The harness's own events entered it as notes before they were
    /// structured, and still do with the same words, so that every digest stays what it was.
    #[inline]
    pub(super) fn digested(&self) -> Digested<'a> {
        let note = |text: String| Digested::Note(Cow::Owned(text));
        match *self {
            Event::Note(text) => Digested::Note(Cow::Borrowed(text)),
            Event::Start {
                server,
                incarnation,
                ..
            } => note(format!("start s{server}#{incarnation}")),
            Event::Crash { server } => note(format!("crash s{server}")),
            Event::Connect { server } => note(format!("connect s{server}")),
            Event::Disconnect { server } => note(format!("disconnect s{server}")),
            Event::Topology { name, cuts } => note(format!("topology {name}: cut {cuts:?}")),
            Event::Fail { why, .. } => note(format!("FAIL {why}")),
            Event::InstallSnapshot { server, index } => {
                note(format!("s{server} installs snapshot {index}"))
            }
            Event::DiskLost { server } => {
                note(format!("s{server}'s unsafe disk lost its last write"))
            }
            Event::TornWrite { server, parts, of } => note(format!(
                "s{server} crashes mid-write: {parts} of {of} parts durable"
            )),
            Event::Deliver {
                from, to, message, ..
            } => Digested::Message { from, to, message },
            Event::Apply {
                server,
                index,
                command,
            } => Digested::Apply {
                server,
                index,
                command,
            },
            Event::Drop { .. } | Event::Role { .. } | Event::Persist { .. } => Digested::No,
            Event::Commit { .. } => Digested::No,
        }
    }

    /// The event's line in a text trace, after its time stamp; `None` for the events only
    /// structured traces carry (commit-index changes), so that text traces read as before.
    pub fn text(&self) -> Option<String> {
        let line = match *self {
            Event::Deliver {
                from, to, message, ..
            } => format!("s{from}->s{to} {}", summary(message)),
            Event::Drop {
                from,
                to,
                message,
                why,
            } => format!("s{from}->s{to} DROPPED ({why}) {}", summary(message)),
            Event::Apply {
                server,
                index,
                command,
            } => format!("s{server} apply {index} ({} bytes)", command.len()),
            Event::Role { server, role, term } => format!("s{server} becomes {role:?} in {term}"),
            Event::Persist { server, change } => {
                format!("s{server} persist {}", persisted(change))
            }
            Event::Commit { .. } => return None,
            _ => match self.digested() {
                Digested::Note(text) => text.into_owned(),
                _ => unreachable!("every other event is digested as a note"),
            },
        };
        Some(line)
    }
}

/// The time stamp that starts a text trace line.
pub fn stamp(now: SimTime) -> String {
    format!("{:>6}.{:03}ms", now / 1000, now % 1000)
}

/// One short description of a durable change: what it touches, in the order it applies.
pub fn persisted(change: &PersistChange) -> String {
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
    if let Some((first, last)) = appended(change) {
        parts.push(format!("append={first}..={last}"));
    }
    parts.join(" ")
}

/// The first and last index a change appends, if it appends.
pub fn appended(change: &PersistChange) -> Option<(LogIndex, LogIndex)> {
    let append = change.append.as_ref()?;
    let n = append.entries.len() as u64;
    Some((
        append.first_index,
        append.first_index.plus(n.saturating_sub(1)),
    ))
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
