//! # Embedding the core in a real process
//!
//! What a driver with a clock, sockets and a disk must get right, beyond "carry out the actions
//! in order". The example `kv` (`raft-core/examples/kv/`) does all of it: a key/value server on
//! tokio with TCP between peers and for clients, a write-ahead log per node with group commit,
//! compaction, and restart from disk; `tests/tests/real_cluster/` kills and restarts its
//! processes under concurrent clients and checks the history for linearizability.
//!
//! ## The loop: group commit
//!
//! ```text
//! loop {
//!     wait for an input (a message, a client request) or the next tick;
//!     take every other input that is ready as well;
//!     actions = node.step_many(those events);        // one merged Persist, first
//!     append the Persist as a log record, fsync;     // one fsync for the whole group
//!     carry out the other actions in order;          // sends, applies, answers
//! }
//! ```
//!
//! While one group's fsync runs, the next group's inputs queue up, so a loaded node pays one
//! fsync per group rather than per event. [`RaftNode::step_many`](crate::RaftNode::step_many)
//! is exactly `step` on each event with the group's messages held back until the write is
//! done, which Raft tolerates like any network delay. Anything can go into a group: messages,
//! proposals, ticks, [`Event::Persisted`](crate::Event::Persisted) reports, a service
//! snapshot. Put inputs that may depose the leader (messages) before proposals, so proposals
//! are answered by the node's latest view; [`Event::ProposeBatch`](crate::Event::ProposeBatch)
//! turns all of a group's client requests into one append with one answer.
//!
//! ## What must be durable before what
//!
//! - [`Action::Persist`](crate::Action::Persist) comes first in a call's actions and must be
//!   durable (written *and* fsynced) before *any* later action is carried out, of this call or
//!   a later one. A vote sent before it is durable can be forgotten in a crash, and the node
//!   can then vote twice in one term (two leaders, §5.2); an acknowledgement sent before the
//!   entries are durable can count toward a commit that a crash then undoes (§5.4).
//! - A driver may keep stepping the node while a write is under way, provided writes become
//!   durable in the order the node handed them out and each call's actions wait for every
//!   write handed out up to that call.
//! - [`Action::PersistAsync`](crate::Action::PersistAsync) (only with
//!   [`Config::pipelined_persistence`](crate::Config::pipelined_persistence)): a leader's own
//!   new entries. Start the write, carry out the actions after it without waiting (its
//!   `AppendEntries` may leave at once), and once it is durable feed back `Event::Persisted
//!   { index, term }`. It is still ordered with the other writes: a later `Persist` may be
//!   reported durable only once this one is.
//! - [`wal`](crate::wal) gives records a byte format with a checksum, so that a log file is
//!   "append, fsync, and on start replay up to the first torn record".
//!
//! ## Restart and the service's snapshot
//!
//! On restart, rebuild the [`PersistentState`](crate::PersistentState) from disk (e.g.
//! [`wal::replay`](crate::wal::replay)) and pass it to
//! [`RaftNode::new`](crate::RaftNode::new). The node starts with its commit and applied
//! indexes at the snapshot's index and **does not** hand the snapshot out as an
//! `ApplySnapshot`: the service must restore itself from `state.snapshot.data` (when
//! `state.snapshot.index` is above 0) before it handles the first `Apply`, which will be for
//! `state.snapshot.index + 1`. The entries after the snapshot are applied again as the node
//! relearns the commit index from the leader, so the service's state (duplicate-detection
//! table included) must be rebuilt only from the snapshot and the applied entries.
//! `ApplySnapshot` is only for a snapshot received from a leader while running.
//!
//! The service compacts by feeding [`Event::Snapshot`](crate::Event::Snapshot) with its state
//! through an applied index; the resulting `Persist` carries the snapshot, and a log store
//! typically rewrites its file then (the state as one record,
//! [`PersistChange::from_state`](crate::PersistChange::from_state), written to a temporary
//! file, fsynced, renamed over the log, and the directory fsynced).
//!
//! ## Seeds
//!
//! [`Config::seed`](crate::Config::seed) seeds the only random generator, which draws election
//! timeouts. Give every node its own seed, and a restarted node a fresh one: nodes with equal
//! seeds draw equal timeouts, so nodes started together time out together, all stand for
//! election in the same tick, split the vote and do it again next term, indefinitely. A real process
//! can mix its node id with something that differs per start (the time, the process id); log
//! the seed if you want to replay a run.
//!
//! ## Ticks: their length, and late or bunched ticks
//!
//! A tick is whatever duration the driver feeds [`Event::Tick`](crate::Event::Tick) at.
//! [`Config::new`](crate::Config::new)'s defaults assume 10 ms: heartbeats every 10 ticks
//! (100 ms) and election timeouts of 30 to 60 ticks (300–600 ms). The timeouts must stay well
//! above a round trip plus an fsync, or followers stand for election while the leader is
//! merely slow (§5.6: broadcast time ≪ election timeout).
//!
//! Safety depends on ticks only with [`Config::lease_reads`](crate::Config::lease_reads);
//! otherwise ticks that come late, early, bunched or not at all only change *when* elections
//! and heartbeats happen. When the process wakes up late (a pause of the runtime, a slow
//! fsync), it has a choice:
//! - **Skip the missed ticks** (feed one, then keep the period): the node's clock runs slow
//!   for a moment. A slow follower waits longer before an election, a slow leader heartbeats
//!   later. This is the safe default without leases; the example does it.
//! - **Feed the missed ticks** at once: a follower whose timeout expired during the pause
//!   starts an election right away, even if the leader's heartbeats are sitting unread in its
//!   socket. If you catch up, feed the pending messages *before* the ticks (one `step_many`
//!   group, messages first), and cap the catch-up well below an election timeout. A leader
//!   fed N ticks sends a heartbeat per `heartbeat_ticks` of them, all at once.
//!
//! With lease reads the leader's ticks measure its lease, so a leader must never lose ticks:
//! a skipped tick makes it believe its lease lasts longer than it does, and it may answer a
//! read after another leader was elected. Feed a leader every tick that elapsed (followers
//! may still skip: their late ticks only make them refuse votes for longer), and set
//! [`Config::clock_drift_percent`](crate::Config::clock_drift_percent) to a bound your clocks
//! really keep. If you cannot promise either, use ReadIndex alone.
//!
//! ## Reads
//!
//! - Through the log: propose the read as a command and answer it when it is applied. Always
//!   linearizable, at the cost of a write.
//! - [`Event::ReadIndex`](crate::Event::ReadIndex) with
//!   [`Config::read_index`](crate::Config::read_index) (thesis §6.4): the leader confirms it
//!   still leads with one round of heartbeats and answers with an index; serve the read once
//!   the service has applied that index. No disk write.
//! - [`Config::lease_reads`](crate::Config::lease_reads) (with CheckQuorum and ReadIndex):
//!   the leader answers at once while its lease holds; needs the clock promise above.
//!
//! A read answered from a node's local state without one of these can be stale: a deposed
//! leader does not know it is deposed until it hears of the newer term.
//!
//! ## Membership changes
//!
//! - Start a server that joins a running cluster with empty
//!   [`Config::peers`](crate::Config::peers), then add it on the leader with
//!   [`Event::ChangeMembership`](crate::Event::ChangeMembership), as a learner first; promote
//!   it once it has applied what the leader committed. Keep `peers` as it was on restarts:
//!   once a configuration is in the log or the snapshot, that one decides.
//! - On [`Action::MembershipChanged`](crate::Action::MembershipChanged), open connections to
//!   the new members; connections to removed ones may close (they get no more messages).
//! - The service skips configuration entries ([`Entry::membership`](crate::Entry::membership)
//!   is `Some`) but counts their indexes like any other.
//! - Never reuse the id of a server that lost its durable state: give the replacement a new
//!   id. A reply that the old server sent before it was removed may still be on the way, and
//!   the leader would credit the new server with entries only the old one held.
//! - Stop removed servers, or run every server with
//!   [`Config::pre_vote`](crate::Config::pre_vote) (and preferably
//!   [`Config::check_quorum`](crate::Config::check_quorum)). A server removed while it was
//!   down or cut off never learns it was removed: it stands for election in its old
//!   configuration, raising its term each time, and deposes any leader it reaches. Adding
//!   such a server back with its disk needs PreVote: without it, the candidates whose
//!   majority needs its vote can stay a term behind it for good (the simulator's swarm shows
//!   this with a two-voter configuration and a faster clock on the stale server).
