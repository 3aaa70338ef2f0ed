//! The workload both libraries run, and what is measured.
//!
//! A cluster of in-memory nodes on one thread: messages go through a FIFO queue, every durable
//! change is applied to an in-memory store before the driver goes on, and every committed
//! command is handed to a counting "service". The leader proposes `batch` fresh commands of
//! `size` bytes, and the next proposal waits until every node has applied them (an entry
//! counts once applied on every node). When the network falls quiet before that, every node
//! ticks once; ticks are part of the measured time. Each node's service compacts the log every
//! `COMPACT_EVERY` applied entries, as a real one would, so memory stays bounded and the
//! figures measure the libraries rather than the kernel's page faults; that housekeeping
//! write is not counted among the durable writes.

use crate::alloc;

/// Each node compacts its log once it has applied this many entries since the last time.
pub const COMPACT_EVERY: u64 = 4096;

/// One row of the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    /// Nodes in the cluster.
    pub nodes: usize,
    /// Bytes per command.
    pub size: usize,
    /// Commands per proposal (1: one at a time).
    pub batch: usize,
}

/// A library's cluster, as the harness drives it.
pub trait Cluster {
    /// `nodes` fresh nodes, none leading yet.
    fn new(nodes: usize) -> Self;
    /// One tick of logical time on every node, in order.
    fn tick_all(&mut self);
    /// Delivers the oldest queued message; `false` if there was none.
    fn deliver_one(&mut self) -> bool;
    /// The node that leads, if any.
    fn leader(&self) -> Option<usize>;
    /// Proposes `count` fresh commands of `size` bytes, numbered from `first`, at `leader`:
    /// one proposal if `count` is 1, one batched proposal otherwise.
    fn propose(&mut self, leader: usize, first: u64, count: usize, size: usize);
    /// Commands applied so far by the node that has applied the fewest.
    fn min_applied(&self) -> u64;
    /// Messages sent so far.
    fn messages(&self) -> u64;
    /// Durable writes so far: changes that must be durable before the node goes on (an fsync
    /// each on a real disk).
    fn durable_writes(&self) -> u64;
}

/// The bytes of command number `seq` in `buf`: its number, then zeros up to `size`. Only the
/// number is rewritten when `buf` already has the size; each library then makes its own owned
/// copy (one allocation and one copy per command for both).
pub fn fill_command(buf: &mut Vec<u8>, seq: u64, size: usize) {
    if buf.len() != size {
        buf.clear();
        buf.resize(size, 0);
    }
    let number = seq.to_le_bytes();
    let n = size.min(number.len());
    buf[..n].copy_from_slice(&number[..n]);
}

/// What one run measured, over its measured entries only.
#[derive(Clone, Copy, Debug)]
pub struct Measurement {
    pub entries: u64,
    pub seconds: f64,
    pub allocations: u64,
    pub messages: u64,
    pub durable_writes: u64,
    pub ticks: u64,
}

impl Measurement {
    pub fn entries_per_second(&self) -> f64 {
        self.entries as f64 / self.seconds
    }

    pub fn per_entry(&self, count: u64) -> f64 {
        count as f64 / self.entries as f64
    }
}

/// Elects a leader, warms up with a few proposals, then measures `entries` entries.
pub fn measure<C: Cluster>(row: Row, entries: u64) -> Measurement {
    let mut cluster = C::new(row.nodes);
    let leader = elect(&mut cluster);
    let warm_up = (4 * row.batch) as u64;
    run(&mut cluster, leader, row, 0, warm_up);
    let (messages, writes) = (cluster.messages(), cluster.durable_writes());
    let allocations = alloc::count();
    let clock = WallClock::start();
    let ticks = run(&mut cluster, leader, row, warm_up, entries);
    let seconds = clock.elapsed_secs();
    let allocations = alloc::count() - allocations;
    assert_eq!(
        cluster.leader(),
        Some(leader),
        "the leader changed while measuring"
    );
    Measurement {
        entries,
        seconds,
        allocations,
        messages: cluster.messages() - messages,
        durable_writes: cluster.durable_writes() - writes,
        ticks,
    }
}

/// Ticks and delivers until some node leads and every message has been delivered.
fn elect<C: Cluster>(cluster: &mut C) -> usize {
    for _ in 0..10_000 {
        cluster.tick_all();
        while cluster.deliver_one() {}
        if let Some(leader) = cluster.leader() {
            return leader;
        }
    }
    panic!("no leader after 10 000 ticks");
}

/// Proposes `entries` commands numbered from `first`, `row.batch` at a time, each batch
/// applied everywhere before the next; returns the ticks it took.
fn run<C: Cluster>(cluster: &mut C, leader: usize, row: Row, first: u64, entries: u64) -> u64 {
    let base = cluster.min_applied();
    let (mut done, mut ticks) = (0, 0);
    while done < entries {
        let count = (row.batch as u64).min(entries - done);
        cluster.propose(leader, first + done, count as usize, row.size);
        done += count;
        while cluster.min_applied() < base + done {
            if !cluster.deliver_one() {
                cluster.tick_all();
                ticks += 1;
                assert!(ticks < 1_000_000, "no progress");
            }
        }
    }
    ticks
}

/// Wall-clock time, only ever reported by this benchmark.
#[allow(clippy::disallowed_types)]
struct WallClock(std::time::Instant);

#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
impl WallClock {
    fn start() -> WallClock {
        WallClock(std::time::Instant::now())
    }

    fn elapsed_secs(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}
