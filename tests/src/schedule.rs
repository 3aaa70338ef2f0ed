//! Fault schedules: lists of operations on a simulated cluster, played by the tester.
//! Shared by the property tests (which generate and shrink them) and the fuzz targets (which
//! decode them from bytes).

use raft_sim::network::MessageFaults;
use raft_sim::runner::run_body;
use raft_sim::world::{DEFAULT_TICK, MS};
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
    /// Cut the one-way link `from → to`.
    Cut(usize, usize),
    /// Restore every one-way link.
    Heal,
    /// Crash a server inside its next durable write (possibly tearing it).
    CrashInWrite(usize),
    /// Deliver this many requests per mille twice.
    Duplicate(u64),
    /// Lose this many messages per mille (requests and replies), beyond the lab's model.
    Loss(u64),
    /// Delay every message by 0 to this many milliseconds.
    Jitter(u64),
    /// Set a server's clock rate: its tick lasts this percentage of the nominal 10 ms.
    Skew(usize, u64),
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
            Op::Cut(from, to) => t.world().network_mut().set_link(from, to, false),
            Op::Heal => t.world().network_mut().clear_cuts(),
            Op::CrashInWrite(i) => t.world().crash_in_next_step(i),
            Op::Duplicate(per_mille) => t.world().network_mut().set_duplication(per_mille),
            Op::Loss(per_mille) => faults(&t, |f| f.loss_per_mille = per_mille),
            Op::Jitter(ms) => faults(&t, |f| f.latency_max = ms * MS),
            Op::Skew(i, percent) => t.world().set_tick(i, DEFAULT_TICK * percent / 100),
        }
    }
    heal(&t);
    for i in 0..servers {
        if !t.is_alive(i) {
            t.restart(i);
        }
        t.connect(i);
    }
    t.one(-1, servers, true).await?;
    t.end()
}

/// Changes the network's message faults.
fn faults(t: &Tester, change: impl FnOnce(&mut MessageFaults)) {
    let mut world = t.world();
    let mut faults = world.network().message_faults();
    change(&mut faults);
    world.network_mut().set_message_faults(faults);
}

/// Ends every fault: a reliable, fully connected network without extra faults, nominal
/// clocks, no crash pending.
fn heal(t: &Tester) {
    t.set_reliable(true);
    t.set_long_reordering(false);
    let mut world = t.world();
    let network = world.network_mut();
    network.clear_cuts();
    network.set_duplication(0);
    network.set_message_faults(MessageFaults::default());
    for i in 0..world.n() {
        world.set_tick(i, DEFAULT_TICK);
        world.cancel_crash(i);
    }
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
            let other = usize::from(arg / 16) % servers;
            match kind % 19 {
                0..=3 => Op::Sleep(u64::from(arg) * 2),
                4 => Op::Crash(server),
                5 => Op::Restart(server),
                6 => Op::Disconnect(server),
                7 => Op::Connect(server),
                8 | 9 => Op::Propose(server),
                10 => Op::Reliable(arg % 2 == 0),
                11 => Op::LongReordering(arg % 2 == 0),
                12 => Op::Cut(server, other),
                13 => Op::Heal,
                14 => Op::CrashInWrite(server),
                15 => Op::Duplicate(u64::from(arg) * 2),
                16 => Op::Loss(u64::from(arg)),
                17 => Op::Jitter(u64::from(arg) / 4),
                _ => Op::Skew(server, 50 + u64::from(arg) % 101),
            }
        })
        .collect()
}
