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
#[path = "../../raft-core/examples/kv/protocol.rs"]
mod protocol;

#[allow(dead_code)]
#[path = "../../raft-core/examples/kv/client.rs"]
mod client;

use client::{Client, Timeouts};
use protocol::Op;
use raft_core::{wal, Entry, LogAppend, PersistChange, PersistentState, SharedBytes};
use raft_sim::linearizability::{self, Budget, KvInput, KvModel, KvOutput, Operation, Verdict};
use raft_sim::rng::Stream;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
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

/// One server: its address, directory, process and the stderr files of its incarnations.
struct Server {
    id: u64,
    addr: SocketAddr,
    dir: PathBuf,
    child: Option<Child>,
    incarnation: u32,
}

/// A torn write appended to a log, and what the restart must cut.
struct Tear {
    server: usize,
    /// The incarnation that must report the cut.
    incarnation: u32,
    offset: u64,
    bytes: u64,
}

struct Cluster {
    servers: Vec<Server>,
    exe: PathBuf,
    cluster_arg: String,
    /// Arguments every server gets besides its address and directory.
    extra_args: &'static [&'static str],
    logs: PathBuf,
    _root: tempfile::TempDir,
}

impl Cluster {
    fn start(extra_args: &'static [&'static str]) -> Cluster {
        let root = tempfile::tempdir().expect("a temporary directory");
        let logs = root.path().join("stderr");
        fs::create_dir_all(&logs).unwrap();
        let servers: Vec<Server> = (free_ports().into_iter().enumerate())
            .map(|(i, addr)| Server {
                id: i as u64 + 1,
                addr,
                dir: root.path().join(format!("node-{}", i + 1)),
                child: None,
                incarnation: 0,
            })
            .collect();
        let cluster_arg = (servers.iter())
            .map(|s| format!("{}={}", s.id, s.addr))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = Cluster {
            servers,
            exe: PathBuf::from(env!("CARGO_BIN_EXE_kv_node")),
            cluster_arg,
            extra_args,
            logs,
            _root: root,
        };
        for i in 0..SERVERS {
            cluster.spawn(i);
        }
        for i in 0..SERVERS {
            cluster.wait_listening(i);
        }
        cluster
    }

    fn stderr_path(&self, i: usize, incarnation: u32) -> PathBuf {
        self.logs.join(format!("node-{}.{incarnation}.log", i + 1))
    }

    fn spawn(&mut self, i: usize) {
        let server = &self.servers[i];
        let incarnation = server.incarnation + 1;
        let stderr = File::create(self.stderr_path(i, incarnation)).unwrap();
        let child = Command::new(&self.exe)
            .args(["server", "--id", &server.id.to_string()])
            .args(["--cluster", &self.cluster_arg])
            .arg("--dir")
            .arg(&server.dir)
            .args(["--tick-ms", "10", "--snapshot-bytes", SNAPSHOT_BYTES])
            .args(self.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("the kv_node binary starts");
        let server = &mut self.servers[i];
        server.child = Some(child);
        server.incarnation = incarnation;
    }

    /// Waits until server `i` accepts connections (it binds after replaying its log).
    fn wait_listening(&mut self, i: usize) {
        let start = Instant::now();
        while TcpStream::connect(self.servers[i].addr).is_err() {
            self.check_alive(i);
            assert!(
                start.elapsed() < START_LIMIT,
                "node {} did not listen within {START_LIMIT:?}\n{}",
                i + 1,
                self.all_logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL.
    fn kill(&mut self, i: usize) {
        self.check_alive(i);
        let mut child = self.servers[i].child.take().expect("a live server");
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
    }

    fn restart(&mut self, i: usize) {
        self.spawn(i);
        self.wait_listening(i);
    }

    /// Sends `signal` to server `i` (a running one).
    fn signal(&self, i: usize, signal: &str) {
        let pid = self.servers[i].child.as_ref().expect("a live server").id();
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status()
            .expect("kill(1)");
        assert!(status.success(), "kill -{signal} {pid}: {status}");
    }

    /// Server `i`'s log, read while the server is stopped (SIGSTOP lets a write in progress
    /// finish, so the file holds whole writes only), replayed.
    fn frozen_log(&self, i: usize) -> wal::Replay {
        self.signal(i, "STOP");
        let bytes = fs::read(self.servers[i].dir.join("wal"));
        self.signal(i, "CONT");
        let bytes = bytes.expect("a log");
        wal::replay(&bytes).unwrap_or_else(|e| panic!("node {}: {e}", i + 1))
    }

    fn is_up(&self, i: usize) -> bool {
        self.servers[i].child.is_some()
    }

    /// A server the test did not kill must still be running: any exit is a failure (a panic,
    /// a refused log, a failed write).
    fn check_alive(&mut self, i: usize) {
        let Some(child) = self.servers[i].child.as_mut() else {
            return;
        };
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "node {} exited on its own ({status})\n{}",
                i + 1,
                self.all_logs()
            );
        }
    }

    fn log_of(&self, i: usize, incarnation: u32) -> String {
        fs::read_to_string(self.stderr_path(i, incarnation)).unwrap_or_default()
    }

    fn all_logs(&self) -> String {
        let mut text = String::new();
        for (i, server) in self.servers.iter().enumerate() {
            for incarnation in 1..=server.incarnation {
                text += &format!("--- node {} incarnation {incarnation}\n", i + 1);
                text += &self.log_of(i, incarnation);
            }
        }
        text
    }

    fn addrs(&self) -> Vec<(u64, SocketAddr)> {
        self.servers.iter().map(|s| (s.id, s.addr)).collect()
    }

    /// The live server that leads the highest term, if any answers so.
    fn leader(&self, runtime: &tokio::runtime::Runtime) -> Option<usize> {
        let mut best: Option<(u64, usize)> = None;
        for (i, server) in self.servers.iter().enumerate() {
            if !self.is_up(i) {
                continue;
            }
            let status = runtime.block_on(client::status(server.addr, Duration::from_secs(2)));
            if let Some(status) = status.ok().filter(|s| s.leader) {
                if best.is_none_or(|(term, _)| status.term > term) {
                    best = Some((status.term, i));
                }
            }
        }
        best.map(|(_, i)| i)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for server in &mut self.servers {
            if let Some(mut child) = server.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Ports for the servers, free now and out of the kernel's range for outgoing connections:
/// a restarted server binds its port again, and a connection of anyone's that took it as its
/// local port in the meantime would make the bind fail.
fn free_ports() -> Vec<SocketAddr> {
    static TAKEN: Mutex<Vec<u16>> = Mutex::new(Vec::new()); // by the other scenario
    let range = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let ephemeral_low: u16 = (range.split_whitespace().next())
        .and_then(|low| low.parse().ok())
        .unwrap_or(32768);
    let low = ephemeral_low.saturating_sub(12000).max(1024);
    let mut taken = TAKEN.lock().unwrap();
    let mut rng = Stream::new(u64::from(std::process::id()), "real-cluster-ports", 0);
    let mut ports = Vec::new();
    while ports.len() < SERVERS {
        let port = low + rng.below(u64::from(ephemeral_low - low)) as u16;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        if !taken.contains(&port) && TcpListener::bind(addr).is_ok() {
            taken.push(port);
            ports.push(addr);
        }
    }
    ports
}

/// Appends a torn write to server `i`'s log (it must be down): the beginning of the record
/// it would have written next, that record with one bit flipped, or a run of zeros (a file
/// extended by a write whose data never reached the disk). Returns what the restart must cut.
fn tear(cluster: &Cluster, i: usize, kind: u64, rng: &mut Stream) -> Tear {
    let path = cluster.servers[i].dir.join("wal");
    let bytes = fs::read(&path).expect("the log of a server that ran");
    let replay = wal::replay(&bytes).expect("a server's own log replays");
    let state = replay.state;
    let next = PersistChange {
        append: Some(LogAppend {
            first_index: state.last_index().next(),
            entries: vec![Entry {
                term: state.hard_state.term,
                command: SharedBytes::from(&b"never acknowledged"[..]),
            }],
        }),
        ..Default::default()
    };
    let mut torn = Vec::new();
    wal::encode_record(&next, &mut torn).unwrap();
    match kind % 3 {
        0 => torn.truncate(1 + rng.below(torn.len() as u64 - 1) as usize),
        1 => {
            let at = rng.below(torn.len() as u64) as usize;
            torn[at] ^= 1 << rng.below(8);
        }
        _ => torn = vec![0; 512],
    }
    let mut file = OpenOptions::new().append(true).open(&path).unwrap();
    file.write_all(&torn).unwrap();
    Tear {
        server: i,
        incarnation: cluster.servers[i].incarnation + 1,
        offset: replay.valid_len as u64,
        bytes: (bytes.len() + torn.len() - replay.valid_len) as u64,
    }
}

/// Kills and restarts servers until `stop`; returns the torn writes it appended.
fn nemesis(cluster: &Mutex<Cluster>, stop: &AtomicBool) -> Vec<Tear> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut rng = Stream::new(1, "real-cluster-nemesis", 0);
    let mut tears = Vec::new();
    let mut round = 0u64;
    let pause = |rng: &mut Stream, min: u64, spread: u64| {
        std::thread::sleep(Duration::from_millis(min + rng.below(spread)));
    };
    while round < MIN_ROUNDS || !stop.load(Ordering::Relaxed) {
        pause(&mut rng, 300, 400);
        let mut cluster = cluster.lock().unwrap();
        (0..SERVERS).for_each(|i| cluster.check_alive(i));
        let leader = cluster.leader(&runtime);
        let victim = match leader {
            Some(leader) if round.is_multiple_of(2) => leader,
            _ => rng.below(SERVERS as u64) as usize,
        };
        let mut victims = vec![victim];
        if round % 4 == 3 {
            victims.push((victim + 1 + rng.below(2) as usize) % SERVERS); // no majority for a while
        }
        victims.iter().for_each(|&v| cluster.kill(v));
        pause(&mut rng, 200, 400);
        for &v in &victims {
            let torn = (round < 3 || rng.chance(500)).then(|| tear(&cluster, v, round, &mut rng));
            cluster.restart(v);
            if let Some(tear) = torn {
                // The restart cut the torn write off: nothing after the good records is bad.
                let log = cluster.frozen_log(v);
                assert_eq!(
                    log.torn,
                    None,
                    "node {}: the torn write is still there",
                    v + 1
                );
                assert!(
                    log.valid_len as u64 >= tear.offset,
                    "node {}: lost records",
                    v + 1
                );
                tears.push(tear);
            }
        }
        round += 1;
    }
    tears
}

/// What a client records: the history's operations, and its acknowledged appends.
struct Recorded {
    history: Vec<Operation<KvInput, KvOutput>>,
    acknowledged: Vec<(String, String)>,
    sent: Vec<(String, String)>,
}

/// One client's operations: appends and reads on the append keys, puts and reads on the put
/// key; every value unique.
async fn run_client(
    k: usize,
    servers: Vec<(u64, SocketAddr)>,
    start: Instant,
    ops: usize,
) -> Recorded {
    let timeouts = Timeouts {
        attempt: Duration::from_secs(1),
        deadline: Duration::from_secs(15),
    };
    let mut client = Client::new(servers, timeouts);
    let mut rng = Stream::new(1, "real-cluster-client", k as u64);
    let mut recorded = Recorded {
        history: Vec::new(),
        acknowledged: Vec::new(),
        sent: Vec::new(),
    };
    let now = || start.elapsed().as_micros() as u64;
    for n in 0..ops {
        tokio::time::sleep(Duration::from_millis(THINK_MS.0 + rng.below(THINK_MS.1))).await;
        let key = APPEND_KEYS[rng.below(APPEND_KEYS.len() as u64) as usize];
        let value = format!("[{k}.{n}]");
        let (op, input) = match rng.below(10) {
            0..=4 => (
                Op::Append {
                    key: key.into(),
                    value: value.clone(),
                },
                KvInput::append(key, &value),
            ),
            5..=7 => (Op::Get { key: key.into() }, KvInput::get(key)),
            8 => (
                Op::Put {
                    key: PUT_KEY.into(),
                    value: value.clone(),
                },
                KvInput::put(PUT_KEY, &value),
            ),
            _ => (
                Op::Get {
                    key: PUT_KEY.into(),
                },
                KvInput::get(PUT_KEY),
            ),
        };
        let appends = matches!(op, Op::Append { .. });
        if appends {
            recorded.sent.push((key.into(), value.clone()));
        }
        let call = now();
        let operation = match client.execute(op).await {
            Ok(read) => {
                if appends {
                    recorded.acknowledged.push((key.into(), value));
                }
                Operation::completed(k as i64, input, call, KvOutput { value: read }, now())
            }
            Err(_) => Operation::pending(k as i64, input, call),
        };
        recorded.history.push(operation);
    }
    recorded
}

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
        std::thread::spawn(move || nemesis(&cluster, &stop))
    };

    let clients = (0..CLIENTS).map(|k| run_client(k, servers.clone(), start, OPS_PER_CLIENT));
    let all = futures_join(&runtime, clients.collect());
    let client_phase = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    let tears = nemesis
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    let Some(mut recorded) = all else {
        panic!(
            "the clients did not finish within {CLIENT_PHASE_LIMIT:?}\n{}",
            cluster.lock().unwrap().all_logs()
        );
    };

    // Every server is back; a last client reads every key (part of the history too).
    let final_reads = runtime.block_on(async {
        let mut client = Client::new(servers.clone(), Timeouts::default());
        let mut reads = Vec::new();
        for key in APPEND_KEYS.iter().chain([&PUT_KEY]) {
            let call = start.elapsed().as_micros() as u64;
            let value = client
                .execute(Op::Get {
                    key: key.to_string(),
                })
                .await;
            let ret = start.elapsed().as_micros() as u64;
            reads.push((key.to_string(), call, value, ret));
        }
        reads
    });
    let cluster = cluster.lock().unwrap();
    let mut history: Vec<_> = recorded
        .iter_mut()
        .flat_map(|r| r.history.drain(..))
        .collect();
    let mut finals = Vec::new();
    for (key, call, value, ret) in final_reads {
        let value =
            value.unwrap_or_else(|e| panic!("final read of {key}: {e}\n{}", cluster.all_logs()));
        history.push(Operation::completed(
            -1,
            KvInput::get(&key),
            call,
            KvOutput::value(&value),
            ret,
        ));
        finals.push((key, value));
    }

    let pending = history.iter().filter(|op| op.returned.is_none()).count();
    let result = linearizability::check(&KvModel, &history, Budget::default());
    if result.verdict != Verdict::Linearizable {
        let name = format!("real_cluster{}.html", server_args.concat());
        let page = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
        let micros = |t: u64| format!("{:.3}s", t as f64 / 1e6);
        let _ = linearizability::write_visualization(
            &KvModel,
            &history,
            &result,
            "real cluster",
            &micros,
            &page,
        );
        panic!(
            "the history is {} (see {})\n{}",
            result.verdict,
            page.display(),
            cluster.all_logs()
        );
    }

    // Nothing acknowledged is lost, nothing is applied twice, nothing appears unasked.
    let acknowledged: Vec<(String, String)> = recorded
        .iter()
        .flat_map(|r| r.acknowledged.clone())
        .collect();
    let sent: Vec<(String, String)> = recorded.iter().flat_map(|r| r.sent.clone()).collect();
    for (key, value) in &finals {
        if key == PUT_KEY {
            continue;
        }
        for (_, piece) in sent.iter().filter(|(k, _)| k == key) {
            let times = value.matches(piece.as_str()).count();
            let acked = acknowledged.iter().any(|(k, v)| k == key && v == piece);
            assert!(
                times <= 1,
                "{piece} appended to {key} {times} times: {value}"
            );
            assert!(
                times == 1 || !acked,
                "acknowledged {piece} lost from {key}: {value}"
            );
        }
        let pieces: usize = (sent.iter())
            .filter(|(k, v)| k == key && value.contains(v.as_str()))
            .count();
        assert_eq!(
            value.matches('[').count(),
            pieces,
            "{key} holds values never sent: {value}"
        );
    }

    // Every torn write was cut exactly, by the incarnation that restarted on it.
    assert!(tears.len() >= 3, "the nemesis tore {} logs", tears.len());
    for tear in &tears {
        let log = cluster.log_of(tear.server, tear.incarnation);
        let expected = format!(
            "node {}: cut {} bytes of a torn write at byte {}:",
            tear.server + 1,
            tear.bytes,
            tear.offset
        );
        assert!(log.contains(&expected), "expected {expected:?} in\n{log}");
    }
    // The logs on disk: whole, and in agreement.
    let states: Vec<PersistentState> = (0..SERVERS)
        .map(|i| {
            let log = cluster.frozen_log(i);
            assert_eq!(
                log.torn,
                None,
                "node {}: a bad record at byte {}",
                i + 1,
                log.valid_len
            );
            log.state
        })
        .collect();
    for a in 0..SERVERS {
        for b in a + 1..SERVERS {
            if let Err(why) = log_matching(&states[a], &states[b]) {
                panic!("nodes {} and {}: {why}", a + 1, b + 1);
            }
        }
    }
    let logs = cluster.all_logs();
    let compactions = logs.matches("compacted through").count();
    let installs = logs.matches("installed the leader's snapshot").count();
    assert!(compactions > 0, "no server compacted its log\n{logs}");
    let restarts: u32 = cluster.servers.iter().map(|s| s.incarnation - 1).sum();
    println!(
        "{server_args:?}: {} operations ({pending} without an answer), {restarts} restarts, {} torn writes cut, \
         {compactions} compactions, {installs} snapshots installed; clients {:.1} s, test {:.1} s; \
         checker: {} steps",
        history.len(),
        tears.len(),
        client_phase.as_secs_f64(),
        test_start.elapsed().as_secs_f64(),
        result.stats.steps
    );
}

/// Log Matching (§5.3) between two durable logs: where they hold an entry of the same index
/// and term, they hold the same entries up to there (as far as both still hold entries).
fn log_matching(a: &PersistentState, b: &PersistentState) -> Result<(), String> {
    let first = a.snapshot.index.max(b.snapshot.index).next();
    let last = a.last_index().min(b.last_index());
    let entry = |s: &PersistentState, index: u64| {
        s.entries[(index - s.snapshot.index.0 - 1) as usize].clone()
    };
    let matching = (first.0..=last.0)
        .rev()
        .find(|&i| entry(a, i).term == entry(b, i).term);
    for index in first.0..=matching.unwrap_or(0) {
        if entry(a, index) != entry(b, index) {
            return Err(format!(
                "logs differ at {index}, below a common entry at {matching:?}"
            ));
        }
    }
    Ok(())
}

#[test]
fn log_matching_finds_logs_that_differ_below_a_common_entry() {
    let state = |terms: &[u64], commands: &str| PersistentState {
        hard_state: raft_core::HardState {
            term: raft_core::Term(9),
            voted_for: None,
        },
        snapshot: Default::default(),
        entries: (terms.iter().zip(commands.bytes()))
            .map(|(&term, c)| Entry {
                term: raft_core::Term(term),
                command: SharedBytes::from(&[c][..]),
            })
            .collect(),
    };
    let a = state(&[1, 1, 2, 3], "abcd");
    assert_eq!(log_matching(&a, &state(&[1, 1, 2, 4], "abcx")), Ok(()));
    assert_eq!(log_matching(&a, &state(&[1, 1], "ab")), Ok(()));
    assert!(log_matching(&a, &state(&[1, 1, 2], "axc")).is_err());
    assert!(log_matching(&a, &state(&[1, 1, 2, 3], "abcx")).is_err());
}

/// Runs the clients to the end, or gives up after [`CLIENT_PHASE_LIMIT`].
fn futures_join<F>(runtime: &tokio::runtime::Runtime, clients: Vec<F>) -> Option<Vec<Recorded>>
where
    F: std::future::Future<Output = Recorded> + Send + 'static,
{
    runtime.block_on(async {
        let tasks: Vec<_> = clients.into_iter().map(tokio::spawn).collect();
        let all = async {
            let mut recorded = Vec::new();
            for task in tasks {
                recorded.push(task.await.expect("a client task"));
            }
            recorded
        };
        tokio::time::timeout(CLIENT_PHASE_LIMIT, all).await.ok()
    })
}
