//! Three real server processes (the kv example, `raft-core/examples/kv`, built as this
//! package's `kv_node` binary) on loopback ports, each with its own directory and log file.
//! Concurrent clients run a fixed number of operations while a nemesis SIGKILLs servers (the
//! leader every other time, sometimes two at once) and restarts them, and before some restarts
//! appends a torn write to the victim's log. Every operation's call and return are recorded
//! in real time, and the whole history must be linearizable (`raft_sim::linearizability`);
//! every acknowledged append must be in the final values exactly once; every torn write must
//! have been cut off exactly, and nothing before it. At the end the servers are frozen
//! (SIGSTOP lets a write in progress finish) and their logs must replay without a bad record
//! and agree with each other (Log Matching, §5.3).
//!
//! Timeouts serve liveness only and are generous (a loaded 2-core machine can stall a process
//! for a second): an operation that gets no answer within its deadline is recorded as one that
//! may or may not have happened, which the check accepts either way. Nothing about safety
//! depends on time.
//!
//! Why a torn write is *appended* rather than the log's last bytes cut: a killed process
//! loses nothing the kernel has (the page cache survives it), so its own writes are never torn;
//! a torn write is a write cut short before its fsync returned, which was never acknowledged.
//! Cutting acknowledged bytes would be a disk that loses fsynced data, which Raft does not
//! tolerate (a node that forgets its vote can vote twice in a term).

#![cfg(unix)] // signals
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // real processes, real time

#[allow(dead_code)] // the test uses the client side only
#[path = "../../../raft-core/examples/kv/protocol.rs"]
mod protocol;

#[allow(dead_code)]
#[path = "../../../raft-core/examples/kv/client.rs"]
mod client;

mod checks;
mod cluster;
mod nemesis;
mod workload;

use cluster::Cluster;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SERVERS: usize = 3;
const CLIENTS: usize = 5;
const OPS_PER_CLIENT: usize = 80;
/// A client waits between 10 and 50 ms between operations, so that its operations span
/// several of the nemesis's rounds.
const THINK_MS: (u64, u64) = (10, 40);
/// The nemesis kills at least this many times (tearing the first three victims' logs), even
/// if the clients are done before.
const MIN_ROUNDS: u64 = 4;
/// Keys that only see appends and reads: their final values show every acknowledged append.
const APPEND_KEYS: [&str; 3] = ["a", "b", "c"];
/// A key that also sees puts.
const PUT_KEY: &str = "p";
/// Small, so the servers compact their logs (and a restarted one may need a snapshot).
const SNAPSHOT_BYTES: &str = "1024";
/// The whole client phase must end within this (liveness; it takes seconds).
const CLIENT_PHASE_LIMIT: Duration = Duration::from_secs(120);
/// A restarted server must listen within this.
const START_LIMIT: Duration = Duration::from_secs(30);

#[test]
fn killed_restarted_and_torn_servers_keep_the_history_linearizable() {
    scenario(&[]);
}

/// The same with pipelined persistence: a leader's entries leave before its own fsync.
#[test]
fn the_same_with_pipelined_persistence() {
    scenario(&["--pipelined"]);
}

fn scenario(server_args: &'static [&'static str]) {
    let test_start = Instant::now();
    let cluster = Arc::new(Mutex::new(Cluster::start(server_args)));
    let servers = cluster.lock().unwrap().addrs();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let nemesis = {
        let (cluster, stop) = (cluster.clone(), stop.clone());
        std::thread::spawn(move || nemesis::nemesis(&cluster, &stop))
    };
    let recorded = workload::run_clients(&runtime, &servers, start);
    let client_phase = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    let tears = (nemesis.join()).unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    let cluster = cluster.lock().unwrap();
    let Some(mut recorded) = recorded else {
        panic!(
            "the clients did not finish within {CLIENT_PHASE_LIMIT:?}\n{}",
            cluster.all_logs()
        );
    };
    let reads = workload::final_reads(&runtime, &servers, start)
        .unwrap_or_else(|e| panic!("{e}\n{}", cluster.all_logs()));

    let mut history: Vec<_> = recorded
        .iter_mut()
        .flat_map(|r| r.history.drain(..))
        .collect();
    let mut finals = Vec::new();
    for (read, key, value) in reads {
        history.push(read);
        finals.push((key, value));
    }
    let name = format!("real_cluster{}", server_args.concat());
    let result = checks::linearizable(&history, &cluster, &name);
    checks::appends_kept(&recorded, &finals);
    checks::tears_cut(&cluster, &tears);
    checks::logs_on_disk(&cluster);

    let logs = cluster.all_logs();
    let compactions = logs.matches("compacted through").count();
    let installs = logs.matches("installed the leader's snapshot").count();
    assert!(compactions > 0, "no server compacted its log\n{logs}");
    let restarts: u32 = cluster.servers.iter().map(|s| s.incarnation - 1).sum();
    let pending = history.iter().filter(|op| op.returned.is_none()).count();
    println!(
        "{server_args:?}: {} operations ({pending} without an answer), {restarts} restarts, \
         {} torn writes cut, {compactions} compactions, {installs} snapshots installed; \
         clients {:.1} s, test {:.1} s; checker: {} steps",
        history.len(),
        tears.len(),
        client_phase.as_secs_f64(),
        test_start.elapsed().as_secs_f64(),
        result.stats.steps
    );
}
