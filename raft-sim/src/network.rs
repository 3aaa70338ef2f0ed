//! The lab's network (labrpc) on messages; `docs/lab-harness.md` describes the model.
//!
//! A request and its reply are separate messages. The fate of each is drawn here, from the
//! network's own random stream, in the order the lab draws it:
//! - a request to an unreachable target (disconnected, cut, or crashed) is lost;
//! - unreliable: a request is delayed 0–26 ms, then 10 % are dropped; 10 % of replies are
//!   dropped after the handler ran;
//! - long reordering: 2/3 of replies arrive 200 + U[0, U[0, 1999]] ms late, and are not
//!   re-checked against later cuts;
//! - a reply is lost if the link was cut (or either side crashed) while its request was in
//!   flight, as labrpc turns such calls into failures.
//!
//! The lab's "long delays" (an RPC to an unreachable server fails only after up to 7 s) only
//! block the calling goroutine in Go; with messages nothing waits, so it has no counterpart.
//! Beyond the lab: one-way link cuts, message duplication and extra latency, drawn from a
//! separate stream so that turning them on never changes the lab's draws.
//!
//! Lab 4's clerks call servers through the same model ([`Network::clerk_call`]), on a stream
//! of their own: a call to a server its end cannot reach fails after 0–99 ms (the lab never
//! turns long delays on in Lab 4); otherwise the unreliable request delay and drop, and the
//! reply drop, are those of the servers' RPCs.

use crate::rng::Stream;
use indexmap::IndexSet;

/// One incarnation of one server: a restart makes a new endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The server's index.
    pub server: usize,
    /// Which incarnation of it.
    pub incarnation: u64,
}

/// What labrpc fixes when a call starts: who called, and whether the network
/// was reliable and reordering then. The reply's fate follows these, not later changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    /// The calling endpoint.
    pub caller: Endpoint,
    /// The `reliable` flag when the call started.
    pub reliable: bool,
    /// The `longReordering` flag when the call started.
    pub long_reordering: bool,
}

/// Faults on every message, beyond the lab's model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MessageFaults {
    /// Each message is lost with this probability (per mille).
    pub loss_per_mille: u64,
    /// Each message takes at least this long (µs)…
    pub latency_min: DelayUs,
    /// …and at most this long (µs), uniformly in between.
    pub latency_max: DelayUs,
    /// Each message is held back with this probability (per mille)…
    pub reorder_per_mille: u64,
    /// …by up to this much more (µs), so later messages overtake it.
    pub reorder_max: DelayUs,
}

/// One microsecond-resolution delay.
pub type DelayUs = u64;

/// What becomes of a clerk's call when it enters the network (labrpc's §A.2 steps 2–5b).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClerkFate {
    /// The end is disabled or the server is down: the call fails after this long.
    Unreachable(DelayUs),
    /// The request is lost on an unreliable network: the call fails after this long.
    Dropped(DelayUs),
    /// The request reaches the server after this long; `reliable` is the flag at the call,
    /// which decides the reply's fate.
    Delivered {
        /// The request's delay.
        delay: DelayUs,
        /// Whether the network was reliable when the call started.
        reliable: bool,
    },
}

const MS: u64 = 1000;

/// The network's state, knobs and counters.
#[derive(Debug)]
pub struct Network {
    reliable: bool,
    long_reordering: bool,
    connected: Vec<bool>,
    /// The live incarnation of each server (`None` when crashed).
    alive: Vec<Option<u64>>,
    /// One-way cuts `(from, to)`, beyond the lab's whole-server operations.
    cuts: IndexSet<(usize, usize)>,
    duplicate_per_mille: u64,
    extra_latency: DelayUs,
    swarm: MessageFaults,
    rng: Stream,
    fault_rng: Stream,
    clerk_rng: Stream,
    rpc_total: u64,
    bytes_total: u64,
    rpc_incoming: Vec<u64>,
}

impl Network {
    /// A reliable network of `n` servers, all disconnected and down.
    pub fn new(n: usize, seed: u64) -> Network {
        Network {
            reliable: true,
            long_reordering: false,
            connected: vec![false; n],
            alive: vec![None; n],
            cuts: IndexSet::new(),
            duplicate_per_mille: 0,
            extra_latency: 0,
            swarm: MessageFaults::default(),
            rng: Stream::new(seed, "network", 0),
            fault_rng: Stream::new(seed, "faults", 0),
            clerk_rng: Stream::new(seed, "clerk-calls", 0),
            rpc_total: 0,
            bytes_total: 0,
            rpc_incoming: vec![0; n],
        }
    }

    /// Whether requests are delivered without loss or delay.
    pub fn reliable(&self) -> bool {
        self.reliable
    }

    /// The lab's `Reliable(bool)`.
    pub fn set_reliable(&mut self, reliable: bool) {
        self.reliable = reliable;
    }

    /// Whether long reordering of replies is on.
    pub fn long_reordering(&self) -> bool {
        self.long_reordering
    }

    /// The lab's `LongReordering(bool)`.
    pub fn set_long_reordering(&mut self, on: bool) {
        self.long_reordering = on;
    }

    /// Whole-server connect / disconnect.
    pub fn set_connected(&mut self, server: usize, connected: bool) {
        self.connected[server] = connected;
    }

    /// Whether the server is marked connected.
    pub fn is_connected(&self, server: usize) -> bool {
        self.connected[server]
    }

    /// Registers a new incarnation of `server` (a restart: new server object, count from 0).
    pub fn register(&mut self, server: usize, incarnation: u64) {
        self.alive[server] = Some(incarnation);
        self.rpc_incoming[server] = 0;
    }

    /// Removes a crashed server: nothing reaches it any more.
    pub fn unregister(&mut self, server: usize) {
        self.alive[server] = None;
    }

    /// Cuts or restores the one-way link `from → to`.
    pub fn set_link(&mut self, from: usize, to: usize, up: bool) {
        if up {
            self.cuts.shift_remove(&(from, to));
        } else {
            self.cuts.insert((from, to));
        }
    }

    /// Each request is sent twice with this probability (per mille).
    pub fn set_duplication(&mut self, per_mille: u64) {
        self.duplicate_per_mille = per_mille;
    }

    /// Every message takes this much longer.
    pub fn set_extra_latency(&mut self, delay: DelayUs) {
        self.extra_latency = delay;
    }

    /// Loss, latency spread and reordering for every message, requests and replies alike,
    /// beyond the lab's model (the swarm's faults). Drawn from the fault stream.
    pub fn set_message_faults(&mut self, faults: MessageFaults) {
        self.swarm = faults;
    }

    /// The message faults in force.
    pub fn message_faults(&self) -> MessageFaults {
        self.swarm
    }

    /// Restores every one-way link.
    pub fn clear_cuts(&mut self) {
        self.cuts.clear();
    }

    /// Whether `e` is the live incarnation of its server.
    pub fn is_alive(&self, e: Endpoint) -> bool {
        self.alive[e.server] == Some(e.incarnation)
    }

    /// The live endpoint of `server`, if it is up.
    pub fn endpoint(&self, server: usize) -> Option<Endpoint> {
        self.alive[server].map(|incarnation| Endpoint {
            server,
            incarnation,
        })
    }

    /// A call by `caller` starts now: the flags that will decide its reply's fate.
    pub fn start_call(&self, caller: Endpoint) -> Call {
        Call {
            caller,
            reliable: self.reliable,
            long_reordering: self.long_reordering,
        }
    }

    /// Whether a message from `from` can reach `to` right now.
    pub fn link_up(&self, from: Endpoint, to: Endpoint) -> bool {
        self.connected[from.server]
            && self.connected[to.server]
            && self.is_alive(from)
            && self.is_alive(to)
            && !self.cuts.contains(&(from.server, to.server))
    }

    /// A request of `bytes` leaves `from` for `to`. Counts it (every call counts, as in the
    /// lab) and returns the delays of the copies that will arrive (none, one, or two when
    /// duplicated).
    pub fn send_request(&mut self, from: Endpoint, to: Endpoint, bytes: usize) -> Vec<DelayUs> {
        self.rpc_total += 1;
        self.bytes_total += bytes as u64;
        if !self.link_up(from, to) {
            return Vec::new();
        }
        let mut delay = self.extra_latency;
        if !self.reliable {
            delay += self.rng.below(27) * MS;
            if self.rng.chance(100) {
                return Vec::new();
            }
        }
        let Some(delay) = self.swarm_fate(delay) else {
            return Vec::new();
        };
        let mut copies = vec![delay];
        if self.duplicate_per_mille > 0 && self.fault_rng.chance(self.duplicate_per_mille) {
            copies.push(delay + self.fault_rng.below(27) * MS);
        }
        copies
    }

    /// A request reaches `to`: its handler runs only if `to` is still the incarnation the
    /// request was sent to (a restarted server is a new object). Counts the incoming RPC.
    pub fn request_arrives(&mut self, to: Endpoint) -> bool {
        if !self.is_alive(to) {
            return false;
        }
        self.rpc_incoming[to.server] += 1;
        true
    }

    /// The handler at `replier` answered `call`. Returns the reply's delay, or `None` if it
    /// is lost.
    pub fn send_reply(&mut self, replier: Endpoint, call: Call) -> Option<DelayUs> {
        if !self.link_up(call.caller, replier) {
            return None; // the call's end was cut while the request was in flight
        }
        if !call.reliable && self.rng.chance(100) {
            return None;
        }
        if call.long_reordering && self.rng.below(900) < 600 {
            let k = self.rng.below(2000);
            let late = (200 + self.rng.below(k + 1)) * MS;
            return self.swarm_fate(self.extra_latency + late);
        }
        self.swarm_fate(self.extra_latency)
    }

    /// The swarm's message faults: `None` if the message is lost, else its delay.
    fn swarm_fate(&mut self, delay: DelayUs) -> Option<DelayUs> {
        let faults = self.swarm;
        if faults == MessageFaults::default() {
            return Some(delay); // nothing drawn: lab runs keep their exact draws
        }
        if faults.loss_per_mille > 0 && self.fault_rng.chance(faults.loss_per_mille) {
            return None;
        }
        let mut delay = delay + faults.latency_min;
        let spread = faults.latency_max.saturating_sub(faults.latency_min);
        if spread > 0 {
            delay += self.fault_rng.below(spread + 1);
        }
        if faults.reorder_per_mille > 0 && self.fault_rng.chance(faults.reorder_per_mille) {
            delay += self.fault_rng.below(faults.reorder_max + 1);
        }
        Some(delay)
    }

    /// A reply of `bytes` is delivered to `caller` (counted as delivered, as labrpc does);
    /// it is acted on only if the caller is still alive.
    pub fn reply_arrives(&mut self, caller: Endpoint, bytes: usize) -> bool {
        self.bytes_total += bytes as u64;
        self.is_alive(caller)
    }

    /// A clerk's call enters the network; `reachable` says whether its end is enabled and the
    /// server up. Counts it, and draws its fate as labrpc does.
    pub fn clerk_call(&mut self, reachable: bool) -> ClerkFate {
        self.rpc_total += 1;
        if !reachable {
            return ClerkFate::Unreachable(self.clerk_rng.below(100) * MS);
        }
        let mut delay = self.extra_latency;
        if !self.reliable {
            delay += self.clerk_rng.below(27) * MS;
            if self.clerk_rng.chance(100) {
                return ClerkFate::Dropped(delay);
            }
        }
        ClerkFate::Delivered {
            delay,
            reliable: self.reliable,
        }
    }

    /// The server answered a clerk's call made while the network was `reliable` (or not).
    /// Returns the reply's delay, or `None` if it is lost.
    pub fn clerk_reply(&mut self, reliable: bool) -> Option<DelayUs> {
        if !reliable && self.clerk_rng.chance(100) {
            return None;
        }
        Some(self.extra_latency)
    }

    /// Every request sent so far (the lab's `rpcTotal`).
    pub fn rpc_total(&self) -> u64 {
        self.rpc_total
    }

    /// Bytes of every request sent and every reply delivered (the lab's `bytesTotal`).
    pub fn bytes_total(&self) -> u64 {
        self.bytes_total
    }

    /// Requests that reached `server`'s current incarnation (the lab's `rpcCount(i)`).
    pub fn rpc_count(&self, server: usize) -> u64 {
        self.rpc_incoming[server]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Endpoint = Endpoint {
        server: 0,
        incarnation: 1,
    };
    const B: Endpoint = Endpoint {
        server: 1,
        incarnation: 1,
    };

    fn network(reliable: bool) -> Network {
        let mut net = Network::new(2, 42);
        for e in [A, B] {
            net.register(e.server, e.incarnation);
            net.set_connected(e.server, true);
        }
        net.set_reliable(reliable);
        net
    }

    /// A binomial count must fall within 5 standard deviations of its mean.
    fn assert_rate(count: u64, trials: u64, p: f64, what: &str) {
        let mean = trials as f64 * p;
        let sd = (trials as f64 * p * (1.0 - p)).sqrt();
        let deviation = (count as f64 - mean).abs();
        assert!(
            deviation <= 5.0 * sd,
            "{what}: {count} of {trials}, expected ~{mean:.0}"
        );
    }

    #[test]
    fn reliable_network_delivers_everything_at_once() {
        let mut net = network(true);
        for _ in 0..1000 {
            assert_eq!(net.send_request(A, B, 10), vec![0]);
            assert_eq!(net.send_reply(B, net.start_call(A)), Some(0));
        }
        assert_eq!(net.rpc_total(), 1000);
        assert_eq!(net.bytes_total(), 10_000);
    }

    #[test]
    fn unreliable_requests_drop_ten_percent_and_delay_up_to_26_ms() {
        let mut net = network(false);
        let trials = 100_000;
        let mut delivered = 0;
        let mut histogram = [0u64; 27];
        for _ in 0..trials {
            if let Some(&delay) = net.send_request(A, B, 1).first() {
                delivered += 1;
                histogram[(delay / MS) as usize] += 1;
            }
        }
        assert_rate(trials - delivered, trials, 0.10, "request drops");
        for (ms, &count) in histogram.iter().enumerate() {
            assert_rate(count, delivered, 1.0 / 27.0, &format!("delay {ms} ms"));
        }
    }

    #[test]
    fn unreliable_replies_drop_ten_percent() {
        let mut net = network(false);
        let trials = 100_000;
        let lost = (0..trials)
            .filter(|_| net.send_reply(B, net.start_call(A)).is_none())
            .count() as u64;
        assert_rate(lost, trials, 0.10, "reply drops");
    }

    #[test]
    fn long_reordering_delays_two_thirds_of_replies_by_200_to_2199_ms() {
        let mut net = network(true);
        net.set_long_reordering(true);
        let trials = 90_000;
        let mut delayed = 0;
        let mut below_1200 = 0;
        for _ in 0..trials {
            let delay = net.send_reply(B, net.start_call(A)).expect("reliable");
            if delay > 0 {
                delayed += 1;
                assert!((200 * MS..2200 * MS).contains(&delay), "delay {delay}");
                below_1200 += u64::from(delay < 1200 * MS);
            }
        }
        assert_rate(delayed, trials, 2.0 / 3.0, "long-reordered replies");
        // U[0, U[0,1999]] is skewed short: P(U < 1000) = (1 + ln 2) / 2 ≈ 0.8466.
        assert_rate(
            below_1200,
            delayed,
            0.8466,
            "short half of the reordering delays",
        );
    }

    #[test]
    fn disconnected_or_crashed_targets_never_receive_but_every_call_counts() {
        let mut net = network(true);
        net.set_connected(1, false);
        assert!(net.send_request(A, B, 5).is_empty());
        net.set_connected(1, true);
        net.unregister(1);
        assert!(net.send_request(A, B, 5).is_empty());
        assert!(!net.request_arrives(B));
        assert_eq!(net.rpc_total(), 2);
        assert_eq!(net.bytes_total(), 10);
    }

    #[test]
    fn reply_is_lost_when_the_link_was_cut_in_flight() {
        let mut net = network(true);
        assert_eq!(net.send_request(A, B, 1), vec![0]);
        assert!(net.request_arrives(B));
        net.set_connected(0, false);
        assert_eq!(net.send_reply(B, net.start_call(A)), None);
        assert_eq!(net.rpc_count(1), 1);
    }

    #[test]
    fn duplication_adds_copies_without_perturbing_the_labs_draws() {
        let mut plain = network(false);
        let mut duplicating = network(false);
        duplicating.set_duplication(500);
        let (mut delivered, mut copies) = (0, 0);
        for _ in 0..10_000 {
            let a = plain.send_request(A, B, 1);
            let b = duplicating.send_request(A, B, 1);
            // Same fate and delay for the original: the knob draws from its own stream.
            assert_eq!(a.first(), b.first());
            delivered += u64::from(!b.is_empty());
            copies += b.len().saturating_sub(1) as u64;
        }
        assert_rate(copies, delivered, 0.5, "duplicated requests");
    }

    #[test]
    fn a_reply_follows_the_flags_of_its_call_not_later_changes() {
        let mut net = network(false);
        let call = net.start_call(A);
        net.set_reliable(true);
        net.set_long_reordering(true);
        let trials = 20_000;
        let lost = (0..trials)
            .filter(|_| net.send_reply(B, call).is_none())
            .count() as u64;
        assert_rate(
            lost,
            trials,
            0.10,
            "replies to a call made while unreliable",
        );
        assert!(
            (0..1000).all(|_| net.send_reply(B, call).is_none_or(|d| d == 0)),
            "no reordering"
        );
    }

    #[test]
    fn clerk_calls_follow_the_labs_fates() {
        let mut net = network(false);
        let trials = 100_000;
        let (mut dropped, mut lost_replies) = (0, 0);
        for _ in 0..trials {
            match net.clerk_call(true) {
                ClerkFate::Dropped(delay) => {
                    assert!(delay < 27 * MS);
                    dropped += 1;
                }
                ClerkFate::Delivered { delay, reliable } => {
                    assert!(delay < 27 * MS && !reliable);
                    lost_replies += u64::from(net.clerk_reply(reliable).is_none());
                }
                ClerkFate::Unreachable(_) => panic!("reachable"),
            }
        }
        assert_rate(dropped, trials, 0.10, "clerk request drops");
        assert_rate(lost_replies, trials - dropped, 0.10, "clerk reply drops");
        let unreachable: Vec<_> = (0..1000).map(|_| net.clerk_call(false)).collect();
        assert!(unreachable
            .iter()
            .all(|f| matches!(f, ClerkFate::Unreachable(d) if *d < 100 * MS)));
        assert_eq!(net.rpc_total(), trials + 1000);
        let mut reliable = network(true);
        reliable.set_extra_latency(2 * MS);
        assert_eq!(
            reliable.clerk_call(true),
            ClerkFate::Delivered {
                delay: 2 * MS,
                reliable: true
            }
        );
        assert_eq!(reliable.clerk_reply(true), Some(2 * MS));
    }

    #[test]
    fn one_way_cut_blocks_one_direction_only() {
        let mut net = network(true);
        net.set_link(0, 1, false);
        assert!(net.send_request(A, B, 1).is_empty());
        assert_eq!(net.send_request(B, A, 1), vec![0]);
    }
}
