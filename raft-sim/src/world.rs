//! The simulated world: virtual time, an event queue, the servers and the network.
//!
//! Events are ordered by (virtual time, sequence number); time jumps to the next event and
//! nothing sleeps for real. Each server's node is stepped by ticks and message deliveries, and
//! its actions are carried out in order: `Persist` to its persister, `Send` to the network,
//! `Apply` / `ApplySnapshot` to the service on top of Raft (the tester's appliers in Lab 3, the
//! key/value servers in Lab 4).

use crate::applier::Appliers;
use crate::checkers::{Checkers, Invariant, Violation};
use crate::features::Features;
use crate::network::{Call, DelayUs, Endpoint, Network};
use crate::persister::Persister;
use crate::reads::{ReadLog, ReadOutcome};
use crate::rng::{derive_seed, Stream};
use crate::service::Service;
use crate::trace::Trace;
use raft_core::{
    Action, Config, Event, LogIndex, Message, NodeId, PersistChange, PersistentState, RaftNode,
    Term,
};
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::task::Waker;

// Servers outside the bootstrap configuration, wiped disks, membership changes.
#[path = "world_membership.rs"]
mod membership;
pub use membership::ChangeAnswer;

/// Virtual time, in microseconds since the world began.
pub type SimTime = u64;

/// One millisecond of virtual time.
pub const MS: SimTime = 1000;

/// The default length of a node's tick: the core's defaults assume 10 ms.
pub const DEFAULT_TICK: SimTime = 10 * MS;

/// Which edition of the lab's harness to mirror (`docs/lab-harness.md`, "Where the editions
/// differ").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Edition {
    /// MIT 6.5840 spring 2024 (`src/raft`).
    Y2024,
    /// MIT 6.5840 spring 2025 (`src/raft1`, `tester1`).
    Y2025,
}

impl Edition {
    /// Both editions, oldest first.
    pub const ALL: [Edition; 2] = [Edition::Y2024, Edition::Y2025];

    /// "2024" or "2025".
    pub fn year(self) -> &'static str {
        match self {
            Edition::Y2024 => "2024",
            Edition::Y2025 => "2025",
        }
    }
}

/// The answer to a `Start` (the lab's `(index, term, isLeader)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StartResult {
    /// Where the command was placed (0 if not leader).
    pub index: u64,
    /// The server's current term (0 if it is down).
    pub term: u64,
    /// Whether this server accepted the command as leader.
    pub is_leader: bool,
}

struct Server {
    node: Option<RaftNode>,
    incarnation: u64,
    /// What the current (or last) incarnation made durable; a crash keeps it as it was.
    disk: Persister,
    tick: SimTime,
    /// The server crashes in the middle of its next step.
    crash_armed: bool,
    /// When its last queued (pipelined) write completes: writes complete in order.
    last_write_done: SimTime,
    /// Whether it starts as a member of the bootstrap configuration (`Config::peers`); a
    /// spare, or a server whose disk was wiped, starts with none and joins when a leader adds
    /// it.
    bootstrap: bool,
    /// Deliberately stopped by the operator (removed from the cluster): fault injectors leave
    /// it down.
    retired: bool,
}

/// A deliberately broken driver: it may change the actions of every step (of the server
/// given) before the world carries them out. See [`World::set_tamper`].
pub type Tamper = Box<dyn FnMut(usize, &mut Vec<Action>)>;

/// Where an armed crash falls in a step: after `position` actions, tearing the write at
/// `position` (if it is a `Persist`) after `torn_parts` of its parts.
#[derive(Clone, Copy, Debug)]
struct CrashPoint {
    position: usize,
    torn_parts: usize,
}

enum SimEvent {
    Tick(Endpoint),
    Deliver(Packet),
    Wake(Waker),
    /// Pipelined persistence: the endpoint's queued writes through this sequence number
    /// are durable.
    WriteDone(Endpoint, u64),
}

struct Packet {
    from: Endpoint,
    to: Endpoint,
    message: Message,
    /// A request carries its call, to which the reply will belong; a reply carries none.
    call: Option<Call>,
    bytes: usize,
    /// When it was sent (for the trace).
    sent: SimTime,
}

struct Scheduled {
    at: SimTime,
    seq: u64,
    event: SimEvent,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    /// Reversed, so that `BinaryHeap` pops the earliest event first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// The whole simulated cluster.
pub struct World {
    now: SimTime,
    seq: u64,
    queue: BinaryHeap<Scheduled>,
    servers: Vec<Server>,
    network: Network,
    service: Box<dyn Service>,
    edition: Edition,
    seed: u64,
    failure: Option<(String, SimTime)>,
    trace: Trace,
    actions: Vec<Action>,
    /// The whole-cluster safety checkers, fed after every step, write, apply and crash.
    checkers: Checkers,
    /// The invariant whose violation stopped the run, if that is what stopped it.
    violation: Option<Invariant>,
    /// Draws where armed crashes fall and what unsafe disks lose (its own stream, so lab
    /// runs, which never use it, are unchanged).
    crash_rng: Stream,
    unsafe_disks: bool,
    tamper: Option<Tamper>,
    flow: Option<FlowLimits>,
    /// Pipelined persistence: the longest a queued write takes, and the stream its delays
    /// are drawn from. `None`: nodes persist synchronously (the lab).
    pipelined: Option<(SimTime, Stream)>,
    /// The production features nodes start with (all off in the lab).
    features: Features,
    /// Clocks run within this many percent of the nominal rate (0 in the lab).
    clock_skew: u64,
    /// Reads asked for (`World::read`) and their answers.
    reads: ReadLog,
    /// The bootstrap configuration's voters (every server unless [`World::set_bootstrap`]
    /// said otherwise).
    bootstrap: Vec<NodeId>,
    /// Why the last proposal or change was refused, if it was.
    refusal: Option<raft_core::Refusal>,
    /// Per server, the configuration last traced (traced only when it departs from the
    /// bootstrap one, so runs without membership changes trace nothing new).
    traced_membership: Vec<Option<raft_core::Membership>>,
}

/// The core's batching and flow-control knobs ([`Config`]'s `max_entries_per_message`,
/// `max_bytes_per_message`, `max_inflight_messages`) for every node started from now on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowLimits {
    /// Entries per AppendEntries.
    pub max_entries: usize,
    /// Command bytes per AppendEntries (at least one entry always goes).
    pub max_bytes: usize,
    /// Unacknowledged AppendEntries per follower.
    pub max_inflight: u32,
}

impl World {
    /// `n` servers, none started yet, on a reliable network, with the tester's appliers (the
    /// plain or the snapshotting one) on top of Raft; trace lines kept if `trace`.
    pub fn new(n: usize, seed: u64, edition: Edition, snapshotting: bool, trace: bool) -> World {
        World::with_trace(n, seed, edition, snapshotting, Trace::new(trace))
    }

    /// Like [`World::new`], recording into `trace` (which may stream to a file).
    pub fn with_trace(
        n: usize,
        seed: u64,
        edition: Edition,
        snapshotting: bool,
        trace: Trace,
    ) -> World {
        let forget = edition == Edition::Y2025;
        let appliers = Appliers::new(n, snapshotting).forgetting_on_restart(forget);
        World::with_service(n, seed, edition, Box::new(appliers), trace)
    }

    /// `n` servers, none started yet, on a reliable network, with `service` on top of Raft,
    /// recording into `trace`.
    pub fn with_service(
        n: usize,
        seed: u64,
        edition: Edition,
        service: Box<dyn Service>,
        trace: Trace,
    ) -> World {
        World {
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            servers: (0..n)
                .map(|_| Server {
                    node: None,
                    incarnation: 0,
                    disk: Persister::default(),
                    tick: DEFAULT_TICK,
                    crash_armed: false,
                    last_write_done: 0,
                    bootstrap: true,
                    retired: false,
                })
                .collect(),
            network: Network::new(n, seed),
            service,
            edition,
            seed,
            failure: None,
            trace,
            actions: Vec::new(),
            checkers: Checkers::new(n),
            violation: None,
            crash_rng: Stream::new(seed, "crash-points", 0),
            unsafe_disks: false,
            tamper: None,
            flow: None,
            pipelined: None,
            features: Features::default(),
            clock_skew: 0,
            reads: ReadLog::default(),
            bootstrap: (0..n).map(|j| NodeId(j as u64)).collect(),
            refusal: None,
            traced_membership: vec![None; n],
        }
    }

    /// The current virtual time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// The number of servers.
    pub fn n(&self) -> usize {
        self.servers.len()
    }

    /// The edition being mirrored.
    pub fn edition(&self) -> Edition {
        self.edition
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The network (knobs and counters).
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The network, to change its knobs.
    pub fn network_mut(&mut self) -> &mut Network {
        &mut self.network
    }

    /// The service on top of Raft.
    pub fn service(&self) -> &dyn Service {
        self.service.as_ref()
    }

    /// The service on top of Raft, mutably.
    pub fn service_mut(&mut self) -> &mut dyn Service {
        self.service.as_mut()
    }

    /// The tester's applied logs (Lab 3 worlds only).
    pub fn appliers(&self) -> &Appliers {
        self.service
            .as_any()
            .downcast_ref()
            .expect("a Lab 3 query on a world without the tester's appliers")
    }

    /// The tester's appliers, to change their snapshot policy (Lab 3 worlds only).
    pub fn appliers_mut(&mut self) -> &mut Appliers {
        self.service
            .as_any_mut()
            .downcast_mut()
            .expect("a Lab 3 query on a world without the tester's appliers")
    }

    /// The first failure recorded (an apply check, a failed test task, or a core bug seen
    /// by the driver), with its virtual time.
    pub fn failure(&self) -> Option<(&str, SimTime)> {
        self.failure.as_ref().map(|(why, at)| (why.as_str(), *at))
    }

    /// Records a failure; the run stops before the next event.
    pub fn fail(&mut self, why: String) {
        self.fail_with(why, None);
    }

    /// Records a checker's violation as the run's failure.
    fn violated(&mut self, violation: Violation) {
        self.fail_with(violation.to_string(), Some(violation.invariant));
    }

    fn fail_with(&mut self, why: String, invariant: Option<Invariant>) {
        if self.failure.is_none() {
            self.trace.fail(self.now, &why, invariant);
            self.failure = Some((why, self.now));
            self.violation = invariant;
        }
    }

    /// The invariant whose violation stopped the run, if a checker stopped it.
    pub fn violation(&self) -> Option<Invariant> {
        self.violation
    }

    /// The whole-cluster checkers.
    pub fn checkers(&self) -> &Checkers {
        &self.checkers
    }

    /// The checkers, to choose which run.
    pub fn checkers_mut(&mut self) -> &mut Checkers {
        &mut self.checkers
    }

    /// Installs a broken driver: `tamper` sees (and may change) every step's actions before
    /// they are carried out. For tests that show the checkers catch what such a driver does;
    /// a correct run never uses it.
    pub fn set_tamper(&mut self, tamper: Option<Tamper>) {
        self.tamper = tamper;
    }

    /// Delivers `message` to server `to` now, as if `from` had sent it: a forged message.
    pub fn inject(&mut self, from: usize, to: usize, message: Message) {
        let endpoint = |i: usize| Endpoint {
            server: i,
            incarnation: self.servers[i].incarnation,
        };
        let (from, to) = (endpoint(from), endpoint(to));
        let call = message.is_request().then(|| self.network.start_call(from));
        let bytes = message.encoded_len();
        let packet = Packet {
            from,
            to,
            message,
            call,
            bytes,
            sent: self.now,
        };
        self.schedule(0, SimEvent::Deliver(packet));
    }

    /// Makes every disk unsafe: at a crash it may lose the last write it reported done (see
    /// [`Persister::lose_last_write`]). Raft cannot be safe on such disks; this shows that the
    /// checkers notice.
    pub fn set_unsafe_disks(&mut self, on: bool) {
        self.unsafe_disks = on;
        for server in &mut self.servers {
            server.disk.set_unsafe(on);
        }
    }

    /// Nodes started from now on use these batching and flow-control limits instead of the
    /// core's defaults.
    pub fn set_flow_limits(&mut self, flow: FlowLimits) {
        self.flow = Some(flow);
    }

    /// Nodes started from now on pipeline their own appends (`Config::pipelined_persistence`);
    /// each such write completes after up to `max_delay`, in order, and a crash loses the
    /// writes still queued (but a random prefix of them, the last perhaps torn).
    pub fn set_pipelined(&mut self, max_delay: SimTime) {
        let stream = Stream::new(self.seed, "disk-latency", 0);
        self.pipelined = Some((max_delay, stream));
    }

    /// Nodes started from now on run with these production features (PreVote, CheckQuorum,
    /// ReadIndex, lease reads).
    pub fn set_features(&mut self, features: Features) {
        self.features = features;
    }

    /// The production features nodes start with.
    pub fn features(&self) -> Features {
        self.features
    }

    /// Every server's clock runs at its own rate, within `percent` of the nominal one: its
    /// tick lasts `DEFAULT_TICK · (100 ± percent) / 100`, drawn per server from a stream of
    /// its own (so runs without skew draw nothing). 0 puts every clock back at the nominal
    /// rate.
    pub fn set_clock_skew(&mut self, percent: u64) {
        let percent = percent.min(90);
        self.clock_skew = percent;
        for i in 0..self.servers.len() {
            let mut draw = Stream::new(self.seed, "clock-skew", i as u64);
            let rate = 100 - percent + draw.below(2 * percent + 1);
            self.set_tick(i, DEFAULT_TICK * rate / 100);
        }
    }

    /// The clock skew set by [`World::set_clock_skew`] (percent).
    pub fn clock_skew(&self) -> u64 {
        self.clock_skew
    }

    /// Asks server `i` for a linearizable read (`Event::ReadIndex`); returns the read's id
    /// (see [`World::read_outcome`]), or `None` if the server is down.
    pub fn read(&mut self, i: usize) -> Option<u64> {
        self.servers[i].node.as_ref()?;
        let id = self.reads.next_id();
        self.checkers.read_started(i, id);
        self.trace.note(self.now, &format!("s{i} read #{id} asked"));
        self.step(i, Event::ReadIndex { id }, None);
        Some(id)
    }

    /// How read `id` was answered, if it has been.
    pub fn read_outcome(&self, id: u64) -> Option<ReadOutcome> {
        self.reads.outcome(id)
    }

    /// Every read asked for, and its answer.
    pub fn reads(&self) -> &ReadLog {
        &self.reads
    }

    /// Hands leadership from server `i` to server `to` (`Event::TransferLeader`), if `i` is up.
    pub fn transfer_leader(&mut self, i: usize, to: usize) {
        if self.servers[i].node.is_some() {
            let to = NodeId(to as u64);
            self.trace
                .note(self.now, &format!("s{i} transfers to {to}"));
            self.step(i, Event::TransferLeader { to }, None);
        }
    }

    /// Disarms a crash armed by [`Self::crash_in_next_step`] that has not happened yet.
    pub fn cancel_crash(&mut self, i: usize) {
        self.servers[i].crash_armed = false;
    }

    /// Server `i` crashes inside its next step that writes to its disk: after a random number
    /// of that step's actions, possibly in the middle of the write (a torn write).
    pub fn crash_in_next_step(&mut self, i: usize) {
        if self.servers[i].node.is_some() {
            self.servers[i].crash_armed = true;
        }
    }

    /// Adds a harness step to the trace.
    pub fn trace_note(&mut self, now: SimTime, text: impl std::fmt::Display) {
        self.trace.note_display(now, text);
    }

    /// The trace recorder.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// The trace recorder, to add lines or finish it.
    pub fn trace_mut(&mut self) -> &mut Trace {
        &mut self.trace
    }

    /// Sets how long server `i`'s ticks are, from its next tick on (clock rate, for skew).
    pub fn set_tick(&mut self, i: usize, tick: SimTime) {
        self.servers[i].tick = tick.max(1);
    }

    /// Whether server `i` has a live node.
    pub fn is_alive(&self, i: usize) -> bool {
        self.servers[i].node.is_some()
    }

    /// The live node of server `i`.
    pub fn node(&self, i: usize) -> Option<&RaftNode> {
        self.servers[i].node.as_ref()
    }

    /// The lab's `GetState()`: (term, is leader); (0, false) for a crashed server.
    pub fn get_state(&self, i: usize) -> (u64, bool) {
        self.node(i)
            .map_or((0, false), |n| (n.term().0, n.is_leader()))
    }

    /// The encoded size of server `i`'s durable raft state, snapshot data excluded.
    pub fn raft_state_size(&self, i: usize) -> usize {
        self.servers[i].disk.state().raft_state_size()
    }

    /// What server `i` has made durable.
    pub fn durable(&self, i: usize) -> &PersistentState {
        self.servers[i].disk.state()
    }

    /// The size of server `i`'s durable snapshot data (the lab's `SnapshotSize()`).
    pub fn snapshot_size(&self, i: usize) -> usize {
        self.servers[i].disk.state().snapshot.data.len()
    }

    /// The incarnation of server `i` (how many times it was started).
    pub fn incarnation(&self, i: usize) -> u64 {
        self.servers[i].incarnation
    }

    /// Starts a new incarnation of server `i` from its durable state, disconnected (the lab's
    /// `start1` / `StartServer`). The tester's applied log is reset per the edition.
    pub fn start_server(&mut self, i: usize) {
        self.crash(i);
        let server = &mut self.servers[i];
        server.incarnation += 1;
        let incarnation = server.incarnation;
        let checked = self.checkers.restarted(i, self.servers[i].disk.state());
        if let Err(violation) = checked {
            self.violated(violation);
        }
        // Round-trip through the encoding, exactly as a real restart reads its disk.
        let restored = match PersistentState::decode(&self.servers[i].disk.state().encode()) {
            Ok(restored) => restored,
            Err(e) => {
                let why =
                    format!("server {i} cannot restart: the core wrote a state it rejects: {e}");
                return self.fail(why);
            }
        };
        let snapshot = restored.snapshot.data.clone();
        let peers = match self.servers[i].bootstrap {
            true => self.bootstrap.clone(),
            false => Vec::new(), // it joins: the leader's entries bring its configuration
        };
        let seed = derive_seed(self.seed, "node", (i as u64) << 32 | incarnation);
        let mut config = Config::new(NodeId(i as u64), peers, seed);
        config.pipelined_persistence = self.pipelined.is_some();
        self.features.apply(&mut config);
        if let Some(flow) = self.flow {
            config.max_entries_per_message = flow.max_entries;
            config.max_bytes_per_message = flow.max_bytes;
            config.max_inflight_messages = flow.max_inflight;
        }
        let node = RaftNode::new(config, Some(restored)).expect("valid configuration");
        self.servers[i].node = Some(node);
        self.network.register(i, incarnation);
        if let Err(why) = self.service.start(i, &snapshot) {
            self.fail(why);
        }
        // Tick phases differ between servers and incarnations, as real clocks do.
        let tick = self.servers[i].tick;
        let phase =
            Stream::new(self.seed, "tick-phase", (i as u64) << 32 | incarnation).below(tick);
        let endpoint = Endpoint {
            server: i,
            incarnation,
        };
        self.schedule(phase + 1, SimEvent::Tick(endpoint));
        if let Some(node) = &self.servers[i].node {
            self.trace.start(self.now, i, incarnation, node);
            let membership = node.membership().clone();
            self.membership_changed(i, membership);
        }
    }

    /// Crashes server `i`: unplugged, its node and volatile state dropped, its durable state
    /// kept as it was at this instant (the lab's `crash1` / `ShutdownServer`).
    pub fn crash(&mut self, i: usize) {
        self.servers[i].crash_armed = false;
        if self.servers[i].node.take().is_some() {
            self.trace.crash(self.now, i);
            self.checkers.crashed(i);
            self.service.crash(i);
            match self.servers[i].disk.crash_queued(&mut self.crash_rng) {
                Ok(written) => self.observe_writes(i, &written),
                Err(e) => self.fail(format!("core bug: server {i} asked for {e}")),
            }
            if self.unsafe_disks
                && self.crash_rng.chance(500)
                && self.servers[i].disk.lose_last_write()
            {
                self.trace.disk_lost(self.now, i);
            }
            self.check_durable();
        }
        self.network.set_connected(i, false);
        self.network.unregister(i);
    }

    /// The lab's `Start(command)` on server `i`.
    pub fn start(&mut self, i: usize, command: raft_core::SharedBytes) -> StartResult {
        let Some(node) = &self.servers[i].node else {
            return StartResult {
                index: 0,
                term: 0,
                is_leader: false,
            };
        };
        let not_leader = StartResult {
            index: 0,
            term: node.term().0,
            is_leader: false,
        };
        let answer = self.step(i, Event::Propose { command }, None);
        answer.map_or(not_leader, |(index, term)| StartResult {
            index,
            term,
            is_leader: true,
        })
    }

    /// Schedules `waker` to be woken at `at`.
    pub fn wake_at(&mut self, at: SimTime, waker: Waker) {
        let delay = at.saturating_sub(self.now);
        self.schedule(delay, SimEvent::Wake(waker));
    }

    fn schedule(&mut self, delay: DelayUs, event: SimEvent) {
        self.seq += 1;
        self.queue.push(Scheduled {
            at: self.now + delay,
            seq: self.seq,
            event,
        });
    }

    /// Runs the next event, if any. Wake-ups are returned for the executor.
    pub fn run_next(&mut self) -> Option<Option<Waker>> {
        let Scheduled { at, event, .. } = self.queue.pop()?;
        self.now = at;
        match event {
            SimEvent::Wake(waker) => return Some(Some(waker)),
            SimEvent::Tick(endpoint) => self.tick(endpoint),
            SimEvent::Deliver(packet) => self.deliver(packet),
            SimEvent::WriteDone(endpoint, sequence) => self.write_done(endpoint, sequence),
        }
        Some(None)
    }

    fn tick(&mut self, endpoint: Endpoint) {
        let server = &self.servers[endpoint.server];
        if server.incarnation != endpoint.incarnation || server.node.is_none() {
            return; // a tick of a crashed incarnation: its clock stopped
        }
        let tick = server.tick;
        self.step(endpoint.server, Event::Tick, None);
        self.schedule(tick, SimEvent::Tick(endpoint));
    }

    fn deliver(&mut self, packet: Packet) {
        let arrived = match packet.call {
            Some(_) => self.network.request_arrives(packet.to),
            None => self.network.reply_arrives(packet.to, packet.bytes),
        };
        let (from, to) = (packet.from.server, packet.to.server);
        if !arrived {
            let why = "receiver restarted or crashed";
            self.trace.dropped(self.now, from, to, &packet.message, why);
            return;
        }
        let sent = Some(packet.sent);
        self.trace
            .delivered(self.now, sent, from, to, &packet.message);
        let event = Event::Receive {
            from: NodeId(from as u64),
            message: packet.message,
        };
        self.step(to, event, packet.call);
    }

    /// Steps server `i`'s node and carries out its actions in order. `call` is the call of the
    /// request being handled, if any: a reply to it travels back on that call.
    /// Returns the answer to a proposal.
    fn step(&mut self, i: usize, event: Event, call: Option<Call>) -> Option<(u64, u64)> {
        let mut actions = std::mem::take(&mut self.actions);
        let node = self.servers[i].node.as_mut().expect("stepping a live node");
        let (role_before, commit_before) = (node.role(), node.commit_index());
        node.step_into(event, &mut actions);
        let term = node.term();
        if node.role() != role_before {
            self.trace.role(self.now, i, node.role(), term);
        }
        if node.commit_index() != commit_before && self.trace.is_recording() {
            self.trace.commit(self.now, i, node.commit_index());
        }
        if let Some(tamper) = &mut self.tamper {
            tamper(i, &mut actions);
        }
        let crash = self.draw_crash_point(i, &actions);
        let completed = crash.is_none_or(|c| c.position >= actions.len());
        let me = Endpoint {
            server: i,
            incarnation: self.servers[i].incarnation,
        };
        let mut answer = None;
        let mut compact = Vec::new();
        let mut persisted = Vec::new();
        for (k, action) in actions.drain(..).enumerate() {
            if let Some(crash) = crash.filter(|c| c.position == k) {
                if let Action::Persist(change) | Action::PersistAsync { change, .. } = &action {
                    self.persist_torn(i, change, crash.torn_parts);
                }
                break;
            }
            match action {
                Action::Persist(change) => self.persist(i, &change),
                // Pipelined persistence (off in lab runs).
                Action::PersistAsync {
                    change,
                    index,
                    term,
                } => match self.pipelined.is_some() {
                    true => self.queue_write(me, change, index, term),
                    false => {
                        self.persist(i, &change);
                        persisted.push(Event::Persisted { index, term });
                    }
                },
                Action::Send { to, message } => self.transmit(me, to, message, call),
                Action::Apply { index, entry } => {
                    self.trace.apply(self.now, i, index, &entry.command);
                    if let Err(violation) = self.checkers.applied(i, index, &entry, term) {
                        self.violated(violation);
                    }
                    let durable = self.servers[i].disk.state();
                    // A configuration entry means nothing to the service: it gets a no-op.
                    let command = match entry.membership() {
                        Some(_) => &[][..],
                        None => &entry.command[..],
                    };
                    match self.service.apply(i, index.0, command, durable) {
                        Ok(Some(snapshot)) => compact.push((index, snapshot)),
                        Ok(None) => {}
                        Err(why) => self.fail(why),
                    }
                    self.check_durable();
                }
                Action::ApplySnapshot {
                    index,
                    term: snapshot_term,
                    data,
                } => {
                    self.trace.install_snapshot(self.now, i, index);
                    let checked = self
                        .checkers
                        .snapshot_applied(i, index, snapshot_term, term);
                    if let Err(violation) = checked {
                        self.violated(violation);
                    }
                    if let Err(why) = self.service.apply_snapshot(i, index.0, &data) {
                        self.fail(why);
                    }
                }
                Action::Proposed { index, term } => answer = Some((index.0, term.0)),
                Action::ProposedBatch { first_index, term } => {
                    answer = Some((first_index.0, term.0))
                }
                Action::NotLeader { leader_hint } => {
                    answer = None;
                    self.refusal = Some(raft_core::Refusal::NotLeader { leader_hint });
                }
                Action::Refused { reason } => {
                    answer = None;
                    self.refusal = Some(reason);
                }
                Action::MembershipProposed { index, term } => answer = Some((index.0, term.0)),
                Action::MembershipChanged { membership } => self.membership_changed(i, membership),
                Action::ReadReady { id, index } => self.read_ready(i, id, index),
                Action::ReadFailed { id, reason } => {
                    self.trace
                        .note(self.now, &format!("s{i} read #{id} failed: {reason:?}"));
                    self.checkers.read_failed(i, id);
                    self.reads.answered(id, ReadOutcome::Failed(reason));
                }
            }
        }
        self.actions = actions;
        if completed {
            // Every action was carried out: the node has acted on its new state.
            let node = self.servers[i].node.as_ref().expect("still alive");
            if let Err(violation) = self.checkers.step_done(i, node) {
                self.violated(violation);
            }
            if let Some(server) = self.checkers.overlap_due() {
                let nodes: Vec<Option<&RaftNode>> =
                    self.servers.iter().map(|s| s.node.as_ref()).collect();
                if let Err(violation) = self.checkers.check_overlap(server, &nodes) {
                    self.violated(violation);
                }
            }
        }
        if crash.is_some() {
            // What the node found committed is committed, whether or not it lives to say so.
            let node = self.servers[i].node.as_ref().expect("still alive");
            self.checkers.saw_commit(node);
            self.crash(i);
            return None;
        }
        for event in persisted {
            self.step(i, event, None);
        }
        // The snapshot applier calls Snapshot() right after applying 9, 19, …
        for (index, data) in compact {
            if self.servers[i].node.is_none() {
                break; // it crashed while writing an earlier snapshot of this batch
            }
            self.step(
                i,
                Event::Snapshot {
                    index: LogIndex(index.0),
                    data,
                },
                None,
            );
        }
        answer
    }

    /// Server `i` answered read `id` at `index`: the checker judges it.
    fn read_ready(&mut self, i: usize, id: u64, index: LogIndex) {
        let applied = self.servers[i]
            .node
            .as_ref()
            .map_or(0, |n| n.last_applied().0);
        self.trace
            .note(self.now, &format!("s{i} read #{id} ready at {index}"));
        if let Err(violation) = self.checkers.read_ready(i, id, index) {
            self.violated(violation);
        }
        let outcome = ReadOutcome::Ready {
            index: index.0,
            applied,
        };
        self.reads.answered(id, outcome);
    }

    /// If server `i` is armed to crash and this step writes, where: after how many of its `actions`,
    /// and how much of a `Persist` at that point reaches the disk.
    fn draw_crash_point(&mut self, i: usize, actions: &[Action]) -> Option<CrashPoint> {
        let writes = actions
            .iter()
            .any(|a| matches!(a, Action::Persist(_) | Action::PersistAsync { .. }));
        if !self.servers[i].crash_armed || !writes {
            return None;
        }
        self.servers[i].crash_armed = false;
        let position = self.crash_rng.below(actions.len() as u64 + 1) as usize;
        let torn_parts = match actions.get(position) {
            Some(Action::Persist(change) | Action::PersistAsync { change, .. }) => {
                self.crash_rng.below(change.parts() as u64) as usize
            }
            _ => 0,
        };
        Some(CrashPoint {
            position,
            torn_parts,
        })
    }

    /// Makes `change` durable on server `i`'s disk.
    fn persist(&mut self, i: usize, change: &PersistChange) {
        // A disk writes in order: whatever was queued before this write completes first.
        match self.servers[i].disk.complete_all() {
            Ok(written) => self.observe_writes(i, &written),
            Err(e) => return self.fail(format!("core bug: server {i} asked for {e}")),
        }
        self.trace.persist(self.now, i, change);
        if let Err(e) = self.servers[i].disk.apply(change) {
            self.fail(format!("core bug: server {i} asked for {e}"));
            return;
        }
        let checked = self
            .checkers
            .persisted(i, change, self.servers[i].disk.state());
        if let Err(violation) = checked {
            self.violated(violation);
        }
        self.check_durable();
    }

    /// Queues an asynchronous write of server `me`, to complete after a drawn delay, in order.
    fn queue_write(&mut self, me: Endpoint, change: PersistChange, index: LogIndex, term: Term) {
        let (max_delay, stream) = self.pipelined.as_mut().expect("pipelined");
        let delay = stream.below(*max_delay + 1);
        let sequence = self.servers[me.server].disk.begin(change, index, term);
        let server = &mut self.servers[me.server];
        let at = (self.now + delay).max(server.last_write_done);
        server.last_write_done = at;
        self.schedule(at - self.now, SimEvent::WriteDone(me, sequence));
    }

    /// Queued writes of `endpoint` through `sequence` are durable: tell the node.
    fn write_done(&mut self, endpoint: Endpoint, sequence: u64) {
        let i = endpoint.server;
        if !self.network.is_alive(endpoint) {
            return; // a crash already decided what became of them
        }
        let completed = match self.servers[i].disk.complete_through(sequence) {
            Ok(completed) => completed,
            Err(e) => return self.fail(format!("core bug: server {i} asked for {e}")),
        };
        for (change, done) in completed {
            self.observe_writes(i, std::slice::from_ref(&change));
            if self.servers[i].node.is_some() {
                let event = Event::Persisted {
                    index: done.index,
                    term: done.term,
                };
                self.step(i, event, None);
            }
        }
    }

    /// Traces and checks writes that reached server `i`'s disk outside `persist`.
    fn observe_writes(&mut self, i: usize, written: &[PersistChange]) {
        for change in written {
            self.trace.persist(self.now, i, change);
            let checked = self
                .checkers
                .persisted(i, change, self.servers[i].disk.state());
            if let Err(violation) = checked {
                self.violated(violation);
            }
        }
        if !written.is_empty() {
            self.check_durable();
        }
    }

    /// A crash tears the write of `change`: only its first `parts` parts reach the disk.
    fn persist_torn(&mut self, i: usize, change: &PersistChange, parts: usize) {
        let written = match self.servers[i].disk.apply_torn(change, parts) {
            Ok(written) => written,
            Err(e) => return self.fail(format!("core bug: server {i} asked for {e}")),
        };
        let of = change.parts();
        self.trace.torn_write(self.now, i, parts, of);
        let checked = self
            .checkers
            .persisted(i, &written, self.servers[i].disk.state());
        if let Err(violation) = checked {
            self.violated(violation);
        }
    }

    /// The highest committed entry must be durable on a majority (the Durability checker).
    fn check_durable(&mut self) {
        let disks = self.servers.iter().map(|s| s.disk.state());
        if let Err(violation) = self.checkers.check_durable(disks) {
            self.violated(violation);
        }
    }

    /// Hands a message to the network. A reply to the request being handled rides back on
    /// that call; every request is a new call.
    fn transmit(&mut self, from: Endpoint, to: NodeId, message: Message, call: Option<Call>) {
        let Ok(target) = usize::try_from(to.0) else {
            return;
        };
        if target >= self.servers.len() {
            return;
        }
        let bytes = message.encoded_len();
        if message.is_request() {
            let to = Endpoint {
                server: target,
                incarnation: self.servers[target].incarnation,
            };
            let call = Some(self.network.start_call(from));
            let reachable = self.network.link_up(from, to);
            let delays = self.network.send_request(from, to, bytes);
            if delays.is_empty() {
                let why = if reachable { "lost" } else { "unreachable" };
                self.trace
                    .dropped(self.now, from.server, target, &message, why);
            }
            for delay in delays {
                let packet = Packet {
                    from,
                    to,
                    message: message.clone(),
                    call,
                    bytes,
                    sent: self.now,
                };
                self.schedule(delay, SimEvent::Deliver(packet));
            }
            return;
        }
        let Some(call) = call.filter(|c| c.caller.server == target) else {
            return; // a reply with no call to ride on: the core never sends one
        };
        let reachable = self.network.link_up(call.caller, from);
        match self.network.send_reply(from, call) {
            Some(delay) => {
                let packet = Packet {
                    from,
                    to: call.caller,
                    message,
                    call: None,
                    bytes,
                    sent: self.now,
                };
                self.schedule(delay, SimEvent::Deliver(packet));
            }
            None => {
                let why = if reachable { "lost" } else { "call cut" };
                self.trace
                    .dropped(self.now, from.server, target, &message, why);
            }
        }
    }
}
