//! The simulated world: virtual time, an event queue, the servers and the network.
//!
//! Events are ordered by (virtual time, sequence number); time jumps to the next event and
//! nothing sleeps for real. Each server's node is stepped by ticks and message deliveries, and
//! its actions are carried out in order: `Persist` to its persister, `Send` to the network,
//! `Apply` / `ApplySnapshot` to the service on top of Raft (the tester's appliers in Lab 3, the
//! key/value servers in Lab 4).

use crate::applier::Appliers;
use crate::network::{Call, DelayUs, Endpoint, Network};
use crate::rng::{derive_seed, Stream};
use crate::service::Service;
use crate::trace::Trace;
use raft_core::{Action, Config, Event, LogIndex, Message, NodeId, PersistentState, RaftNode};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use std::task::Waker;

/// Virtual time, in microseconds since the world began.
pub type SimTime = u64;

/// One millisecond of virtual time.
pub const MS: SimTime = 1000;

/// The default length of a node's tick: the core's defaults assume 10 ms.
pub const DEFAULT_TICK: SimTime = 10 * MS;

/// Which edition of the lab's harness to mirror (lab-tests.md §E).
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
    durable: PersistentState,
    tick: SimTime,
}

enum SimEvent {
    Tick(Endpoint),
    Deliver(Packet),
    Wake(Waker),
}

struct Packet {
    from: Endpoint,
    to: Endpoint,
    message: Message,
    /// A request carries its call, to which the reply will belong; a reply carries none.
    call: Option<Call>,
    bytes: usize,
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
    /// Who led each term: Election Safety (§5.2) is checked after every step, which is
    /// stricter than the lab's twice-a-second polls and never looser.
    leaders: BTreeMap<u64, usize>,
}

impl World {
    /// `n` servers, none started yet, on a reliable network, with the tester's appliers (the
    /// plain or the snapshotting one) on top of Raft.
    pub fn new(n: usize, seed: u64, edition: Edition, snapshotting: bool, trace: bool) -> World {
        let forget = edition == Edition::Y2025;
        let appliers = Appliers::new(n, snapshotting).forgetting_on_restart(forget);
        World::with_service(n, seed, edition, Box::new(appliers), trace)
    }

    /// `n` servers, none started yet, on a reliable network, with `service` on top of Raft.
    pub fn with_service(
        n: usize,
        seed: u64,
        edition: Edition,
        service: Box<dyn Service>,
        trace: bool,
    ) -> World {
        World {
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            servers: (0..n)
                .map(|_| Server {
                    node: None,
                    incarnation: 0,
                    durable: PersistentState::default(),
                    tick: DEFAULT_TICK,
                })
                .collect(),
            network: Network::new(n, seed),
            service,
            edition,
            seed,
            failure: None,
            trace: Trace::new(trace),
            actions: Vec::new(),
            leaders: BTreeMap::new(),
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

    /// The first failure recorded (an apply check, a failed test task, or a core bug seen
    /// by the driver), with its virtual time.
    pub fn failure(&self) -> Option<(&str, SimTime)> {
        self.failure.as_ref().map(|(why, at)| (why.as_str(), *at))
    }

    /// Records a failure; the run stops before the next event.
    pub fn fail(&mut self, why: String) {
        if self.failure.is_none() {
            self.trace.note(self.now, &format!("FAIL {why}"));
            self.failure = Some((why, self.now));
        }
    }

    /// Adds a harness step to the trace.
    pub fn trace_note(&mut self, now: SimTime, text: String) {
        self.trace.note(now, &text);
    }

    /// The trace recorder.
    pub fn trace(&self) -> &Trace {
        &self.trace
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
        self.servers[i].durable.raft_state_size()
    }

    /// The size of server `i`'s durable snapshot data (the lab's `SnapshotSize()`).
    pub fn snapshot_size(&self, i: usize) -> usize {
        self.servers[i].durable.snapshot.data.len()
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
        // Round-trip through the encoding, exactly as a real restart reads its disk.
        let restored = PersistentState::decode(&server.durable.encode())
            .expect("the simulator's own persister is never corrupt");
        let snapshot = restored.snapshot.data.clone();
        let peers = (0..self.servers.len()).map(|j| NodeId(j as u64)).collect();
        let seed = derive_seed(self.seed, "node", (i as u64) << 32 | incarnation);
        let config = Config::new(NodeId(i as u64), peers, seed);
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
        self.trace
            .note(self.now, &format!("start s{i}#{incarnation}"));
    }

    /// Crashes server `i`: unplugged, its node and volatile state dropped, its durable state
    /// kept as it was at this instant (the lab's `crash1` / `ShutdownServer`).
    pub fn crash(&mut self, i: usize) {
        if self.servers[i].node.take().is_some() {
            self.trace.note(self.now, &format!("crash s{i}"));
            self.service.crash(i);
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
        if !arrived {
            return;
        }
        let (from, to) = (packet.from.server, packet.to.server);
        self.trace.message(self.now, from, to, &packet.message);
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
        node.step_into(event, &mut actions);
        if node.is_leader() {
            let term = node.term().0;
            if let Some(&other) = self.leaders.get(&term).filter(|&&other| other != i) {
                self.fail(format!(
                    "election safety: servers {other} and {i} both lead term {term}"
                ));
            }
            self.leaders.insert(term, i);
        }
        let me = Endpoint {
            server: i,
            incarnation: self.servers[i].incarnation,
        };
        let mut answer = None;
        let mut compact = Vec::new();
        for action in actions.drain(..) {
            match action {
                Action::Persist(change) => {
                    if let Err(e) = self.servers[i].durable.apply(&change) {
                        self.fail(format!("core bug: server {i} asked for {e}"));
                    }
                }
                Action::Send { to, message } => self.transmit(me, to, message, call),
                Action::Apply { index, entry } => {
                    self.trace.apply(self.now, i, index, &entry.command);
                    let durable = &self.servers[i].durable;
                    match self.service.apply(i, index.0, &entry.command, durable) {
                        Ok(Some(snapshot)) => compact.push((index, snapshot)),
                        Ok(None) => {}
                        Err(why) => self.fail(why),
                    }
                }
                Action::ApplySnapshot { index, data, .. } => {
                    self.trace
                        .note(self.now, &format!("s{i} installs snapshot {index}"));
                    if let Err(why) = self.service.apply_snapshot(i, index.0, &data) {
                        self.fail(why);
                    }
                }
                Action::Proposed { index, term } => answer = Some((index.0, term.0)),
                Action::NotLeader { .. } => answer = None,
            }
        }
        self.actions = actions;
        // The snapshot applier calls Snapshot() right after applying 9, 19, … (lab §B.2).
        for (index, data) in compact {
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
            for delay in self.network.send_request(from, to, bytes) {
                let packet = Packet {
                    from,
                    to,
                    message: message.clone(),
                    call,
                    bytes,
                };
                self.schedule(delay, SimEvent::Deliver(packet));
            }
            return;
        }
        let Some(call) = call.filter(|c| c.caller.server == target) else {
            return; // a reply with no call to ride on: the core never sends one
        };
        if let Some(delay) = self.network.send_reply(from, call) {
            let packet = Packet {
                from,
                to: call.caller,
                message,
                call: None,
                bytes,
            };
            self.schedule(delay, SimEvent::Deliver(packet));
        }
    }
}
