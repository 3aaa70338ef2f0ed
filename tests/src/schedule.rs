//! Fault schedules: lists of operations on a simulated cluster, played by the tester.
//! Shared by the property tests (which generate and shrink them) and the fuzz targets (which
//! decode them from bytes).

use raft_sim::runner::run_body;
use raft_sim::{Edition, Outcome, Setup, TestResult, Tester};

/// One step of a schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Let virtual time pass (milliseconds).
    Sleep(u64),
    /// Crash a server.
    Crash(usize),
    /// Restart a crashed server (the edition's restart).
    Restart(usize),
    /// Disconnect a server.
    Disconnect(usize),
    /// Connect a server.
    Connect(usize),
    /// `Start` a command on a server.
    Propose(usize),
    /// Make the network reliable or not.
    Reliable(bool),
    /// Turn long reordering of replies on or off.
    LongReordering(bool),
}

/// Plays `ops`, then heals the cluster (everyone restarted and connected, network reliable)
/// and requires agreement on one more command on every server within the lab's 10 s. The
/// appliers check agreement and order on every apply, the world Election Safety on every
/// step, throughout.
pub async fn play(t: Tester, ops: Vec<Op>) -> TestResult {
    let servers = t.n();
    t.begin("fault schedule");
    for (value, op) in ops.into_iter().enumerate() {
        match op {
            Op::Sleep(ms) => t.sleep(ms).await,
            Op::Crash(i) => t.crash(i),
            Op::Restart(i) if !t.is_alive(i) => t.restart(i),
            Op::Restart(_) => {}
            Op::Disconnect(i) => t.disconnect(i),
            Op::Connect(i) => t.connect(i),
            Op::Propose(i) => {
                t.start(i, value as i64);
            }
            Op::Reliable(on) => t.set_reliable(on),
            Op::LongReordering(on) => t.set_long_reordering(on),
        }
    }
    t.set_reliable(true);
    t.set_long_reordering(false);
    for i in 0..servers {
        if !t.is_alive(i) {
            t.restart(i);
        }
        t.connect(i);
    }
    t.one(-1, servers, true).await?;
    t.end()
}

/// Runs a schedule on a fresh cluster.
pub fn run(setup: Setup, edition: Edition, seed: u64, ops: Vec<Op>) -> Outcome {
    run_body(setup, edition, seed, false, |t| play(t, ops))
}

/// Decodes a schedule from bytes: two bytes per operation (kind, argument).
pub fn decode(servers: usize, bytes: &[u8]) -> Vec<Op> {
    bytes
        .chunks_exact(2)
        .map(|pair| {
            let (kind, arg) = (pair[0], pair[1]);
            let server = usize::from(arg) % servers;
            match kind % 12 {
                0..=3 => Op::Sleep(u64::from(arg) * 2),
                4 => Op::Crash(server),
                5 => Op::Restart(server),
                6 => Op::Disconnect(server),
                7 => Op::Connect(server),
                8 | 9 => Op::Propose(server),
                10 => Op::Reliable(arg % 2 == 0),
                _ => Op::LongReordering(arg % 2 == 0),
            }
        })
        .collect()
}
