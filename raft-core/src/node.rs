//! The node: its state, the `step` entry point and the term prelude shared by every role.

use crate::config::{Config, ConfigError};
use crate::io::{Action, Event};
use crate::leader::Leader;
use crate::log::RaftLog;
use crate::membership::Membership;
use crate::message::Message;
use crate::persist::{HardState, LogAppend, PersistChange, PersistentState};
use crate::read_index::ForwardedRead;
use crate::types::{Entry, LogIndex, NodeId, Term};
use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Which role a node plays (§5.1), without the role's private data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RoleKind {
    /// Follows a leader, or waits for one.
    Follower,
    /// Asking whether it could win an election, before standing (PreVote, thesis §9.6).
    PreCandidate,
    /// Asking for votes.
    Candidate,
    /// Replicates the log.
    Leader,
}

/// Role-only data lives inside the variant, so follower code cannot touch leader state.
#[derive(Debug)]
pub(crate) enum Role {
    Follower,
    PreCandidate(Candidate),
    Candidate(Candidate),
    Leader(Leader),
}

/// Votes (or pre-votes) granted to this node in the current term, itself included.
#[derive(Debug)]
pub(crate) struct Candidate {
    pub(crate) votes: Vec<NodeId>,
}

/// One Raft server: a deterministic state machine driven by [`step`](RaftNode::step).
///
/// ```
/// use raft_core::{Action, Config, Event, NodeId, RaftNode};
///
/// let config = Config::new(NodeId(1), vec![NodeId(1)], 7);
/// let mut node = RaftNode::new(config, None).unwrap();
/// while !node.is_leader() {
///     node.step(Event::Tick);
/// }
/// let actions = node.step(Event::Propose { command: b"x".as_slice().into() });
/// assert!(matches!(actions[0], Action::Persist(_)));
/// assert!(actions.iter().any(|a| matches!(a, Action::Apply { .. })));
/// ```
#[derive(Debug)]
pub struct RaftNode {
    pub(crate) config: Config,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) hard_state: HardState,
    pub(crate) log: RaftLog,
    pub(crate) commit_index: LogIndex,
    pub(crate) last_applied: LogIndex,
    pub(crate) role: Role,
    pub(crate) leader: Option<NodeId>,
    pub(crate) election_elapsed_ticks: u32,
    pub(crate) election_timeout_ticks: u32,
    /// Ticks since this incarnation started: the node's own clock (leases, stickiness).
    pub(crate) clock: u64,
    /// The clock when a leader of the current term last reached us (see `check_quorum`).
    pub(crate) last_leader_contact: Option<u64>,
    /// Reads this node forwarded to the leader and has not answered yet (see `read_index`).
    pub(crate) forwarded: Vec<ForwardedRead>,
    /// The configuration from `Config::peers`, in force while the log holds none (§6).
    pub(crate) bootstrap: Membership,
    /// The configuration in force: the latest in the log, else the bootstrap one (thesis
    /// §4.1). Kept in step with the log by `refresh_membership`.
    pub(crate) membership: Membership,
    /// Actions of the current `step`, except the durable change, which goes first at the end.
    pub(crate) out: Vec<Action>,
    pub(crate) pending: PersistChange,
}

impl RaftNode {
    /// Builds a node, fresh or from what it persisted before a crash. Commit and applied
    /// indexes are volatile: a restored node starts them at its snapshot and learns the rest.
    pub fn new(config: Config, restored: Option<PersistentState>) -> Result<RaftNode, ConfigError> {
        config.validate()?;
        let state = restored.unwrap_or_default();
        state.validate().map_err(ConfigError::Restored)?;
        let snapshot_index = state.snapshot.index;
        let bootstrap = Membership::new(config.peers.clone(), Vec::new());
        let mut node = RaftNode {
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            config,
            hard_state: state.hard_state,
            log: RaftLog::new(state.snapshot, state.entries),
            commit_index: snapshot_index,
            last_applied: snapshot_index,
            role: Role::Follower,
            leader: None,
            election_elapsed_ticks: 0,
            election_timeout_ticks: 0,
            clock: 0,
            last_leader_contact: None,
            forwarded: Vec::new(),
            membership: bootstrap.clone(),
            bootstrap,
            out: Vec::new(),
            pending: PersistChange::default(),
        };
        node.refresh_membership();
        node.out.clear(); // nothing to announce: the driver reads `membership()` on start
        node.reset_election_timer();
        Ok(node)
    }

    /// Feeds one event and returns what the driver must do, in order. The only mutation.
    pub fn step(&mut self, event: Event) -> Vec<Action> {
        let mut actions = Vec::new();
        self.step_into(event, &mut actions);
        actions
    }

    /// Like [`step`](Self::step), but appends the actions to `actions`, so a driver can reuse
    /// one buffer and avoid an allocation per call.
    pub fn step_into(&mut self, event: Event, actions: &mut Vec<Action>) {
        self.handle(event);
        self.finish_step(actions);
    }

    /// Handles one event: the state changes, the actions it causes, and the newly committed
    /// entries to apply, which wait in `out` and `pending` until `finish_step`.
    pub(crate) fn handle(&mut self, event: Event) {
        #[cfg(debug_assertions)]
        let before = crate::invariants::Before::capture(self);
        match event {
            Event::Tick => self.tick(),
            Event::Receive { from, message } => self.receive(from, message),
            Event::Propose { command } => self.propose(command),
            Event::ProposeBatch { commands } => self.propose_batch(commands),
            Event::Snapshot { index, data } => self.take_snapshot(index, data),
            Event::Persisted { index, term } => self.handle_persisted(index, term),
            Event::TransferLeader { to } => self.transfer_leader(to),
            Event::ReadIndex { id } => self.read_index(id),
            Event::ChangeMembership { voters, learners } => {
                self.change_membership(voters, learners)
            }
        }
        self.advance_membership_change();
        self.apply_committed();
        self.serve_reads();
        #[cfg(debug_assertions)]
        crate::invariants::check(self, &before);
    }

    /// Ends a call: a leader sends the entries proposed during it, and tells followers of a
    /// new commit if nothing else is about to; then the durable change (first) and the other
    /// actions are handed out, in order.
    pub(crate) fn finish_step(&mut self, actions: &mut Vec<Action>) {
        self.send_new_entries();
        self.send_commit_notices();
        self.send_read_round(false);
        if !self.pending.is_empty() {
            let change = std::mem::take(&mut self.pending);
            actions.push(self.persist_action(change));
        }
        // Moved element by element: one large `memcpy` (a batch's `Apply`s reach 8 KiB) takes
        // glibc's `rep movsb` path, several times slower on some machines.
        #[allow(clippy::extend_with_drain)]
        actions.extend(self.out.drain(..));
    }

    fn tick(&mut self) {
        self.clock = self.clock.saturating_add(1);
        if matches!(self.role, Role::Leader(_)) {
            self.leader_tick();
            return;
        }
        self.election_elapsed_ticks += 1;
        if self.election_elapsed_ticks >= self.election_timeout_ticks {
            self.campaign();
        }
    }

    /// The term prelude (§5.1), then the role's handler.
    fn receive(&mut self, from: NodeId, message: Message) {
        let term = message.term();
        if self.ignore_unknown_sender(from, &message) || term.0 >= crate::types::TERM_CEILING {
            return; // ignore_unknown_sender, ignore_term_at_ceiling
        }
        if self.ignore_vote_in_lease(&message) {
            return; // leader stickiness (thesis §4.2.3), see `check_quorum`
        }
        if term > self.hard_state.term && crate::prevote::raises_term(&message) {
            // Any message from a newer term makes us a follower of that term (a pre-vote's
            // term is nobody's yet). Only a leader's own messages tell us who leads it.
            let leader = message.is_from_leader().then_some(from);
            self.become_follower(term, leader);
        }
        if term < self.hard_state.term {
            self.answer_stale(from, &message);
            return;
        }
        self.note_follower_active(from, &message);
        match message {
            Message::RequestVote(m) => self.handle_request_vote(from, m),
            Message::RequestVoteReply(m) => self.handle_vote_reply(from, m),
            Message::AppendEntries(m) => self.handle_append_entries(from, m),
            Message::AppendEntriesReply(m) => self.handle_append_reply(from, m),
            Message::InstallSnapshot(m) => self.handle_install_snapshot(from, m),
            Message::InstallSnapshotReply(m) => self.handle_snapshot_reply(from, m),
            Message::PreVote(m) => self.handle_pre_vote(from, m),
            Message::PreVoteReply(m) => self.handle_pre_vote_reply(from, m),
            Message::TimeoutNow(_) => self.handle_timeout_now(),
            Message::TransferVote(m) => self.handle_request_vote(from, m),
            Message::Heartbeat(m) => self.handle_heartbeat(from, m),
            Message::HeartbeatReply(m) => self.handle_heartbeat_reply(from, m),
            Message::ReadIndex(m) => self.handle_forwarded_read(from, m),
            Message::ReadIndexResponse(m) => self.handle_read_response(from, m),
        }
    }

    /// Messages from ourselves are dropped, and so are replies and one-way messages from
    /// outside the configuration in force (we sent them no request; a removed server's late
    /// answer must not move our term). Requests are served whoever sends them (thesis §4.1):
    /// a leader of a configuration we have not heard of yet, or a candidate of one, may
    /// need us.
    fn ignore_unknown_sender(&self, from: NodeId, message: &Message) -> bool {
        // Forwarded reads and their answers pass between members only.
        let read = matches!(
            message,
            Message::ReadIndex(_) | Message::ReadIndexResponse(_)
        );
        let request = message.is_request() && !read;
        from == self.config.id || (!request && !self.membership.contains(from))
    }

    /// A request from an older term gets our term back so its sender steps down (§5.1);
    /// a stale reply or one-way message is dropped.
    fn answer_stale(&mut self, from: NodeId, message: &Message) {
        use crate::message::*;
        let term = self.hard_state.term;
        let reply = match message {
            Message::RequestVote(_) | Message::TransferVote(_) => {
                Message::RequestVoteReply(RequestVoteReply {
                    term,
                    granted: false,
                })
            }
            Message::PreVote(_) => Message::PreVoteReply(RequestVoteReply {
                term,
                granted: false,
            }),
            // Round 0 acknowledges nothing: the sender only learns our term.
            Message::Heartbeat(_) => Message::HeartbeatReply(HeartbeatReply { term, round: 0 }),
            Message::ReadIndex(m) => Message::ReadIndexResponse(ReadIndexResponse {
                term,
                id: m.id,
                index: None,
            }),
            Message::AppendEntries(_) => Message::AppendEntriesReply(AppendEntriesReply {
                term,
                outcome: AppendOutcome::StaleTerm,
            }),
            Message::InstallSnapshot(_) => Message::InstallSnapshotReply(InstallSnapshotReply {
                term,
                matched: None,
            }),
            _ => return,
        };
        self.send(from, reply);
    }

    /// Steps down to follower. A newer term forgets the vote (Figure 2, "all servers").
    pub(crate) fn become_follower(&mut self, term: Term, leader: Option<NodeId>) {
        if term > self.hard_state.term {
            self.set_hard_state(HardState {
                term,
                voted_for: None,
            });
        }
        if !matches!(self.role, Role::Follower) {
            let old = std::mem::replace(&mut self.role, Role::Follower);
            if let Role::Leader(leader) = old {
                self.fail_leader_reads(leader.reads);
            }
            self.reset_election_timer();
        }
        self.leader = leader;
    }

    /// A leader of the current term reached us: no election for now (§5.2), and, with
    /// CheckQuorum, no votes for anyone else for a while (see `check_quorum`).
    pub(crate) fn heard_from_leader(&mut self) {
        self.election_elapsed_ticks = 0;
        self.last_leader_contact = Some(self.clock);
    }

    /// A fresh randomized timeout (§5.2), drawn from the node's own seeded generator.
    pub(crate) fn reset_election_timer(&mut self) {
        let span = u64::from(self.config.election_ticks_max - self.config.election_ticks_min);
        let draw = self.rng.next_u64() % span;
        self.election_timeout_ticks = self.config.election_ticks_min + draw as u32;
        self.election_elapsed_ticks = 0;
    }

    pub(crate) fn set_hard_state(&mut self, hard_state: HardState) {
        self.hard_state = hard_state;
        self.pending.hard_state = Some(hard_state);
    }

    /// Appends to the log and records the durable append.
    pub(crate) fn append_to_log(&mut self, entries: Vec<Entry>) {
        if entries.is_empty() {
            // A heartbeat or a duplicate request adds nothing: it must not cost the driver a
            // durable write (Persist is O(change): see `PersistChange`).
            return;
        }
        let first_index = self.log.last_index().next();
        if self.log.append(&entries) {
            self.refresh_membership(); // in force once appended (thesis §4.1)
        }
        // The entries themselves (already owned) become the durable change: no second copy.
        match &mut self.pending.append {
            Some(append) => append.entries.extend(entries),
            None => {
                self.pending.append = Some(LogAppend {
                    first_index,
                    entries,
                })
            }
        }
    }

    /// Discards a conflicting suffix (§5.3) and records the durable truncation.
    pub(crate) fn truncate_log_after(&mut self, index: LogIndex) {
        debug_assert!(index >= self.commit_index, "truncating committed entries");
        self.log.truncate_after(index);
        self.refresh_membership(); // a truncated configuration entry no longer holds
        if let Some(append) = &mut self.pending.append {
            // An append earlier in this step is cut back first; keep the change minimal.
            let keep = index.0.saturating_sub(append.first_index.0 - 1) as usize;
            append.entries.truncate(keep);
            if !append.entries.is_empty() {
                return;
            }
            self.pending.append = None;
        }
        let after = self.pending.truncate_after.map_or(index, |t| t.min(index));
        self.pending.truncate_after = Some(after);
    }

    pub(crate) fn send(&mut self, to: NodeId, message: Message) {
        self.out.push(Action::Send { to, message });
    }

    /// Hands newly committed entries to the service, in order, once each (Figure 2).
    fn apply_committed(&mut self) {
        while self.last_applied < self.commit_index {
            let index = self.last_applied.next();
            let entry = self
                .log
                .entry(index)
                .expect("committed entries are held")
                .clone();
            self.out.push(Action::Apply { index, entry });
            self.last_applied = index;
        }
    }

    /// Whether this node's own say is a quorum of the configuration in force: a lone voter.
    pub(crate) fn alone_is_quorum(&self) -> bool {
        let me = self.config.id;
        self.membership.is_quorum(|id| id == me)
    }

    /// The voters (of both sides) other than this node, in id order: whom to ask for votes
    /// and read confirmations.
    pub(crate) fn other_voters(&self) -> Vec<NodeId> {
        let me = self.config.id;
        let mut voters = self.membership.voters.clone();
        voters.extend(self.membership.outgoing.iter().flatten().copied());
        voters.sort_unstable();
        voters.dedup();
        voters.retain(|&id| id != me);
        voters
    }
}

/// Read-only views.
impl RaftNode {
    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.config.id
    }

    /// The configuration the node was built with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The cluster configuration in force on this node: the latest in its log, committed or
    /// not (thesis §4.1), else its snapshot's, else the bootstrap one from
    /// [`Config::peers`] (no voter at all on a node started to join a cluster, until the
    /// leader's entries reach it).
    pub fn membership(&self) -> &Membership {
        &self.membership
    }

    /// The configuration in force at the commit index: the latest committed one.
    pub fn committed_membership(&self) -> &Membership {
        self.log
            .membership_at(self.commit_index)
            .unwrap_or(&self.bootstrap)
    }

    /// The current term.
    pub fn term(&self) -> Term {
        self.hard_state.term
    }

    /// Whom this node voted for in the current term.
    pub fn voted_for(&self) -> Option<NodeId> {
        self.hard_state.voted_for
    }

    /// The current role.
    pub fn role(&self) -> RoleKind {
        match self.role {
            Role::Follower => RoleKind::Follower,
            Role::PreCandidate(_) => RoleKind::PreCandidate,
            Role::Candidate(_) => RoleKind::Candidate,
            Role::Leader(_) => RoleKind::Leader,
        }
    }

    /// Whether this node believes it leads the current term (the lab's `GetState`).
    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader(_))
    }

    /// The leader of the current term, if known.
    pub fn leader_hint(&self) -> Option<NodeId> {
        self.leader
    }

    /// The peer this leader is handing leadership to (`Event::TransferLeader`), if any.
    pub fn transfer_target(&self) -> Option<NodeId> {
        match &self.role {
            Role::Leader(leader) => leader.transfer.as_ref().map(|t| t.to),
            _ => None,
        }
    }

    /// Whether this leader could answer a read now without a heartbeat round (lease reads,
    /// thesis §6.4.1): its lease holds and it has committed an entry of its term.
    pub fn lease_holds(&self) -> bool {
        self.lease_valid() && self.own_term_committed()
    }

    /// The highest index known to be committed.
    pub fn commit_index(&self) -> LogIndex {
        self.commit_index
    }

    /// The highest index handed to the service (by `Apply` or a snapshot).
    pub fn last_applied(&self) -> LogIndex {
        self.last_applied
    }

    /// The index of the last log entry.
    pub fn last_index(&self) -> LogIndex {
        self.log.last_index()
    }

    /// The term of the last log entry.
    pub fn last_term(&self) -> Term {
        self.log.last_term()
    }

    /// The last index covered by the snapshot (0 if none).
    pub fn snapshot_index(&self) -> LogIndex {
        self.log.snapshot_index()
    }

    /// The number of entries held in memory after the snapshot.
    pub fn log_len(&self) -> usize {
        self.log.entries().len()
    }

    /// The entry at `index`, if it is held (not compacted, not beyond the end).
    pub fn entry(&self, index: LogIndex) -> Option<&Entry> {
        self.log.entry(index)
    }

    /// Everything this node has made durable, as one value (for tests and tools; O(log)).
    pub fn persistent_state(&self) -> PersistentState {
        PersistentState {
            hard_state: self.hard_state,
            snapshot: self.log.snapshot().clone(),
            entries: self.log.entries().to_vec(),
        }
    }
}
