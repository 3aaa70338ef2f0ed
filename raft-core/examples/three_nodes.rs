//! Three Raft nodes driven by a hand-written loop: the whole job of a driver, in one file.
//!
//! Run it with `cargo run -p raft-core --example three_nodes`.
//!
//! A driver owns everything the core leaves out: a clock (here, a loop counter turned into
//! `Event::Tick`s), a network (a FIFO queue), durable storage (a `PersistentState` per node,
//! kept up to date by applying every `Action::Persist`), and the replicated service (a list
//! of applied commands per node). It feeds events to `RaftNode::step` and carries out the
//! returned actions in order.

use raft_core::{Action, Config, Event, LogIndex, Message, NodeId, PersistentState, RaftNode};
use std::collections::VecDeque;

/// One server: the Raft node plus what a real process would keep next to it.
struct Server {
    node: RaftNode,
    /// What is "on disk": every `Persist` is applied here before anything else happens.
    disk: PersistentState,
    /// The service's state: the commands applied so far, in order.
    applied: Vec<(LogIndex, String)>,
}

/// A message in flight.
struct Packet {
    from: NodeId,
    to: NodeId,
    message: Message,
}

/// Carries out the actions of one `step` of server `me`, in order.
fn carry_out(me: &mut Server, actions: Vec<Action>, network: &mut VecDeque<Packet>) {
    let from = me.node.id();
    for action in actions {
        match action {
            // Durable before anything after it: a vote or an acknowledged entry must survive
            // a crash. Here "durable" is an in-memory copy; a real driver would write and
            // fsync, doing work proportional to the change.
            Action::Persist(change) => me
                .disk
                .apply(&change)
                .expect("changes arrive in order and fit"),
            Action::Send { to, message } => network.push_back(Packet { from, to, message }),
            Action::Apply { index, entry } => {
                let text = String::from_utf8_lossy(&entry.command).into_owned();
                me.applied.push((index, text));
            }
            // Only a lagging follower gets these; this run never compacts its log.
            Action::ApplySnapshot { index, .. } => {
                println!("{from} installs a snapshot at {index}")
            }
            // Only with `Config::pipelined_persistence`, which this run leaves off.
            Action::PersistAsync { .. } => unreachable!("pipelined persistence is off"),
            // Answers to proposals; `propose` below reads them itself.
            Action::Proposed { .. } | Action::ProposedBatch { .. } | Action::NotLeader { .. } => {}
            // Only for leadership transfers and reads, which this run does not ask for.
            Action::Refused { .. } | Action::ReadReady { .. } | Action::ReadFailed { .. } => {}
            // Only for membership changes (see the `membership` example).
            Action::MembershipProposed { .. } | Action::MembershipChanged { .. } => {}
        }
    }
}

/// The lab's `Start`: ask `server` to replicate `command`; the answer comes in the same step.
fn propose(server: &mut Server, command: &str, network: &mut VecDeque<Packet>) -> bool {
    let actions = server.node.step(Event::Propose {
        command: command.as_bytes().into(),
    });
    let accepted = actions.iter().find_map(|a| match a {
        Action::Proposed { index, term } => Some((*index, *term)),
        _ => None,
    });
    if let Some((index, term)) = accepted {
        println!(
            "{} accepts {command:?} at {index} in {term}",
            server.node.id()
        );
    }
    carry_out(server, actions, network);
    accepted.is_some()
}

fn main() {
    let ids = vec![NodeId(1), NodeId(2), NodeId(3)];
    // Each node gets its own seed: the seed drives its randomized election timeout, the only
    // randomness in the core. Same seeds, same run.
    let mut servers: Vec<Server> = ids
        .iter()
        .map(|&id| Server {
            node: RaftNode::new(Config::new(id, ids.clone(), 1000 + id.0), None)
                .expect("valid configuration"),
            disk: PersistentState::default(),
            applied: Vec::new(),
        })
        .collect();
    let mut network: VecDeque<Packet> = VecDeque::new();
    let commands = ["set x = 1", "set y = 2", "incr x", "del y", "set z = 3"];
    let mut next_command = 0;
    let mut known_leader = None;

    // With the default configuration, a follower stands for election after 30 to 60 ticks
    // without a heartbeat, and a leader sends one every 10 ticks.
    for tick in 0..300 {
        // 1. Time passes for everyone.
        for server in servers.iter_mut() {
            let actions = server.node.step(Event::Tick);
            carry_out(server, actions, &mut network);
        }
        // 2. Once there is a leader, it gets one command every few ticks.
        if tick % 5 == 0 && next_command < commands.len() {
            if let Some(leader) = servers.iter_mut().find(|s| s.node.is_leader()) {
                if propose(leader, commands[next_command], &mut network) {
                    next_command += 1;
                }
            }
        }
        // 3. The network delivers everything in flight (and whatever that provokes). A real
        //    network may lose, delay or reorder messages; Raft copes with all of it.
        while let Some(Packet { from, to, message }) = network.pop_front() {
            let server = servers
                .iter_mut()
                .find(|s| s.node.id() == to)
                .expect("known peer");
            let actions = server.node.step(Event::Receive { from, message });
            carry_out(server, actions, &mut network);
        }
        // 4. Report elections as they happen.
        let leader = servers
            .iter()
            .find(|s| s.node.is_leader())
            .map(|s| (s.node.id(), s.node.term()));
        if let Some((id, term)) = leader.filter(|&(id, _)| Some(id) != known_leader) {
            println!("tick {tick}: {id} is elected leader of {term}");
            known_leader = Some(id);
        }
    }

    println!();
    for server in &servers {
        let node = &server.node;
        println!(
            "{} is {:?} in {}, commit index {}, log holds {} entries",
            node.id(),
            node.role(),
            node.term(),
            node.commit_index(),
            node.log_len()
        );
        for (index, command) in &server.applied {
            println!("    applied {index}: {command}");
        }
        // What is on disk is exactly what the node believes it has made durable.
        assert_eq!(server.disk, node.persistent_state());
    }

    // A crash loses everything but the disk. The node comes back from the encoded bytes with
    // its term, vote and log; commit and apply positions are relearned from the leader.
    let bytes = servers[2].disk.encode();
    let restored = PersistentState::decode(&bytes).expect("what we wrote decodes");
    let config = servers[2].node.config().clone();
    let reborn = RaftNode::new(config, Some(restored)).expect("restart");
    println!(
        "\n{} restarted from {} bytes: {}, {} log entries, commit index {} until the leader says more",
        reborn.id(),
        bytes.len(),
        reborn.term(),
        reborn.log_len(),
        reborn.commit_index()
    );

    let all_agree = servers.iter().all(|s| s.applied == servers[0].applied);
    assert!(all_agree && servers[0].applied.len() == commands.len());
    println!(
        "all three nodes applied the same {} commands",
        commands.len()
    );
}
