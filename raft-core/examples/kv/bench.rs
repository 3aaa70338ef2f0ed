//! The load generator: `clients` closed-loop clients put values under random keys until
//! `ops` operations are done, and the latency of each is recorded. Each client first does
//! one untimed `Get` (to find the leader and connect); the clock starts when all have.

#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // it measures real time

use crate::client::{Client, Timeouts};
use crate::protocol::Op;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Barrier;

/// What to run.
pub struct Load {
    /// Concurrent clients.
    pub clients: usize,
    /// Operations in all.
    pub ops: usize,
    /// Bytes per value.
    pub value_bytes: usize,
    /// Distinct keys.
    pub keys: u64,
}

/// What it measured.
pub struct Report {
    /// Operations completed.
    pub ops: usize,
    /// Wall time from the start to the last answer.
    pub elapsed: Duration,
    /// Every operation's latency, sorted.
    pub latencies: Vec<Duration>,
}

impl Report {
    /// The `q`-quantile of the latencies (nearest rank).
    pub fn quantile(&self, q: f64) -> Duration {
        let rank = ((q * self.latencies.len() as f64).ceil() as usize).max(1);
        self.latencies[rank.min(self.latencies.len()) - 1]
    }
}

/// Runs `load` against `servers`.
pub async fn run(servers: Vec<(u64, SocketAddr)>, load: Load) -> Result<Report, String> {
    let remaining = Arc::new(AtomicUsize::new(load.ops));
    let ready = Arc::new(Barrier::new(load.clients + 1));
    let value = "v".repeat(load.value_bytes);
    let mut tasks = Vec::new();
    for _ in 0..load.clients {
        let mut client = Client::new(servers.clone(), Timeouts::default());
        let (remaining, ready, value) = (remaining.clone(), ready.clone(), value.clone());
        let keys = load.keys;
        tasks.push(tokio::spawn(async move {
            let warm_up = client.execute(Op::Get { key: "k".into() }).await;
            ready.wait().await;
            warm_up?;
            let mut latencies = Vec::new();
            let mut state = client.id() | 1;
            while take_one(&remaining) {
                state ^= state << 13; // xorshift64: which key
                state ^= state >> 7;
                state ^= state << 17;
                let key = format!("key{}", state % keys);
                let value = value.clone();
                let start = Instant::now();
                client.execute(Op::Put { key, value }).await?;
                latencies.push(start.elapsed());
            }
            Ok::<_, String>(latencies)
        }));
    }
    ready.wait().await;
    let start = Instant::now();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.map_err(|e| e.to_string())??);
    }
    let elapsed = start.elapsed();
    latencies.sort();
    if latencies.is_empty() {
        return Err("no operation completed".into());
    }
    Ok(Report {
        ops: latencies.len(),
        elapsed,
        latencies,
    })
}

/// Claims one of the remaining operations.
fn take_one(remaining: &AtomicUsize) -> bool {
    remaining
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok()
}
