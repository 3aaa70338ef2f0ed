//! A replicated key/value store on raft-core, as real processes: the core embedded in a tokio
//! server with TCP between peers and for clients, a write-ahead log file per node with group
//! commit, compaction by snapshot, restart from disk, and reads and writes that go through the
//! log (so every answer is linearizable). A client finds the leader and retries; a load
//! generator measures throughput and latency.
//!
//! ```sh
//! cargo run --release -p raft-core --example kv -- cluster            # three local servers
//! cargo run --release -p raft-core --example kv -- client put greeting hello
//! cargo run --release -p raft-core --example kv -- client append greeting ", world"
//! cargo run --release -p raft-core --example kv -- client get greeting
//! cargo run --release -p raft-core --example kv -- bench --clients 32 --ops 20000
//! ```
//!
//! One concern per file: `protocol` (frames and messages on the wire), `store` (the log
//! file), `service` (the key/value state machine), `driver` (the node's loop: group commit
//! and the actions), `net` (tokio: listener and peer connections), `server` (putting one
//! server together), `client`, `bench` and `cluster`. `tests/tests/real_cluster/` runs three
//! such servers, kills and restarts them under concurrent clients, tears their logs, and
//! checks the clients' history for linearizability.

/// `eprintln!` in one write, so the lines of servers sharing a terminal do not interleave.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let line = format!("{}\n", format_args!($($arg)*));
        let _ = std::io::stderr().write_all(line.as_bytes());
    }};
}

pub mod bench;
pub mod client;
pub mod cluster;
pub mod driver;
pub mod net;
pub mod protocol;
pub mod server;
pub mod service;
pub mod store;

use clap::{Parser, Subcommand};
use protocol::Op;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A replicated key/value store on raft-core.
#[derive(Parser)]
#[command(name = "kv")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The cluster `kv cluster` starts with its default ports.
const LOCAL_CLUSTER: &str = "1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003";

#[derive(Subcommand)]
enum Command {
    /// Run one server (until killed).
    Server {
        /// This server's id, as in --cluster.
        #[arg(long)]
        id: u64,
        /// Every server: ID=HOST:PORT,...
        #[arg(long, value_parser = parse_cluster)]
        cluster: Cluster,
        /// The directory of its log (created if missing).
        #[arg(long)]
        dir: PathBuf,
        /// Milliseconds per tick (heartbeats every 10 ticks, elections after 30 to 60).
        #[arg(long, default_value_t = 10)]
        tick_ms: u64,
        /// Snapshot and compact the log after this many bytes were appended to it.
        #[arg(long, default_value_t = 4 << 20)]
        snapshot_bytes: u64,
        #[command(flatten)]
        disk: DiskFlags,
    },
    /// Start three servers on 127.0.0.1 as child processes (Ctrl-C stops them).
    Cluster {
        /// Node i listens on BASE_PORT + i - 1.
        #[arg(long, default_value_t = 7001)]
        base_port: u16,
        /// Node i keeps its log in DIR/node-i [default: the temporary directory's raft-kv].
        #[arg(long)]
        dir: Option<PathBuf>,
        #[command(flatten)]
        disk: DiskFlags,
    },
    /// One operation, printed when it is done.
    Client {
        /// The servers: ID=HOST:PORT,...
        #[arg(long, value_parser = parse_cluster, default_value = LOCAL_CLUSTER)]
        cluster: Cluster,
        #[command(subcommand)]
        op: ClientOp,
    },
    /// Closed-loop load: operations per second and latency percentiles.
    Bench {
        /// The servers: ID=HOST:PORT,...
        #[arg(long, value_parser = parse_cluster, default_value = LOCAL_CLUSTER)]
        cluster: Cluster,
        /// Concurrent clients.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Operations (puts) in all.
        #[arg(long, default_value_t = 10_000)]
        ops: usize,
        /// Bytes per value.
        #[arg(long, default_value_t = 16)]
        value_bytes: usize,
        /// Distinct keys.
        #[arg(long, default_value_t = 1000)]
        keys: u64,
    },
}

#[derive(clap::Args)]
struct DiskFlags {
    /// Never fsync: fast, and still safe against a killed process (the kernel keeps what was
    /// written), but not against a machine crash.
    #[arg(long)]
    no_fsync: bool,
    /// Pipelined persistence: a leader's entries leave before its own fsync.
    #[arg(long)]
    pipelined: bool,
}

#[derive(Subcommand)]
enum ClientOp {
    /// Print the key's value.
    Get { key: String },
    /// Set the key's value.
    Put { key: String, value: String },
    /// Append to the key's value.
    Append { key: String, value: String },
    /// Print every server's Raft state.
    Status,
}

/// Prints a line on standard output; a closed pipe or a full disk is an error, not a panic.
fn out(line: impl std::fmt::Display) -> Result<(), String> {
    use std::io::Write as _;
    writeln!(std::io::stdout().lock(), "{line}")
        .map_err(|e| format!("cannot write the output: {e}"))
}

/// A cluster's servers, ids and addresses.
type Cluster = Vec<(u64, SocketAddr)>;

/// `ID=HOST:PORT,...` with distinct ids.
fn parse_cluster(text: &str) -> Result<Cluster, String> {
    let mut cluster: Cluster = Vec::new();
    for item in text.split(',') {
        let (id, addr) = item
            .split_once('=')
            .ok_or_else(|| format!("{item:?}: expected ID=HOST:PORT"))?;
        let id: u64 = id
            .trim()
            .parse()
            .map_err(|_| format!("{id:?}: not a node id"))?;
        let addr = addr.trim().parse().map_err(|e| format!("{addr:?}: {e}"))?;
        if cluster.iter().any(|&(other, _)| other == id) {
            return Err(format!("node {id} is listed twice"));
        }
        cluster.push((id, addr));
    }
    Ok(cluster)
}

/// Parses the command line and runs it; exits 1 with the error, 2 for a bad argument.
pub fn main() {
    let result = match Cli::parse().command {
        Command::Server {
            id,
            cluster,
            dir,
            tick_ms,
            snapshot_bytes,
            disk,
        } => server::run(server::Settings {
            id,
            cluster,
            dir,
            tick: Duration::from_millis(tick_ms.max(1)),
            snapshot_bytes,
            fsync: !disk.no_fsync,
            pipelined: disk.pipelined,
        }),
        Command::Cluster {
            base_port,
            dir,
            disk,
        } => cluster::run(cluster::Settings {
            base_port,
            dir: dir.unwrap_or_else(|| std::env::temp_dir().join("raft-kv")),
            server_args: (disk.no_fsync.then_some("--no-fsync").into_iter())
                .chain(disk.pipelined.then_some("--pipelined"))
                .map(String::from)
                .collect(),
        }),
        Command::Client { cluster, op } => run_async(client_command(cluster, op)),
        Command::Bench {
            cluster,
            clients,
            ops,
            value_bytes,
            keys,
        } => run_async(bench_command(
            cluster,
            bench::Load {
                clients: clients.max(1),
                ops,
                value_bytes,
                keys: keys.max(1),
            },
        )),
    };
    if let Err(why) = result {
        eprintln!("kv: {why}");
        std::process::exit(1);
    }
}

fn run_async(work: impl std::future::Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?
        .block_on(work)
}

async fn client_command(cluster: Cluster, op: ClientOp) -> Result<(), String> {
    let op = match op {
        ClientOp::Get { key } => Op::Get { key },
        ClientOp::Put { key, value } => Op::Put { key, value },
        ClientOp::Append { key, value } => Op::Append { key, value },
        ClientOp::Status => {
            for &(id, addr) in &cluster {
                match client::status(addr, Duration::from_secs(1)).await {
                    Ok(status) => out(format_args!("{status:?}"))?,
                    Err(e) => out(format_args!("node {id} at {addr}: {e}"))?,
                }
            }
            return Ok(());
        }
    };
    let reads = matches!(op, Op::Get { .. });
    let value = client::Client::new(cluster, client::Timeouts::default())
        .execute(op)
        .await?;
    out(if reads { value.as_str() } else { "ok" })
}

async fn bench_command(cluster: Cluster, load: bench::Load) -> Result<(), String> {
    let (clients, value_bytes) = (load.clients, load.value_bytes);
    let report = bench::run(cluster, load).await?;
    let seconds = report.elapsed.as_secs_f64();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    out(format_args!(
        "{} puts of {value_bytes} bytes by {clients} clients in {seconds:.2} s: {:.0} ops/s; \
         latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        report.ops,
        report.ops as f64 / seconds,
        ms(report.quantile(0.5)),
        ms(report.quantile(0.99)),
        ms(report.quantile(1.0)),
    ))
}
