//! `kv cluster`: three servers as child processes of this one, on local ports.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

/// How to start the cluster.
pub struct Settings {
    /// Node `i` listens on `base_port + i - 1`.
    pub base_port: u16,
    /// Node `i` keeps its log in `dir/node-i`.
    pub dir: PathBuf,
    /// Extra arguments for every server (`--no-fsync`, `--pipelined`, ...).
    pub server_args: Vec<String>,
}

/// Starts three servers and waits; if one exits, stops the others and says why.
pub fn run(settings: Settings) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let addrs: Vec<String> = (0..3)
        .map(|i| format!("127.0.0.1:{}", u32::from(settings.base_port) + i))
        .collect();
    let cluster: Vec<String> = (addrs.iter().enumerate())
        .map(|(i, addr)| format!("{}={addr}", i + 1))
        .collect();
    let cluster = cluster.join(",");
    let mut children: Vec<Child> = Vec::new();
    for (i, addr) in addrs.iter().enumerate() {
        let id = (i + 1).to_string();
        let dir = settings.dir.join(format!("node-{id}"));
        let child = Command::new(&exe)
            .args(["server", "--id", &id, "--cluster", &cluster])
            .arg("--dir")
            .arg(&dir)
            .args(&settings.server_args)
            .spawn();
        match child {
            Ok(child) => children.push(child),
            Err(e) => {
                stop(&mut children);
                return Err(format!("cannot start node {id}: {e}"));
            }
        }
        if let Err(e) = crate::out(format_args!("node {id}: {addr}, log in {}", dir.display())) {
            stop(&mut children);
            return Err(e);
        }
    }
    let hint = format!("cluster {cluster}: try `kv client put greeting hello`; Ctrl-C stops it");
    if let Err(e) = crate::out(hint) {
        stop(&mut children);
        return Err(e);
    }
    loop {
        std::thread::sleep(Duration::from_millis(200));
        for (i, child) in children.iter_mut().enumerate() {
            if let Ok(Some(status)) = child.try_wait() {
                stop(&mut children);
                return Err(format!(
                    "node {} exited ({status}); stopped the others",
                    i + 1
                ));
            }
        }
    }
}

fn stop(children: &mut [Child]) {
    for child in children {
        let _ = child.kill();
        let _ = child.wait();
    }
}
