//! Whole-cluster checkers: Raft's safety properties (the Raft paper's Figure 3, §5.2–§5.4),
//! checked from outside the nodes on every event of every simulated run.
//!
//! The nodes assert their own invariants; these checkers see the whole cluster instead, as an
//! omniscient observer would, through what a driver sees: each node's public getters after a
//! step, the durable changes it asked for, what it handed to its service, and crashes and
//! restarts. Each property has its own file:
//!
//! | invariant | what must hold | file |
//! |---|---|---|
//! | Election Safety | at most one leader per term, ever | `election_safety.rs` |
//! | Log Matching | same index and term ⇒ same entry and same history before it | `log_matching.rs` |
//! | Leader Completeness | a committed entry is in the log of every later leader | `leader_completeness.rs` |
//! | State Machine Safety | one sequence of applied commands; each service applies a prefix of it, in order, once | `state_machine.rs` |
//! | Durability | a committed entry stays durable on a majority, whatever crashes and torn writes follow | `durability.rs` |
//! | Monotonicity | per incarnation, term, commit and applied index never go back; durable term and vote never go back | `monotonicity.rs` |
//! | Linearizable Reads | an answered read reflects every write committed before it was asked for (thesis §6.4) | `reads.rs` |
//! | Quorum Intersection | a leader was elected by a quorum of its configuration; up-to-date servers never have configurations in force whose majorities can be disjoint (§6) | `configurations.rs` |
//!
//! With membership changes, Durability asks for a majority of the voters of the configuration
//! in force at the committed entry (its incoming side while joint), and Leader Completeness
//! covers servers added later that come to lead.
//!
//! A violation names the invariant and the servers, terms and indexes involved; the world
//! stops the run there.

mod committed;
mod configurations;
mod durability;
mod election_safety;
mod leader_completeness;
mod log_matching;
mod monotonicity;
mod reads;
mod state_machine;

use committed::Committed;
use raft_core::{Entry, LogIndex, PersistChange, PersistentState, RaftNode, Term};

pub(crate) use configurations::describe as describe_membership;
use std::fmt;

/// One of the properties the checkers watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Invariant {
    /// At most one leader per term (§5.2).
    ElectionSafety,
    /// Two logs with an entry of the same index and term agree up to it (§5.3).
    LogMatching,
    /// An entry committed in term T is in the log of every leader of a later term (§5.4).
    LeaderCompleteness,
    /// Every service applies a prefix of one sequence of commands, in order, once (§5.4.3).
    StateMachineSafety,
    /// A committed entry stays durable on a majority, across crashes and torn writes.
    Durability,
    /// Terms, commit and applied indexes never go back; nor does a durable term or vote.
    Monotonicity,
    /// An answered read reflects every write committed before it was asked for (thesis §6.4).
    LinearizableReads,
    /// No two decisions rest on disjoint majorities: a leader's voters are a quorum of its
    /// configuration (both sides while joint), and up-to-date servers' configurations in force
    /// have intersecting quorums (§6, thesis §4.3).
    QuorumIntersection,
}

impl Invariant {
    /// Every invariant, in the order above.
    pub const ALL: [Invariant; 8] = [
        Invariant::ElectionSafety,
        Invariant::LogMatching,
        Invariant::LeaderCompleteness,
        Invariant::StateMachineSafety,
        Invariant::Durability,
        Invariant::Monotonicity,
        Invariant::LinearizableReads,
        Invariant::QuorumIntersection,
    ];

    /// The invariant's name, as the Raft paper spells it.
    pub fn name(self) -> &'static str {
        match self {
            Invariant::ElectionSafety => "Election Safety",
            Invariant::LogMatching => "Log Matching",
            Invariant::LeaderCompleteness => "Leader Completeness",
            Invariant::StateMachineSafety => "State Machine Safety",
            Invariant::Durability => "Durability",
            Invariant::Monotonicity => "Monotonicity",
            Invariant::LinearizableReads => "Linearizable Reads",
            Invariant::QuorumIntersection => "Quorum Intersection",
        }
    }

    /// The invariant named `name` (its name or its variant's, any case, spaces optional).
    pub fn parse(name: &str) -> Option<Invariant> {
        let wanted: String = name
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<String>()
            .to_lowercase();
        Invariant::ALL.into_iter().find(|i| {
            let own: String = i.name().chars().filter(|c| c.is_alphanumeric()).collect();
            own.to_lowercase() == wanted
        })
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A property that did not hold, and the evidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Which property.
    pub invariant: Invariant,
    /// The servers, terms and indexes involved.
    pub detail: String,
}

impl Violation {
    fn new(invariant: Invariant, detail: String) -> Violation {
        Violation { invariant, detail }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} violated: {}", self.invariant, self.detail)
    }
}

/// What a checker returns: nothing, or the violation it saw.
pub type Check = Result<(), Violation>;

/// Every checker, fed by the world. Each observation returns the first violation it finds.
#[derive(Debug)]
pub struct Checkers {
    enabled: u8,
    committed: Committed,
    election: election_safety::ElectionSafety,
    completeness: leader_completeness::LeaderCompleteness,
    log_matching: log_matching::LogMatching,
    state_machine: state_machine::StateMachine,
    durability: durability::Durability,
    monotonicity: monotonicity::Monotonicity,
    reads: reads::Reads,
    configurations: configurations::Configurations,
}

impl Checkers {
    /// All checkers on, for a cluster of `n` servers.
    pub fn new(n: usize) -> Checkers {
        Checkers {
            enabled: Invariant::ALL.iter().fold(0, |mask, i| mask | i.bit()),
            committed: Committed::default(),
            election: Default::default(),
            completeness: leader_completeness::LeaderCompleteness::new(n),
            log_matching: Default::default(),
            state_machine: state_machine::StateMachine::new(n),
            durability: durability::Durability::new(n),
            monotonicity: monotonicity::Monotonicity::new(n),
            reads: reads::Reads::default(),
            configurations: configurations::Configurations::new(n),
        }
    }

    /// The bootstrap configuration's voters are `members` (every server unless told).
    pub fn set_bootstrap(&mut self, members: &[usize]) {
        self.durability.set_bootstrap(members);
    }

    /// Server `server`'s disk was wiped: it restarts as a new member, with no term, vote or
    /// applied state to keep monotonic.
    pub fn wiped(&mut self, server: usize) {
        self.crashed(server);
        self.monotonicity.wiped(server);
        self.state_machine.restarted(server, LogIndex(0));
    }

    /// Keeps only the `invariants` named (to show that one checker catches a fault on its own).
    pub fn only(&mut self, invariants: &[Invariant]) {
        self.enabled = invariants.iter().fold(0, |mask, i| mask | i.bit());
    }

    /// Whether `invariant` is checked.
    pub fn is_enabled(&self, invariant: Invariant) -> bool {
        self.enabled & invariant.bit() != 0
    }

    /// The highest index known committed (applied by some server), with its term.
    pub fn highest_committed(&self) -> Option<(LogIndex, Term)> {
        self.committed.highest()
    }

    /// Server `server` finished a step and its actions were all carried out: `node` is its
    /// state now.
    pub fn step_done(&mut self, server: usize, node: &RaftNode) -> Check {
        if self.is_enabled(Invariant::ElectionSafety) {
            self.election.step_done(server, node)?;
        }
        if self.is_enabled(Invariant::LeaderCompleteness) {
            self.completeness.step_done(server, node, &self.committed)?;
        }
        if self.is_enabled(Invariant::Monotonicity) {
            self.monotonicity.step_done(server, node)?;
        }
        let configurations = self.configurations.step_done(server, node);
        if self.is_enabled(Invariant::QuorumIntersection) {
            configurations?;
        }
        Ok(())
    }

    /// `node` crashes in the middle of a step: what it found committed in that step is
    /// committed all the same (a quorum holds it), though no `Apply` may have told anyone.
    pub fn saw_commit(&mut self, node: &RaftNode) {
        self.configurations.saw_commit(node);
    }

    /// A server whose configuration in force changed, or that took office, since the last call:
    /// the world then calls [`Checkers::check_overlap`] with every node.
    pub fn overlap_due(&mut self) -> Option<usize> {
        self.configurations.take_due()
    }

    /// Compares the configuration in force at `server` with every other up-to-date live
    /// server's (Quorum Intersection); `nodes` holds every server's live node.
    pub fn check_overlap(&mut self, server: usize, nodes: &[Option<&RaftNode>]) -> Check {
        match self.is_enabled(Invariant::QuorumIntersection) {
            true => self.configurations.check_overlap(server, nodes),
            false => Ok(()),
        }
    }

    /// Server `server`'s store made `change` durable (all of it, or the prefix a torn write
    /// left); `durable` is the state now.
    pub fn persisted(
        &mut self,
        server: usize,
        change: &PersistChange,
        durable: &PersistentState,
    ) -> Check {
        if self.is_enabled(Invariant::LogMatching) {
            self.log_matching.persisted(server, change, durable)?;
        }
        if self.is_enabled(Invariant::Monotonicity) {
            self.monotonicity.persisted(server, durable)?;
        }
        self.configurations.persisted(server, durable);
        Ok(())
    }

    /// Server `server`'s service applied `entry` at `index`, while the node was in `term`.
    pub fn applied(&mut self, server: usize, index: LogIndex, entry: &Entry, term: Term) -> Check {
        let digest = committed::entry_digest(entry);
        let recorded = self.committed.record(index, entry.term, Some(digest), term);
        if let Some(membership) = entry.membership() {
            self.committed.record_configuration(index, membership);
        }
        let ordered = self.state_machine.applied(server, index);
        if self.is_enabled(Invariant::StateMachineSafety) {
            recorded.map_err(|why| self.state_machine.conflict(server, why))?;
            ordered?;
        }
        Ok(())
    }

    /// Server `server`'s service installed the snapshot through `index` (whose entry has
    /// `snapshot_term`), while the node was in `term`.
    pub fn snapshot_applied(
        &mut self,
        server: usize,
        index: LogIndex,
        snapshot_term: Term,
        term: Term,
    ) -> Check {
        let recorded = self.committed.record(index, snapshot_term, None, term);
        let ordered = self.state_machine.snapshot_applied(server, index);
        if self.is_enabled(Invariant::StateMachineSafety) {
            recorded.map_err(|why| self.state_machine.conflict(server, why))?;
            ordered?;
        }
        Ok(())
    }

    /// Checks that the highest committed entry is durable on a majority; call it after any
    /// durable change or crash. `durable` yields every server's durable state, in order.
    pub fn check_durable<'a>(
        &mut self,
        durable: impl Iterator<Item = &'a PersistentState>,
    ) -> Check {
        if self.is_enabled(Invariant::Durability) {
            self.durability.check(&self.committed, durable)?;
        }
        Ok(())
    }

    /// Server `server` crashed: its volatile state is gone.
    pub fn crashed(&mut self, server: usize) {
        self.completeness.crashed(server);
        self.monotonicity.crashed(server);
        self.reads.crashed(server);
        self.configurations.crashed(server);
    }

    /// Server `server` was asked for read `id` (`Event::ReadIndex`): its floor is what is
    /// committed now.
    pub fn read_started(&mut self, server: usize, id: u64) {
        let floor = self.committed.highest().map_or(0, |(index, _)| index.0);
        self.reads.started(server, id, floor);
    }

    /// Server `server` answered read `id` with `ReadReady { index }`, after handing its
    /// service every `Apply` before it.
    pub fn read_ready(&mut self, server: usize, id: u64, index: LogIndex) -> Check {
        let applied = self.state_machine.service_applied(server);
        let checked = self.reads.ready(server, id, index.0, applied);
        match self.is_enabled(Invariant::LinearizableReads) {
            true => checked,
            false => Ok(()),
        }
    }

    /// Server `server` answered read `id` with `ReadFailed`.
    pub fn read_failed(&mut self, server: usize, id: u64) {
        self.reads.failed(server, id);
    }

    /// Server `server` restarts from `restored` (what its disk held).
    pub fn restarted(&mut self, server: usize, restored: &PersistentState) -> Check {
        self.state_machine
            .restarted(server, restored.snapshot.index);
        if self.is_enabled(Invariant::Monotonicity) {
            self.monotonicity.restarted(server, restored)?;
        }
        Ok(())
    }
}

/// The term of the entry at `index` in a durable state, if it holds that entry (or its
/// snapshot ends there).
pub(crate) fn durable_term_at(state: &PersistentState, index: LogIndex) -> Option<Term> {
    let snapshot = &state.snapshot;
    if index == snapshot.index {
        return Some(snapshot.term);
    }
    let offset = index.0.checked_sub(snapshot.index.0 + 1)?;
    state.entries.get(offset as usize).map(|e| e.term)
}
