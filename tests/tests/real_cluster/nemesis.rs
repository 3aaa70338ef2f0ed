//! The nemesis: SIGKILLs and restarts servers, and tears the logs of some before they restart.

use super::cluster::Cluster;
use super::{MIN_ROUNDS, SERVERS};
use raft_core::{wal, Entry, LogAppend, PersistChange, SharedBytes};
use raft_sim::rng::Stream;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// A torn write appended to a log, and what the restart must cut.
pub struct Tear {
    pub server: usize,
    /// The incarnation that must report the cut.
    pub incarnation: u32,
    pub offset: u64,
    pub bytes: u64,
    /// The log file's inode when torn.
    pub inode: u64,
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
            entries: vec![Entry::new(
                state.hard_state.term,
                SharedBytes::from(&b"never acknowledged"[..]),
            )],
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
    let inode = file.metadata().unwrap().ino();
    Tear {
        server: i,
        incarnation: cluster.servers[i].incarnation + 1,
        offset: replay.valid_len as u64,
        inode,
        bytes: (bytes.len() + torn.len() - replay.valid_len) as u64,
    }
}

/// Kills and restarts servers until `stop`; returns the torn writes it appended.
pub fn nemesis(cluster: &Mutex<Cluster>, stop: &AtomicBool) -> Vec<Tear> {
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
                let (log, inode) = cluster.frozen_log_and_inode(v);
                assert_eq!(
                    log.torn,
                    None,
                    "node {}: the torn write is still there",
                    v + 1
                );
                // Unless a compaction (or a leader's snapshot) has since replaced the file,
                // every record before the tear is still there.
                assert!(
                    inode != tear.inode || log.valid_len as u64 >= tear.offset,
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
