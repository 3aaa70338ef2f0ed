//! The servers as processes: start, SIGKILL, restart, stop and resume, their stderr files.

use super::{SERVERS, SNAPSHOT_BYTES, START_LIMIT};
use crate::client;
use raft_core::wal;
use raft_sim::rng::Stream;
use std::fs::{self, File};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One server: its address, directory, process and the stderr files of its incarnations.
pub struct Server {
    pub id: u64,
    pub addr: SocketAddr,
    pub dir: PathBuf,
    child: Option<Child>,
    pub incarnation: u32,
}

pub struct Cluster {
    pub servers: Vec<Server>,
    exe: PathBuf,
    cluster_arg: String,
    /// Arguments every server gets besides its address and directory.
    extra_args: &'static [&'static str],
    logs: PathBuf,
    _root: tempfile::TempDir,
}

impl Cluster {
    pub fn start(extra_args: &'static [&'static str]) -> Cluster {
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

    pub fn stderr_path(&self, i: usize, incarnation: u32) -> PathBuf {
        self.logs.join(format!("node-{}.{incarnation}.log", i + 1))
    }

    pub fn spawn(&mut self, i: usize) {
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
    pub fn wait_listening(&mut self, i: usize) {
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
    pub fn kill(&mut self, i: usize) {
        self.check_alive(i);
        let mut child = self.servers[i].child.take().expect("a live server");
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
    }

    pub fn restart(&mut self, i: usize) {
        self.spawn(i);
        self.wait_listening(i);
    }

    /// Sends `signal` to server `i` (a running one).
    pub fn signal(&self, i: usize, signal: &str) {
        let pid = self.servers[i].child.as_ref().expect("a live server").id();
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status()
            .expect("kill(1)");
        assert!(status.success(), "kill -{signal} {pid}: {status}");
    }

    /// Server `i`'s log, read while the server is stopped (SIGSTOP lets a write in progress
    /// finish, so the file holds whole writes only), replayed.
    pub fn frozen_log(&self, i: usize) -> wal::Replay {
        self.frozen_log_and_inode(i).0
    }

    /// The same, with the log file's inode: a compaction replaces the file (a new inode).
    pub fn frozen_log_and_inode(&self, i: usize) -> (wal::Replay, u64) {
        let path = self.servers[i].dir.join("wal");
        self.signal(i, "STOP");
        let (bytes, inode) = (fs::read(&path), fs::metadata(&path).map(|m| m.ino()));
        self.signal(i, "CONT");
        let (bytes, inode) = (bytes.expect("a log"), inode.expect("a log"));
        let replay = wal::replay(&bytes).unwrap_or_else(|e| panic!("node {}: {e}", i + 1));
        (replay, inode)
    }

    pub fn is_up(&self, i: usize) -> bool {
        self.servers[i].child.is_some()
    }

    /// A server the test did not kill must still be running: any exit is a failure (a panic,
    /// a refused log, a failed write).
    pub fn check_alive(&mut self, i: usize) {
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

    pub fn log_of(&self, i: usize, incarnation: u32) -> String {
        fs::read_to_string(self.stderr_path(i, incarnation)).unwrap_or_default()
    }

    pub fn all_logs(&self) -> String {
        let mut text = String::new();
        for (i, server) in self.servers.iter().enumerate() {
            for incarnation in 1..=server.incarnation {
                text += &format!("--- node {} incarnation {incarnation}\n", i + 1);
                text += &self.log_of(i, incarnation);
            }
        }
        text
    }

    pub fn addrs(&self) -> Vec<(u64, SocketAddr)> {
        self.servers.iter().map(|s| (s.id, s.addr)).collect()
    }

    /// The live server that leads the highest term, if any answers so.
    pub fn leader(&self, runtime: &tokio::runtime::Runtime) -> Option<usize> {
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
