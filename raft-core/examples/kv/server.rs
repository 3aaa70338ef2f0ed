//! One server process: the log store, the service and the node, put together.

use crate::driver::{Driver, Options};
use crate::net;
use crate::service::Kv;
use crate::store::Store;
use raft_core::{Config, NodeId, RaftNode};
use std::hash::{BuildHasher, RandomState};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How to run a server.
pub struct Settings {
    /// This server's id.
    pub id: u64,
    /// Every server of the cluster, this one included.
    pub cluster: Vec<(u64, SocketAddr)>,
    /// Where its log lives.
    pub dir: PathBuf,
    /// The tick's length.
    pub tick: Duration,
    /// Snapshot after this many bytes of log.
    pub snapshot_bytes: u64,
    /// Whether to fsync (off: safe against a process crash only).
    pub fsync: bool,
    /// Pipelined persistence (Ongaro's thesis §10.2.1).
    pub pipelined: bool,
}

/// Restores the server from its directory and runs it until its disk fails.
pub fn run(settings: Settings) -> Result<(), String> {
    let id = settings.id;
    let &(_, addr) = (settings.cluster.iter())
        .find(|(server, _)| *server == id)
        .ok_or_else(|| format!("node {id} is not in the cluster"))?;
    let (store, recovery) = Store::open(&settings.dir, settings.fsync)?;
    let state = store.state().clone();
    say!(
        "node {id}: log replayed: {} records, {} bytes: term {}, snapshot through {}, {} entries after it",
        recovery.records,
        recovery.bytes,
        state.hard_state.term.0,
        state.snapshot.index.0,
        state.entries.len()
    );
    if let Some(cut) = &recovery.cut {
        let (bytes, offset, why) = (cut.bytes, cut.offset, &cut.why);
        say!("node {id}: cut {bytes} bytes of a torn write at byte {offset}: {why}");
    }
    // The node does not hand out its restored snapshot: the service restores from it here.
    let kv = match state.snapshot.index.0 {
        0 => Kv::default(),
        _ => Kv::restore(&state.snapshot.data)?,
    };
    // A seed of its own, different on every start (see `raft_core::embedding`).
    let seed = RandomState::new().hash_one((id, std::process::id()));
    let ids = settings.cluster.iter().map(|&(id, _)| NodeId(id)).collect();
    let mut config = Config::new(NodeId(id), ids, seed);
    config.pipelined_persistence = settings.pipelined;
    // Gets skip the log: the leader confirms it still leads with one heartbeat round
    // (ReadIndex, thesis §6.4) and the read is served once the service has applied that far.
    config.read_index = true;
    let node = RaftNode::new(config, Some(state)).map_err(|e| format!("node {id}: {e}"))?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("node {id}: cannot start the runtime: {e}"))?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(addr))
        .map_err(|e| format!("node {id}: cannot listen on {addr}: {e}"))?;
    let (inbox, inputs) = std::sync::mpsc::channel();
    let cluster: Vec<_> = (settings.cluster.iter())
        .map(|&(id, addr)| (NodeId(id), addr))
        .collect();
    let outbox = net::start(&runtime, NodeId(id), &cluster, listener, inbox);
    let fsync = if settings.fsync { "on" } else { "OFF" };
    say!("node {id}: listening on {addr} (seed {seed}, fsync {fsync})");
    let options = Options {
        tick: settings.tick,
        snapshot_bytes: settings.snapshot_bytes,
        max_group: 4096,
    };
    Driver::new(node, store, kv, inputs, outbox, options).run()
}
