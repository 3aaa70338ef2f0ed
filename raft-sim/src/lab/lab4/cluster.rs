//! The Lab 4 harness's server-side operations: partitions built link by link,
//! shutdown and restart, leader lookup, the partitioner, persisted sizes; and the history
//! clock.

use crate::service::Service;
use crate::tester::{TestResult, Tester};
use crate::world::{SimTime, MS};
use std::cell::Cell;
use std::rc::Rc;

/// The lab's `electionTimeout`: the tests' sleeps after a heal or a crash.
pub const ELECTION_TIMEOUT_MS: u64 = 1000;

/// Every message of a Lab 4 cluster, the servers' and the clerks', takes this long one way.
/// The lab's reliable network adds no delay of its own, but its RPCs are not instantaneous
/// either; without some latency an operation would complete in zero virtual time and a client
/// loop would never let time pass. With 2 ms a request costs about 8 ms (clerk → leader →
/// followers and back), which gives the tests about as many operations as the lab's
/// published runs.
pub const LATENCY: SimTime = 2 * MS;

/// The servers of a Lab 4 cluster, as the tests see them (2024 `config`, 2025 `ServerGrp`).
#[derive(Clone)]
pub struct Group {
    t: Tester,
}

impl Group {
    /// Builds the cluster: `n` servers running `service`, all started and connected, the
    /// network reliable or not (both editions' `make_config` / `MakeConfig`).
    pub fn make(t: &Tester, n: usize, reliable: bool, service: Box<dyn Service>) -> Group {
        t.make_cluster(n, reliable, service);
        t.world().network_mut().set_extra_latency(LATENCY);
        Group { t: t.clone() }
    }

    /// The tester.
    pub fn tester(&self) -> &Tester {
        &self.t
    }

    /// Number of servers.
    pub fn n(&self) -> usize {
        self.t.n()
    }

    /// Every server.
    pub fn all(&self) -> Vec<usize> {
        (0..self.n()).collect()
    }

    /// `partition(p1, p2)`: full connectivity inside each group, none across (an empty
    /// `p2`: everyone connected).
    pub fn partition(&self, p1: &[usize], p2: &[usize]) {
        let mut world = self.t.world();
        let net = world.network_mut();
        for (group, other) in [(p1, p2), (p2, p1)] {
            for &i in group {
                net.set_connected(i, true);
                for &j in group {
                    net.set_link(i, j, true);
                }
                for &j in other {
                    net.set_link(i, j, false);
                }
            }
        }
        let now = world.now();
        world.trace_note(now, format_args!("partition {p1:?} | {p2:?}"));
    }

    /// `ConnectAll`: every link between servers enabled.
    pub fn connect_all(&self) {
        self.partition(&self.all(), &[]);
    }

    /// (2025) `ConnectOne(i)`: `i` connected, with its links to every other server enabled.
    pub fn connect_one(&self, i: usize) {
        let mut world = self.t.world();
        let n = world.n();
        let net = world.network_mut();
        net.set_connected(i, true);
        for j in 0..n {
            net.set_link(i, j, true);
            net.set_link(j, i, true);
        }
        let now = world.now();
        world.trace_note(now, format_args!("connect s{i}"));
    }

    /// (2025) `DisconnectAll(i)`: `i` cut off from every server.
    pub fn disconnect_all(&self, i: usize) {
        self.t.disconnect(i);
    }

    /// Whether `i` is connected.
    pub fn is_connected(&self, i: usize) -> bool {
        self.t.is_connected(i)
    }

    /// `ShutdownServer(i)`: cut off, deleted from the network, persisted state kept as it is
    /// now, killed.
    pub fn shutdown_server(&self, i: usize) {
        self.t.crash(i);
    }

    /// `StartServer(i)`: a new incarnation from the persisted state, not yet connected.
    pub fn start_server(&self, i: usize) {
        self.t.start_server(i);
    }

    /// (2025) `Shutdown()`: every server shut down.
    pub fn shutdown(&self) {
        for i in 0..self.n() {
            self.shutdown_server(i);
        }
    }

    /// (2025) `StartServers()`: every server started, then all connected.
    pub fn start_servers(&self) {
        for i in 0..self.n() {
            self.start_server(i);
        }
        self.connect_all();
    }

    /// The crash-all sequence of GenericTest: shut everyone down, wait a second ("shutdown
    /// isn't a real crash and isn't instantaneous"), start everyone, connect all.
    pub async fn crash_all(&self) {
        self.shutdown();
        self.t.sleep(ELECTION_TIMEOUT_MS).await;
        self.start_servers();
    }

    /// `Leader()`: the first server, in index order, whose Raft claims to lead.
    pub fn leader(&self) -> Option<usize> {
        (0..self.n()).find(|&i| self.t.get_state(i).1)
    }

    /// `make_partition` / `MakePartition(l)`: the majority `p1` gets the lowest servers other
    /// than `l`, the minority `p2` the rest, with `l` last.
    pub fn make_partition(&self, l: usize) -> (Vec<usize>, Vec<usize>) {
        let n = self.n();
        let (mut p1, mut p2) = (Vec::new(), Vec::new());
        for i in (0..n).filter(|&i| i != l) {
            if p1.len() < n / 2 + 1 {
                p1.push(i);
            } else {
                p2.push(i);
            }
        }
        p2.push(l);
        (p1, p2)
    }

    /// The largest persisted Raft state (`LogSize()`).
    pub fn log_size(&self) -> usize {
        self.t.log_size()
    }

    /// The largest persisted snapshot (`SnapshotSize()`).
    pub fn snapshot_size(&self) -> usize {
        let world = self.t.world();
        (0..world.n())
            .map(|i| world.snapshot_size(i))
            .max()
            .unwrap_or(0)
    }

    /// The partitioner: until `done`, every 1000–1199 ms split the servers into two random
    /// groups. Returns once it has seen `done` (up to 1.2 s after it is set).
    pub async fn partitioner(self, done: Rc<Cell<bool>>) -> TestResult {
        while !done.get() {
            let mut groups = [Vec::new(), Vec::new()];
            for i in 0..self.n() {
                groups[(self.t.rand_int() % 2) as usize].push(i);
            }
            self.partition(&groups[0], &groups[1]);
            let jitter = self.t.rand_int() as u64 % 200;
            self.t.sleep(ELECTION_TIMEOUT_MS + jitter).await;
        }
        Ok(())
    }

    /// The size checks after each GenericTest iteration: with snapshots the logs must be
    /// trimmed; without, no snapshot may exist.
    pub fn check_sizes(&self, maxraftstate: i64) -> TestResult {
        if maxraftstate > 0 {
            let sz = self.log_size();
            if sz as i64 > 8 * maxraftstate {
                return self
                    .t
                    .fail(format!("logs were not trimmed ({sz} > 8*{maxraftstate})"));
            }
        }
        if maxraftstate < 0 {
            let ssz = self.snapshot_size();
            if ssz > 0 {
                return self.t.fail(format!(
                    "snapshot too large ({ssz}), should not be used when maxraftstate = {maxraftstate}"
                ));
            }
        }
        Ok(())
    }
}

/// The clock of the operation histories: virtual time in nanoseconds, bumped by one so
/// that events at the same virtual instant keep the order they happened in (a return
/// before a later call stays before it).
#[derive(Default)]
pub struct HistoryClock {
    last: Cell<u64>,
}

impl HistoryClock {
    /// Now, as a history timestamp.
    pub fn stamp(&self, t: &Tester) -> u64 {
        let ns = t.now() * 1000;
        let stamp = ns.max(self.last.get() + 1);
        self.last.set(stamp);
        stamp
    }
}

/// A history timestamp, for people.
pub fn show_stamp(stamp: u64) -> String {
    format!("{:.3} ms", stamp as f64 / 1e6)
}
