//! Helpers shared by raft-core's integration tests: builders for logs and messages, `Harness`
//! (one node driven by hand, its durable state checked after every step) and `Cluster` (a few
//! nodes and a deterministic in-memory network).
//!
//! Everything here checks as it goes, so that every test also exercises the contract (the
//! crate's docs and the README's "raft-core: the contract"): at most one `Persist` per step and
//! always first; applying every `Persist` to a durable copy reproduces exactly the node's own
//! view of its durable state (incremental persistence); entries are applied in index order,
//! once per incarnation; nodes agree on the command at every index; no term has two leaders.

// Each test crate uses its own subset of these helpers.
#![allow(dead_code)]

use raft_core::{
    Action, AppendEntries, AppendEntriesReply, AppendOutcome, Config, ConflictHint, Entry, Event,
    HardState, Heartbeat, HeartbeatReply, InstallSnapshot, InstallSnapshotReply, LogIndex, Message,
    NodeId, PersistChange, PersistentState, RaftNode, ReadIndexRequest, ReadIndexResponse,
    RequestVote, RequestVoteReply, SharedBytes, Snapshot, Term, TimeoutNow,
};
use std::collections::{BTreeMap, VecDeque};

/// A fixed proptest seed, so that `cargo test` is reproducible; `RAFT_CORE_PROPTEST_SEED=<u64>`
/// and `PROPTEST_CASES` explore other inputs.
pub fn proptest_config(cases: u32) -> proptest::test_runner::Config {
    let seed = std::env::var("RAFT_CORE_PROPTEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x7261_6674);
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(cases);
    proptest::test_runner::Config {
        cases,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

/// `NodeId(1)..=NodeId(n)`.
pub fn ids(n: u64) -> Vec<NodeId> {
    (1..=n).map(NodeId).collect()
}

/// The default configuration of node `id` in a cluster of nodes `1..=n`.
pub fn config(id: u64, n: u64) -> Config {
    Config::new(NodeId(id), ids(n), 0x5eed_0000 + id)
}

/// Command bytes from a string.
pub fn cmd(text: &str) -> SharedBytes {
    SharedBytes::from(text.as_bytes())
}

/// The command every test log stores at `index` in `term`. Same index and term, same command,
/// as Log Matching (§5.3) promises of real logs.
pub fn command_at(index: u64, term: u64) -> SharedBytes {
    cmd(&format!("{index}@{term}"))
}

/// Entries at `first_index`, `first_index + 1`, ... with the given terms.
pub fn entries_at(first_index: u64, terms: &[u64]) -> Vec<Entry> {
    terms
        .iter()
        .enumerate()
        .map(|(offset, &term)| {
            Entry::new(Term(term), command_at(first_index + offset as u64, term))
        })
        .collect()
}

/// A durable state with no snapshot and a log holding `terms` from index 1.
pub fn state(term: u64, voted_for: Option<u64>, terms: &[u64]) -> PersistentState {
    state_after_snapshot(term, voted_for, (0, 0), terms)
}

/// A durable state with a snapshot through `(index, term)` followed by entries with `terms`.
pub fn state_after_snapshot(
    term: u64,
    voted_for: Option<u64>,
    (snapshot_index, snapshot_term): (u64, u64),
    terms: &[u64],
) -> PersistentState {
    PersistentState {
        hard_state: HardState {
            term: Term(term),
            voted_for: voted_for.map(NodeId),
        },
        snapshot: Snapshot {
            index: LogIndex(snapshot_index),
            term: Term(snapshot_term),
            // Index 0 stands for "no snapshot", which has no data.
            data: if snapshot_index == 0 {
                cmd("")
            } else {
                cmd("snapshot")
            },
            membership: None,
        },
        entries: entries_at(snapshot_index + 1, terms),
    }
}

pub fn append(term: u64, prev: (u64, u64), entries: Vec<Entry>, commit: u64) -> Message {
    Message::AppendEntries(AppendEntries {
        term: Term(term),
        prev_log_index: LogIndex(prev.0),
        prev_log_term: Term(prev.1),
        entries,
        leader_commit: LogIndex(commit),
    })
}

pub fn heartbeat(term: u64, prev: (u64, u64), commit: u64) -> Message {
    append(term, prev, Vec::new(), commit)
}

pub fn vote_request(term: u64, last_index: u64, last_term: u64) -> Message {
    Message::RequestVote(RequestVote {
        term: Term(term),
        last_log_index: LogIndex(last_index),
        last_log_term: Term(last_term),
    })
}

pub fn vote(term: u64, granted: bool) -> Message {
    Message::RequestVoteReply(RequestVoteReply {
        term: Term(term),
        granted,
    })
}

pub fn pre_vote_request(term: u64, last_index: u64, last_term: u64) -> Message {
    Message::PreVote(RequestVote {
        term: Term(term),
        last_log_index: LogIndex(last_index),
        last_log_term: Term(last_term),
    })
}

pub fn pre_vote(term: u64, granted: bool) -> Message {
    Message::PreVoteReply(RequestVoteReply {
        term: Term(term),
        granted,
    })
}

pub fn transfer_vote_request(term: u64, last_index: u64, last_term: u64) -> Message {
    Message::TransferVote(RequestVote {
        term: Term(term),
        last_log_index: LogIndex(last_index),
        last_log_term: Term(last_term),
    })
}

pub fn timeout_now(term: u64) -> Message {
    Message::TimeoutNow(TimeoutNow { term: Term(term) })
}

/// A numbered heartbeat (ReadIndex rounds).
pub fn round(term: u64, round: u64) -> Message {
    Message::Heartbeat(Heartbeat {
        term: Term(term),
        round,
    })
}

pub fn round_reply(term: u64, round: u64) -> Message {
    Message::HeartbeatReply(HeartbeatReply {
        term: Term(term),
        round,
    })
}

pub fn forwarded_read(term: u64, id: u64) -> Message {
    Message::ReadIndex(ReadIndexRequest {
        term: Term(term),
        id,
    })
}

pub fn read_response(term: u64, id: u64, index: Option<u64>) -> Message {
    Message::ReadIndexResponse(ReadIndexResponse {
        term: Term(term),
        id,
        index: index.map(LogIndex),
    })
}

pub fn append_reply(term: u64, outcome: AppendOutcome) -> Message {
    Message::AppendEntriesReply(AppendEntriesReply {
        term: Term(term),
        outcome,
    })
}

pub fn matched(term: u64, index: u64) -> Message {
    append_reply(term, AppendOutcome::Matched(LogIndex(index)))
}

pub fn too_short(term: u64, rejected: u64, next: u64) -> Message {
    append_reply(
        term,
        AppendOutcome::Rejected {
            rejected: LogIndex(rejected),
            hint: ConflictHint::LogTooShort {
                next: LogIndex(next),
            },
        },
    )
}

pub fn term_mismatch(term: u64, rejected: u64, conflict_term: u64, first_index: u64) -> Message {
    append_reply(
        term,
        AppendOutcome::Rejected {
            rejected: LogIndex(rejected),
            hint: ConflictHint::TermMismatch {
                term: Term(conflict_term),
                first_index: LogIndex(first_index),
            },
        },
    )
}

pub fn install(term: u64, last_included: (u64, u64), data: &str) -> Message {
    Message::InstallSnapshot(InstallSnapshot {
        term: Term(term),
        last_included_index: LogIndex(last_included.0),
        last_included_term: Term(last_included.1),
        data: cmd(data),
        membership: None,
    })
}

pub fn install_reply(term: u64, last_included_index: u64) -> Message {
    Message::InstallSnapshotReply(InstallSnapshotReply {
        term: Term(term),
        matched: Some(LogIndex(last_included_index)),
    })
}

/// The answer to an InstallSnapshot refused as coming from an older term.
pub fn install_refused(term: u64) -> Message {
    Message::InstallSnapshotReply(InstallSnapshotReply {
        term: Term(term),
        matched: None,
    })
}

// ---------------------------------------------------------------------------------------------
// Looking at actions
// ---------------------------------------------------------------------------------------------

/// The `Send`s, in order.
pub fn sends(actions: &[Action]) -> Vec<(NodeId, &Message)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { to, message } => Some((*to, message)),
            _ => None,
        })
        .collect()
}

/// The messages sent to `to`, in order.
pub fn sent_to(actions: &[Action], to: u64) -> Vec<&Message> {
    sends(actions)
        .into_iter()
        .filter(|(id, _)| *id == NodeId(to))
        .map(|(_, m)| m)
        .collect()
}

/// The single message sent to `to`; fails the test if there is not exactly one.
#[track_caller]
pub fn only_message_to(actions: &[Action], to: u64) -> Message {
    let to_peer = sent_to(actions, to);
    assert_eq!(
        to_peer.len(),
        1,
        "expected one message to n{to}: {actions:#?}"
    );
    to_peer[0].clone()
}

/// The AppendEntries sent to `to` (exactly one).
#[track_caller]
pub fn only_append_to(actions: &[Action], to: u64) -> AppendEntries {
    match only_message_to(actions, to) {
        Message::AppendEntries(m) => m,
        other => panic!("expected AppendEntries to n{to}, got {other:?}"),
    }
}

/// The durable change (`Persist` or `PersistAsync`), if any.
pub fn persist(actions: &[Action]) -> Option<&PersistChange> {
    actions.iter().find_map(|a| match a {
        Action::Persist(change) | Action::PersistAsync { change, .. } => Some(change),
        _ => None,
    })
}

/// Whether the action hands out a durable change.
pub fn is_persist(action: &Action) -> bool {
    matches!(action, Action::Persist(_) | Action::PersistAsync { .. })
}

/// The indexes handed to the service by `Apply`, in order.
pub fn applied(actions: &[Action]) -> Vec<u64> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Apply { index, .. } => Some(index.0),
            _ => None,
        })
        .collect()
}

/// Position of the first action matching `pred`.
pub fn position(actions: &[Action], pred: impl Fn(&Action) -> bool) -> Option<usize> {
    actions.iter().position(pred)
}

/// The contract's persistence rules, checked after every step: at most one `Persist`, first;
/// it applies cleanly to the durable copy; and the result is exactly what the node says it has
/// made durable.
#[track_caller]
pub fn persist_and_check(node: &RaftNode, durable: &mut PersistentState, actions: &[Action]) {
    let persists: Vec<usize> = actions
        .iter()
        .enumerate()
        .filter(|(_, a)| is_persist(a))
        .map(|(i, _)| i)
        .collect();
    assert!(
        persists.is_empty() || persists == [0],
        "{}: Persist must come first and at most once: {actions:#?}",
        node.id()
    );
    if let Some(change) = actions
        .first()
        .and_then(|a| persist(std::slice::from_ref(a)))
    {
        assert!(!change.is_empty(), "{}: empty Persist", node.id());
        if let Some(append) = &change.append {
            assert!(
                !append.entries.is_empty(),
                "{}: Persist of an empty append",
                node.id()
            );
        }
        if let Some(Action::PersistAsync { index, term, .. }) = actions.first() {
            let last = change.append.as_ref().and_then(|a| a.entries.last());
            assert!(
                node.is_leader() && last.map(|e| e.term) == Some(*term),
                "{}: PersistAsync only for a leader's own entries",
                node.id()
            );
            assert_eq!(
                *index,
                node.last_index(),
                "{}: PersistAsync index",
                node.id()
            );
        }
        if let Err(e) = durable.apply(change) {
            panic!("{}: {e}; change {change:#?}", node.id());
        }
    }
    assert!(
        *durable == node.persistent_state(),
        "{}: durable state diverged from the node's\n durable: {durable:#?}\n node: {:#?}",
        node.id(),
        node.persistent_state()
    );
}

// ---------------------------------------------------------------------------------------------
// One node, driven by hand
// ---------------------------------------------------------------------------------------------

/// One node plus the durable state its `Persist` actions build.
pub struct Harness {
    pub node: RaftNode,
    pub durable: PersistentState,
}

impl Harness {
    /// Node `id` of nodes `1..=n`, fresh.
    pub fn fresh(id: u64, n: u64) -> Harness {
        Harness::with_config(config(id, n), None)
    }

    /// Node `id` of nodes `1..=n`, restarted from `state`.
    pub fn restored(id: u64, n: u64, state: PersistentState) -> Harness {
        Harness::with_config(config(id, n), Some(state))
    }

    pub fn with_config(config: Config, restored: Option<PersistentState>) -> Harness {
        let durable = restored.clone().unwrap_or_default();
        let node = RaftNode::new(config, restored).expect("valid configuration and state");
        Harness { node, durable }
    }

    #[track_caller]
    pub fn step(&mut self, event: Event) -> Vec<Action> {
        let actions = self.node.step(event);
        persist_and_check(&self.node, &mut self.durable, &actions);
        actions
    }

    #[track_caller]
    pub fn tick(&mut self) -> Vec<Action> {
        self.step(Event::Tick)
    }

    /// Several events as one group (`step_many`).
    #[track_caller]
    pub fn step_many_of(&mut self, events: impl IntoIterator<Item = Event>) -> Vec<Action> {
        let actions = self.node.step_many(events);
        persist_and_check(&self.node, &mut self.durable, &actions);
        actions
    }

    #[track_caller]
    pub fn receive(&mut self, from: u64, message: Message) -> Vec<Action> {
        self.step(Event::Receive {
            from: NodeId(from),
            message,
        })
    }

    #[track_caller]
    pub fn propose(&mut self, command: &str) -> Vec<Action> {
        self.step(Event::Propose {
            command: cmd(command),
        })
    }

    /// Ticks until the node stands for election (or, with PreVote, asks for pre-votes);
    /// returns that step's actions.
    #[track_caller]
    pub fn tick_until_candidate(&mut self) -> Vec<Action> {
        let max = self.node.config().election_ticks_max;
        for _ in 0..max {
            let actions = self.tick();
            let pre_candidate = self.node.role() == raft_core::RoleKind::PreCandidate;
            if pre_candidate
                || !self.node.is_leader() && self.node.voted_for() == Some(self.node.id())
            {
                return actions;
            }
            if self.node.is_leader() {
                return actions; // a single-node cluster skips candidacy
            }
        }
        panic!("no election within election_ticks_max ticks");
    }

    /// Makes the node leader of the next term with votes from the lowest-numbered peers;
    /// returns the actions of the step that made it leader.
    #[track_caller]
    pub fn elect(&mut self) -> Vec<Action> {
        let mut actions = self.tick_until_candidate();
        let me = self.node.id();
        let peers: Vec<NodeId> = self.node.config().peers.clone();
        if self.node.role() == raft_core::RoleKind::PreCandidate {
            let term = self.node.term().0 + 1;
            for &peer in peers.iter().filter(|&&p| p != me) {
                if self.node.role() != raft_core::RoleKind::PreCandidate {
                    break;
                }
                actions = self.receive(peer.0, pre_vote(term, true));
            }
        }
        let term = self.node.term().0;
        for peer in peers.into_iter().filter(|&p| p != me) {
            if self.node.is_leader() {
                break;
            }
            actions = self.receive(peer.0, vote(term, true));
        }
        assert!(self.node.is_leader(), "not elected");
        actions
    }
}

// ---------------------------------------------------------------------------------------------
// The service: what a node's applied entries and snapshots add up to
// ---------------------------------------------------------------------------------------------

/// What the service got from its node, in order, during the current incarnation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    Entry(u64),
    Snapshot(u64),
}

/// A toy replicated service whose state is the list of every command applied so far; its
/// snapshots are that list, encoded by `encode_commands`.
#[derive(Clone, Debug, Default)]
pub struct Service {
    /// The command at index `i` is `commands[i - 1]`.
    pub commands: Vec<SharedBytes>,
    /// What the node handed over in this incarnation.
    pub events: Vec<Applied>,
}

impl Service {
    /// The last index the service has (applied or restored from a snapshot).
    pub fn last(&self) -> LogIndex {
        LogIndex(self.commands.len() as u64)
    }

    /// The indexes applied one by one in this incarnation.
    pub fn applied_entries(&self) -> Vec<u64> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Applied::Entry(i) => Some(*i),
                Applied::Snapshot(_) => None,
            })
            .collect()
    }
}

/// The service's snapshot format: a count, then each command with a length, all `u32` LE.
pub fn encode_commands(commands: &[SharedBytes]) -> SharedBytes {
    let mut out = Vec::new();
    out.extend_from_slice(&(commands.len() as u32).to_le_bytes());
    for c in commands {
        out.extend_from_slice(&(c.len() as u32).to_le_bytes());
        out.extend_from_slice(c);
    }
    SharedBytes::from(out)
}

/// The inverse of `encode_commands`. Test data only: malformed bytes fail the test.
#[track_caller]
pub fn decode_commands(data: &[u8]) -> Vec<SharedBytes> {
    if data.is_empty() {
        return Vec::new(); // no snapshot yet
    }
    let read_u32 = |at: usize| -> usize {
        let bytes: [u8; 4] = data[at..at + 4].try_into().expect("4 bytes");
        u32::from_le_bytes(bytes) as usize
    };
    let count = read_u32(0);
    let mut at = 4;
    let mut commands = Vec::with_capacity(count);
    for _ in 0..count {
        let len = read_u32(at);
        commands.push(SharedBytes::from(&data[at + 4..at + 4 + len]));
        at += 4 + len;
    }
    assert_eq!(at, data.len(), "trailing bytes in a snapshot");
    commands
}

// ---------------------------------------------------------------------------------------------
// A deterministic in-memory cluster
// ---------------------------------------------------------------------------------------------

/// A message on the wire.
#[derive(Clone, Debug)]
pub struct Envelope {
    pub from: NodeId,
    pub to: NodeId,
    pub message: Message,
}

/// Counters of what the network did.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub delivered: u64,
    pub dropped: u64,
    /// Rounds of `deliver_all`: everything queued is delivered, then what that produced, ...
    /// A request and its reply take two.
    pub waves: u64,
    pub delivered_by_kind: BTreeMap<&'static str, u64>,
    /// Durable writes handed out (`Persist` and `PersistAsync`), by any node.
    pub writes: u64,
    /// AppendEntries rejections delivered, keyed by (follower, leader).
    pub rejections: BTreeMap<(NodeId, NodeId), u64>,
    /// Messages delivered, keyed by (sender, recipient, kind).
    pub by_link: BTreeMap<(NodeId, NodeId, &'static str), u64>,
}

impl Stats {
    pub fn kind(&self, kind: &str) -> u64 {
        self.delivered_by_kind.get(kind).copied().unwrap_or(0)
    }

    /// Messages of `kind` delivered from `from` to `to`.
    pub fn on_link(&self, from: NodeId, to: NodeId, kind: &'static str) -> u64 {
        self.by_link.get(&(from, to, kind)).copied().unwrap_or(0)
    }

    pub fn rejections(&self, follower: NodeId, leader: NodeId) -> u64 {
        self.rejections
            .get(&(follower, leader))
            .copied()
            .unwrap_or(0)
    }
}

/// Nodes `1..=n` connected by a FIFO queue, with partitions, crashes and restarts. Nothing is
/// random: the order of events is the order of the test's calls.
pub struct Cluster {
    pub ids: Vec<NodeId>,
    configs: Vec<Config>,
    /// `None` while crashed.
    nodes: Vec<Option<RaftNode>>,
    /// What each node has handed out to persist: its own view of its durable state.
    durable: Vec<PersistentState>,
    /// What has really reached the disk: `durable` less the unfinished writes. Survives
    /// crashes.
    stable: Vec<PersistentState>,
    /// Pipelined writes (`PersistAsync`) started but not finished, oldest first.
    unfinished: Vec<VecDeque<(PersistChange, LogIndex, Term)>>,
    /// Finish every pipelined write right after the step that started it (the default), or
    /// only on `finish_write`.
    pub finish_writes_at_once: bool,
    /// Every event fed to this node is copied to `recorded` (to replay it elsewhere).
    pub record: Option<NodeId>,
    pub recorded: Vec<Event>,
    pub services: Vec<Service>,
    pub incarnations: Vec<u32>,
    queue: VecDeque<Envelope>,
    /// Nodes exchange messages only within their group.
    group: Vec<u32>,
    /// The command at each index, as first applied by any node.
    committed: BTreeMap<LogIndex, SharedBytes>,
    /// The leader of each term, as first seen.
    leaders: BTreeMap<Term, NodeId>,
    /// Have the service snapshot at every multiple of this index it has applied (the lab's
    /// applier does the same with 10).
    pub snapshot_every: Option<u64>,
    pub stats: Stats,
}

impl Cluster {
    /// Nodes `1..=n` with the default configuration.
    pub fn new(n: u64) -> Cluster {
        Cluster::with_configs((1..=n).map(|id| config(id, n)).collect())
    }

    /// Nodes `1..=n` whose seeds derive from `seed`.
    pub fn with_seed(n: u64, seed: u64) -> Cluster {
        Cluster::with_configs(
            (1..=n)
                .map(|id| Config::new(NodeId(id), ids(n), seed.wrapping_mul(31).wrapping_add(id)))
                .collect(),
        )
    }

    pub fn with_configs(configs: Vec<Config>) -> Cluster {
        let n = configs.len();
        let nodes = configs
            .iter()
            .map(|c| Some(RaftNode::new(c.clone(), None).expect("valid configuration")))
            .collect();
        Cluster {
            ids: configs.iter().map(|c| c.id).collect(),
            configs,
            nodes,
            durable: vec![PersistentState::default(); n],
            stable: vec![PersistentState::default(); n],
            unfinished: vec![VecDeque::new(); n],
            finish_writes_at_once: true,
            record: None,
            recorded: Vec::new(),
            services: vec![Service::default(); n],
            incarnations: vec![0; n],
            queue: VecDeque::new(),
            group: vec![0; n],
            committed: BTreeMap::new(),
            leaders: BTreeMap::new(),
            snapshot_every: None,
            stats: Stats::default(),
        }
    }

    fn slot(&self, id: NodeId) -> usize {
        self.ids
            .iter()
            .position(|&x| x == id)
            .unwrap_or_else(|| panic!("{id} is not in the cluster"))
    }

    pub fn is_up(&self, id: NodeId) -> bool {
        self.nodes[self.slot(id)].is_some()
    }

    /// The live node `id`.
    #[track_caller]
    pub fn node(&self, id: NodeId) -> &RaftNode {
        self.nodes[self.slot(id)]
            .as_ref()
            .unwrap_or_else(|| panic!("{id} is down"))
    }

    pub fn service(&self, id: NodeId) -> &Service {
        &self.services[self.slot(id)]
    }

    pub fn durable(&self, id: NodeId) -> &PersistentState {
        &self.durable[self.slot(id)]
    }

    pub fn live_nodes(&self) -> impl Iterator<Item = &RaftNode> {
        self.nodes.iter().flatten()
    }

    /// The number of distinct indexes some node has applied (or received in a snapshot).
    pub fn committed_len(&self) -> u64 {
        self.committed.len() as u64
    }

    /// The command committed at `index`, as the cluster saw it applied.
    pub fn committed_at(&self, index: u64) -> Option<&SharedBytes> {
        self.committed.get(&LogIndex(index))
    }

    /// Feeds one event to a live node and carries out its actions, checking the contract.
    #[track_caller]
    pub fn step(&mut self, id: NodeId, event: Event) -> Vec<Action> {
        let i = self.slot(id);
        if self.record == Some(id) {
            self.recorded.push(event.clone());
        }
        let node = self.nodes[i]
            .as_mut()
            .unwrap_or_else(|| panic!("stepping {id}, which is down"));
        let actions = node.step(event);
        persist_and_check(node, &mut self.durable[i], &actions);
        self.stats.writes += actions.iter().filter(|a| is_persist(a)).count() as u64;
        let (is_leader, term, last_applied) = (node.is_leader(), node.term(), node.last_applied());
        for action in &actions {
            match action {
                Action::Persist(change) => {
                    // Writes complete in order: this one waits for every unfinished one.
                    while self.unfinished[i].front().is_some() {
                        self.finish_oldest_write(i);
                    }
                    self.stable[i].apply(change).expect("checked above");
                }
                Action::PersistAsync {
                    change,
                    index,
                    term,
                } => self.unfinished[i].push_back((change.clone(), *index, *term)),
                Action::Proposed { .. }
                | Action::ProposedBatch { .. }
                | Action::NotLeader { .. }
                | Action::Refused { .. }
                | Action::ReadFailed { .. }
                | Action::MembershipProposed { .. }
                | Action::MembershipChanged { .. } => {}
                Action::ReadReady { index, .. } => assert!(
                    *index <= last_applied,
                    "{id}: a read is ready at {index} before it is applied"
                ),
                Action::Send { to, message } => self.queue.push_back(Envelope {
                    from: id,
                    to: *to,
                    message: message.clone(),
                }),
                Action::Apply { index, entry } => {
                    // A configuration entry is checked like a command: by what it says.
                    let config = entry.membership().map(|m| cmd(&format!("config {m}")));
                    self.apply_entry(i, *index, config.as_ref().unwrap_or(&entry.command))
                }
                Action::ApplySnapshot { index, data, .. } => self.apply_snapshot(i, *index, data),
            }
        }
        assert_eq!(
            self.services[i].last(),
            last_applied,
            "{id}: the service's state and the node's last_applied disagree"
        );
        if is_leader {
            // Election Safety (§5.2): at most one leader per term, ever.
            let first = *self.leaders.entry(term).or_insert(id);
            assert_eq!(first, id, "two leaders in {term}");
        }
        if self.finish_writes_at_once {
            while !self.unfinished[i].is_empty() {
                self.finish_write(id);
            }
        }
        if let Some(every) = self.snapshot_every {
            let at = self.services[i].last().0 / every * every;
            let snapshot_index = self.nodes[i].as_ref().map_or(at, |n| n.snapshot_index().0);
            if at > snapshot_index {
                self.snapshot(id, at);
            }
        }
        actions
    }

    /// Moves the oldest unfinished write of node `i` to disk; returns its report.
    fn finish_oldest_write(&mut self, i: usize) -> Option<Event> {
        let (change, index, term) = self.unfinished[i].pop_front()?;
        self.stable[i]
            .apply(&change)
            .expect("writes finish in order");
        Some(Event::Persisted { index, term })
    }

    /// Finishes the oldest pipelined write of `id` and reports it to the node.
    #[track_caller]
    pub fn finish_write(&mut self, id: NodeId) {
        let i = self.slot(id);
        if let Some(report) = self.finish_oldest_write(i) {
            self.step(id, report);
        }
    }

    /// The number of pipelined writes of `id` started and not yet finished.
    pub fn unfinished_writes(&self, id: NodeId) -> usize {
        self.unfinished[self.slot(id)].len()
    }

    fn apply_entry(&mut self, i: usize, index: LogIndex, command: &SharedBytes) {
        let id = self.ids[i];
        let service = &mut self.services[i];
        assert_eq!(
            index,
            service.last().next(),
            "{id} applied {index} after {}: out of order or twice",
            service.last()
        );
        let first = self
            .committed
            .entry(index)
            .or_insert_with(|| command.clone());
        assert_eq!(
            first, command,
            "{id} applied a different command at {index}"
        );
        service.commands.push(command.clone());
        service.events.push(Applied::Entry(index.0));
    }

    fn apply_snapshot(&mut self, i: usize, index: LogIndex, data: &SharedBytes) {
        let id = self.ids[i];
        assert!(
            index > self.services[i].last(),
            "{id} installed a snapshot at {index} that rolls back its applied state"
        );
        let commands = decode_commands(data);
        self.restore_service(i, index, commands);
        self.services[i].events.push(Applied::Snapshot(index.0));
    }

    /// Replaces a service's state by snapshot contents, checking they agree with the cluster.
    fn restore_service(&mut self, i: usize, index: LogIndex, commands: Vec<SharedBytes>) {
        let id = self.ids[i];
        assert_eq!(
            commands.len() as u64,
            index.0,
            "{id}: snapshot size does not match its index"
        );
        for (offset, command) in commands.iter().enumerate() {
            let at = LogIndex(offset as u64 + 1);
            let first = self.committed.entry(at).or_insert_with(|| command.clone());
            assert_eq!(first, command, "{id}'s snapshot disagrees at {at}");
        }
        self.services[i].commands = commands;
    }

    /// Asks the service of `id` to snapshot its state through `index` (the lab's
    /// `Snapshot()`), which must already be applied.
    #[track_caller]
    pub fn snapshot(&mut self, id: NodeId, index: u64) -> Vec<Action> {
        let i = self.slot(id);
        let commands = &self.services[i].commands;
        assert!(index as usize <= commands.len(), "snapshot beyond applied");
        let data = encode_commands(&commands[..index as usize]);
        self.step(
            id,
            Event::Snapshot {
                index: LogIndex(index),
                data,
            },
        )
    }

    /// The lab's `Start`: `Some((index, term))` if `id` leads, `None` otherwise. The answer must
    /// come in the same step.
    #[track_caller]
    pub fn propose(&mut self, id: NodeId, command: SharedBytes) -> Option<(LogIndex, Term)> {
        let actions = self.step(id, Event::Propose { command });
        let answers: Vec<&Action> = actions
            .iter()
            .filter(|a| matches!(a, Action::Proposed { .. } | Action::NotLeader { .. }))
            .collect();
        assert_eq!(answers.len(), 1, "a proposal gets exactly one answer");
        match answers[0] {
            Action::Proposed { index, term } => Some((*index, *term)),
            _ => None,
        }
    }

    pub fn tick(&mut self, id: NodeId) {
        self.step(id, Event::Tick);
    }

    /// One tick on every live node, in id order.
    pub fn tick_all(&mut self) {
        for i in 0..self.ids.len() {
            if self.nodes[i].is_some() {
                self.tick(self.ids[i]);
            }
        }
    }

    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    fn can_reach(&self, from: NodeId, to: NodeId) -> bool {
        let (f, t) = (self.slot(from), self.slot(to));
        self.nodes[t].is_some() && self.group[f] == self.group[t]
    }

    fn deliver_envelope(&mut self, envelope: Envelope) {
        let Envelope { from, to, message } = envelope;
        if !self.can_reach(from, to) {
            self.stats.dropped += 1;
            return;
        }
        self.stats.delivered += 1;
        *self
            .stats
            .delivered_by_kind
            .entry(message.kind())
            .or_default() += 1;
        *self
            .stats
            .by_link
            .entry((from, to, message.kind()))
            .or_default() += 1;
        if let Message::AppendEntriesReply(AppendEntriesReply {
            outcome: AppendOutcome::Rejected { .. },
            ..
        }) = &message
        {
            *self.stats.rejections.entry((from, to)).or_default() += 1;
        }
        self.step(to, Event::Receive { from, message });
    }

    /// Delivers the `k`-th queued message (modulo the queue's length), out of order.
    pub fn deliver_nth(&mut self, k: usize) {
        if !self.queue.is_empty() {
            let envelope = self.queue.remove(k % self.queue.len()).expect("in range");
            self.deliver_envelope(envelope);
        }
    }

    /// Delivers, in order, the queued messages that `pick` selects (not what that produces).
    pub fn deliver_where(&mut self, pick: impl Fn(&Envelope) -> bool) {
        let (picked, kept) = std::mem::take(&mut self.queue).into_iter().partition(&pick);
        self.queue = kept;
        for envelope in picked {
            self.deliver_envelope(envelope);
        }
    }

    /// Loses the queued messages that `pick` selects.
    pub fn drop_where(&mut self, pick: impl Fn(&Envelope) -> bool) {
        let before = self.queue.len();
        self.queue.retain(|e| !pick(e));
        self.stats.dropped += (before - self.queue.len()) as u64;
    }

    /// Loses the `k`-th queued message.
    pub fn drop_nth(&mut self, k: usize) {
        if !self.queue.is_empty() {
            self.queue.remove(k % self.queue.len());
            self.stats.dropped += 1;
        }
    }

    /// Queues a second copy of the `k`-th queued message, at the back.
    pub fn duplicate_nth(&mut self, k: usize) {
        if !self.queue.is_empty() {
            let copy = self.queue[k % self.queue.len()].clone();
            self.queue.push_back(copy);
        }
    }

    /// Delivers everything queued, then everything that produced, until the network is quiet.
    #[track_caller]
    pub fn deliver_all(&mut self) {
        for _ in 0..10_000 {
            if self.queue.is_empty() {
                return;
            }
            self.stats.waves += 1;
            let wave = std::mem::take(&mut self.queue);
            for envelope in wave {
                self.deliver_envelope(envelope);
            }
        }
        panic!("the network never went quiet");
    }

    /// `ticks` rounds of: one tick on every node, then deliver until quiet.
    #[track_caller]
    pub fn run(&mut self, ticks: u32) {
        for _ in 0..ticks {
            self.tick_all();
            self.deliver_all();
        }
    }

    /// Runs rounds until `done` holds; returns the rounds taken. Fails after `max_ticks`.
    #[track_caller]
    pub fn run_until(&mut self, max_ticks: u32, done: impl Fn(&Cluster) -> bool) -> u32 {
        for t in 0..=max_ticks {
            if done(self) {
                return t;
            }
            self.run(1);
        }
        panic!("condition not reached within {max_ticks} ticks");
    }

    /// Makes `id` leader by ticking only it, delivering everything after each tick: the other
    /// nodes' timers stand still, so the election goes to `id` if its log allows (§5.4.1).
    #[track_caller]
    pub fn elect(&mut self, id: NodeId) -> Term {
        let max = self.node(id).config().election_ticks_max;
        for _ in 0..10 * max {
            if self.node(id).is_leader() {
                return self.node(id).term();
            }
            self.tick(id);
            self.deliver_all();
        }
        panic!("{id} could not get elected");
    }

    /// One heartbeat interval of ticks on `id` alone, then delivery until quiet.
    pub fn heartbeat_from(&mut self, id: NodeId) {
        for _ in 0..self.node(id).config().heartbeat_ticks {
            self.tick(id);
        }
        self.deliver_all();
    }

    /// The live node that believes it leads the highest term, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.live_nodes()
            .filter(|n| n.is_leader())
            .max_by_key(|n| n.term())
            .map(|n| n.id())
    }

    /// Runs until a leader of a term newer than `after` exists in the majority's group.
    #[track_caller]
    pub fn wait_for_leader_after(&mut self, after: Term) -> NodeId {
        self.run_until(2_000, |c| {
            c.leader().is_some_and(|l| c.node(l).term() > after)
        });
        self.leader().expect("a leader")
    }

    #[track_caller]
    pub fn wait_for_leader(&mut self) -> NodeId {
        self.wait_for_leader_after(Term(0))
    }

    /// Runs until every live node has applied through `index`.
    #[track_caller]
    pub fn wait_applied(&mut self, index: u64) -> u32 {
        self.run_until(2_000, |c| {
            c.ids
                .iter()
                .filter(|&&id| c.is_up(id))
                .all(|&id| c.service(id).last() >= LogIndex(index))
        })
    }

    /// Cuts `id` off from everyone: messages to and from it are dropped.
    pub fn isolate(&mut self, id: NodeId) {
        let i = self.slot(id);
        self.group[i] = 1_000 + i as u32;
    }

    /// Splits the cluster: nodes talk only to nodes in their own group.
    pub fn partition(&mut self, groups: &[&[NodeId]]) {
        for (g, members) in groups.iter().enumerate() {
            for &id in *members {
                let i = self.slot(id);
                self.group[i] = g as u32;
            }
        }
    }

    /// Everyone can talk to everyone again.
    pub fn heal(&mut self) {
        self.group.iter_mut().for_each(|g| *g = 0);
    }

    /// Stops `id`: its volatile state and service are lost, messages queued for it too. What it
    /// persisted stays.
    pub fn crash(&mut self, id: NodeId) {
        let i = self.slot(id);
        self.nodes[i] = None;
        self.services[i] = Service::default();
        // Unfinished writes are lost.
        self.unfinished[i].clear();
        self.durable[i] = self.stable[i].clone();
        self.queue.retain(|e| e.to != id);
    }

    /// Rebuilds `id` from its persisted state, round-tripped through the byte encoding; the
    /// service restarts from the persisted snapshot.
    #[track_caller]
    pub fn restart(&mut self, id: NodeId) {
        let i = self.slot(id);
        assert!(self.nodes[i].is_none(), "{id} is already up");
        let bytes = self.durable[i].encode();
        let state = PersistentState::decode(&bytes).expect("persisted state decodes");
        assert_eq!(state, self.durable[i], "encoding round trip");
        let snapshot = state.snapshot.clone();
        let node = RaftNode::new(self.configs[i].clone(), Some(state)).expect("restart");
        assert_eq!(node.persistent_state(), self.durable[i]);
        self.nodes[i] = Some(node);
        self.incarnations[i] += 1;
        self.services[i] = Service::default();
        let commands = decode_commands(&snapshot.data);
        self.restore_service(i, snapshot.index, commands);
    }
}
