//! Changing a cluster's membership, in memory: three nodes grow to five (two learners added,
//! caught up, then promoted), then a node is declared dead and replaced by a new one.
//!
//! ```text
//! cargo run -p raft-core --example membership
//! ```
//!
//! Prints each configuration as it takes effect on the leader; exits non-zero if anything
//! goes wrong. `cargo test -p raft-core --example membership` runs it as a test.

use raft_core::{Action, Config, Event, Membership, Message, NodeId, PersistentState, RaftNode};
use std::collections::{BTreeMap, VecDeque};

/// One server: the node, its "disk", its applied commands, and whether it runs.
struct Server {
    node: RaftNode,
    disk: PersistentState,
    applied: Vec<String>,
    alive: bool,
}

/// Servers connected by a perfect network, driven tick by tick.
#[derive(Default)]
struct Cluster {
    servers: BTreeMap<NodeId, Server>,
    network: VecDeque<(NodeId, NodeId, Message)>,
    /// The last configuration printed.
    shown: Option<Membership>,
}

impl Cluster {
    /// Starts server `id`: `peers` is the bootstrap configuration for the first servers, and
    /// empty for a server that joins later (the leader's log tells it the configuration).
    fn start(&mut self, id: u64, peers: &[u64]) {
        let peers = peers.iter().map(|&p| NodeId(p)).collect();
        let config = Config::new(NodeId(id), peers, 1000 + id);
        let node = RaftNode::new(config, None).expect("a valid configuration");
        let server = Server {
            node,
            disk: PersistentState::default(),
            applied: Vec::new(),
            alive: true,
        };
        self.servers.insert(NodeId(id), server);
    }

    /// Feeds `event` to server `id` and carries out its actions; returns the actions that
    /// answer the caller (everything but persisting, sending and applying).
    fn step(&mut self, id: NodeId, event: Event) -> Result<Vec<Action>, String> {
        let server = self.servers.get_mut(&id).ok_or("no such server")?;
        let mut answers = Vec::new();
        for action in server.node.step(event) {
            match action {
                Action::Persist(change) => server.disk.apply(&change).map_err(|e| e.to_string())?,
                Action::Send { to, message } => self.network.push_back((id, to, message)),
                // A service skips configuration entries: they carry no command.
                Action::Apply { entry, .. } if entry.membership().is_some() => {}
                Action::Apply { entry, .. } => server
                    .applied
                    .push(String::from_utf8_lossy(&entry.command).into()),
                // The driver would open connections to new members and close those to
                // removed ones here; this network reaches everyone.
                Action::MembershipChanged { membership } if server.node.is_leader() => {
                    if self.shown.as_ref() != Some(&membership) {
                        println!("  in force on leader {id}: {membership}");
                        self.shown = Some(membership);
                    }
                }
                other => answers.push(other),
            }
        }
        Ok(answers)
    }

    /// One tick on every live server, then every message delivered (to live servers).
    fn run(&mut self, ticks: u32) -> Result<(), String> {
        for _ in 0..ticks {
            let alive: Vec<NodeId> = (self.servers.iter())
                .filter(|(_, s)| s.alive)
                .map(|(&id, _)| id)
                .collect();
            for id in alive {
                self.step(id, Event::Tick)?;
            }
            while let Some((from, to, message)) = self.network.pop_front() {
                if self.servers.get(&to).is_some_and(|s| s.alive) {
                    self.step(to, Event::Receive { from, message })?;
                }
            }
        }
        Ok(())
    }

    fn leader(&self) -> Option<NodeId> {
        let live = self.servers.values().filter(|s| s.alive);
        let leaders = live.filter(|s| s.node.is_leader());
        leaders.max_by_key(|s| s.node.term()).map(|s| s.node.id())
    }

    /// Runs until `done` holds, for at most `ticks` ticks.
    fn run_until(&mut self, ticks: u32, done: impl Fn(&Cluster) -> bool) -> Result<(), String> {
        for _ in 0..ticks {
            if done(self) {
                return Ok(());
            }
            self.run(1)?;
        }
        match done(self) {
            true => Ok(()),
            false => Err(format!("not done within {ticks} ticks")),
        }
    }

    fn wait_for_leader(&mut self) -> Result<NodeId, String> {
        self.run_until(2_000, |c| c.leader().is_some())?;
        self.leader().ok_or_else(|| "no leader".into())
    }

    /// Proposes a command on the leader and waits until every live server applied it.
    fn write(&mut self, command: &str) -> Result<(), String> {
        let leader = self.wait_for_leader()?;
        let command = command.as_bytes().into();
        let answers = self.step(leader, Event::Propose { command })?;
        if !answers.iter().any(|a| matches!(a, Action::Proposed { .. })) {
            return Err(format!("proposal refused: {answers:?}"));
        }
        let index = self.servers[&leader].node.last_index();
        self.run_until(2_000, |c| {
            let live = c.servers.values().filter(|s| s.alive);
            live.clone().all(|s| s.node.last_applied() >= index)
        })
    }

    /// Asks the leader for a new configuration and waits until every live member of it has
    /// it in force and committed (the joint step, if any, included).
    fn change(&mut self, voters: &[u64], learners: &[u64]) -> Result<(), String> {
        let ids = |list: &[u64]| list.iter().map(|&i| NodeId(i)).collect::<Vec<_>>();
        let target = Membership::new(ids(voters), ids(learners));
        let leader = self.wait_for_leader()?;
        let event = Event::ChangeMembership {
            voters: ids(voters),
            learners: ids(learners),
        };
        let answers = self.step(leader, event)?;
        if !answers
            .iter()
            .any(|a| matches!(a, Action::MembershipProposed { .. }))
        {
            return Err(format!("change refused: {answers:?}"));
        }
        self.run_until(3_000, |c| {
            let members = c
                .servers
                .values()
                .filter(|s| s.alive && target.contains(s.node.id()));
            members.clone().count() > 0
                && members.clone().all(|s| {
                    s.node.membership() == &target && s.node.committed_membership() == &target
                })
        })
    }

    /// Whether `id` has applied everything the leader has committed.
    fn caught_up(&self, id: u64) -> bool {
        let leader = self.leader().map(|l| &self.servers[&l]);
        let commit = leader.map_or(Default::default(), |l| l.node.commit_index());
        self.servers[&NodeId(id)].node.last_applied() >= commit
    }
}

fn scenario() -> Result<(), String> {
    let mut c = Cluster::default();
    println!("three servers start as one cluster:");
    for id in 1..=3 {
        c.start(id, &[1, 2, 3]);
    }
    let leader = c.wait_for_leader()?;
    println!("  {leader} leads {}", c.servers[&leader].node.membership());
    c.write("x=1")?;

    println!("grow to five: start servers 4 and 5 empty, add them as learners");
    c.start(4, &[]);
    c.start(5, &[]);
    c.change(&[1, 2, 3], &[4, 5])?;
    c.write("x=2")?;
    c.run_until(2_000, |c| c.caught_up(4) && c.caught_up(5))?;
    println!("  4 and 5 caught up; promote them (through the joint configuration)");
    c.change(&[1, 2, 3, 4, 5], &[])?;
    c.write("x=3")?;

    println!("server 3 dies; replace it with a new server 6");
    c.servers.get_mut(&NodeId(3)).expect("server 3").alive = false;
    c.start(6, &[]);
    c.change(&[1, 2, 4, 5], &[6])?;
    c.run_until(2_000, |c| c.caught_up(6))?;
    c.change(&[1, 2, 4, 5, 6], &[])?;
    c.write("x=4")?;

    // Every live server, the newcomers included, applied the same commands in order.
    let expected: Vec<String> = ["x=1", "x=2", "x=3", "x=4"].map(String::from).to_vec();
    for (id, server) in c.servers.iter().filter(|(_, s)| s.alive) {
        if server.applied != expected {
            return Err(format!("{id} applied {:?}", server.applied));
        }
    }
    let leader = c.wait_for_leader()?;
    println!(
        "done: {leader} leads {}",
        c.servers[&leader].node.membership()
    );
    Ok(())
}

fn main() {
    if let Err(why) = scenario() {
        eprintln!("membership example failed: {why}");
        std::process::exit(1);
    }
}

#[test]
fn the_scenario_runs() {
    scenario().unwrap();
}
