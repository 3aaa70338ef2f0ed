//! The clients: a fixed number of operations each, every call and return recorded.

use super::{APPEND_KEYS, CLIENTS, CLIENT_PHASE_LIMIT, OPS_PER_CLIENT, PUT_KEY, THINK_MS};
use crate::client::{Client, Timeouts};
use crate::protocol::Op;
use raft_sim::linearizability::{KvInput, KvOutput, Operation};
use raft_sim::rng::Stream;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// An operation of the history.
pub type KvOperation = Operation<KvInput, KvOutput>;

/// What a client records: the history's operations, and its acknowledged appends.
pub struct Recorded {
    pub history: Vec<KvOperation>,
    pub acknowledged: Vec<(String, String)>,
    pub sent: Vec<(String, String)>,
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

/// Runs the clients to the end, or gives up after [`CLIENT_PHASE_LIMIT`].
pub fn run_clients(
    runtime: &tokio::runtime::Runtime,
    servers: &[(u64, SocketAddr)],
    start: Instant,
) -> Option<Vec<Recorded>> {
    let clients = (0..CLIENTS).map(|k| run_client(k, servers.to_vec(), start, OPS_PER_CLIENT));
    runtime.block_on(async {
        let tasks: Vec<_> = clients.map(|client| tokio::spawn(client)).collect();
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

/// After the faults, with every server back: a last client reads every key. The reads are
/// returned as operations of the history and as (key, value) pairs.
pub fn final_reads(
    runtime: &tokio::runtime::Runtime,
    servers: &[(u64, SocketAddr)],
    start: Instant,
) -> Result<Vec<(KvOperation, String, String)>, String> {
    runtime.block_on(async {
        let timeouts = Timeouts {
            attempt: Duration::from_secs(2),
            deadline: Duration::from_secs(60), // the cluster is whole again: liveness only
        };
        let mut client = Client::new(servers.to_vec(), timeouts);
        let mut reads = Vec::new();
        for key in APPEND_KEYS.iter().chain([&PUT_KEY]) {
            let call = start.elapsed().as_micros() as u64;
            let op = Op::Get {
                key: key.to_string(),
            };
            let value = client
                .execute(op)
                .await
                .map_err(|e| format!("final read of {key}: {e}"))?;
            let ret = start.elapsed().as_micros() as u64;
            let read =
                Operation::completed(-1, KvInput::get(key), call, KvOutput::value(&value), ret);
            reads.push((read, key.to_string(), value));
        }
        Ok(reads)
    })
}
