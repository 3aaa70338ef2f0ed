//! Rules of pipelined persistence (`Config::pipelined_persistence`, Ongaro's thesis §10.2.1):
//! a leader's own new entries leave before its write is durable, and the leader counts itself
//! toward commitment only once the driver reports them durable.

mod support;

use raft_core::{Action, Config, Event, LogIndex, Message, NodeId, RaftNode, Term};
use support::*;

fn pipelined(id: u64, n: u64) -> Config {
    Config {
        pipelined_persistence: true,
        ..config(id, n)
    }
}

/// A pipelining leader of `n` nodes whose followers all answered its first heartbeat.
fn leader_of(n: u64) -> Harness {
    let mut h = Harness::with_config(pipelined(1, n), None);
    h.elect();
    let term = h.node.term().0;
    for peer in 2..=n {
        h.receive(peer, matched(term, 0));
    }
    h
}

fn persisted(index: u64, term: u64) -> Event {
    Event::Persisted {
        index: LogIndex(index),
        term: Term(term),
    }
}

#[test]
fn off_by_default() {
    assert!(!Config::new(NodeId(1), ids(3), 1).pipelined_persistence);
    let mut h = Harness::fresh(1, 3);
    h.elect();
    let actions = h.propose("x");
    assert!(matches!(actions[0], Action::Persist(_)), "{actions:?}");
}

#[test]
fn the_leaders_own_entries_leave_before_its_write_is_durable() {
    let mut h = leader_of(3);
    let term = h.node.term();
    let actions = h.step(Event::ProposeBatch {
        commands: vec![cmd("a"), cmd("b")],
    });
    let Action::PersistAsync {
        change,
        index,
        term: t,
    } = &actions[0]
    else {
        panic!("expected PersistAsync first: {actions:?}");
    };
    assert_eq!((*index, *t), (LogIndex(2), term));
    assert_eq!(change.append.as_ref().unwrap().entries.len(), 2);
    for peer in [2, 3] {
        assert_eq!(only_append_to(&actions, peer).entries.len(), 2);
    }
}

#[test]
fn the_leader_does_not_count_itself_before_its_write_is_durable() {
    let mut h = leader_of(3);
    let term = h.node.term().0;
    h.propose("x");
    // One follower holds it durably; the leader's own copy is not yet durable: 1 of 3.
    let actions = h.receive(2, matched(term, 1));
    assert!(applied(&actions).is_empty());
    assert_eq!(h.node.commit_index(), LogIndex(0));
    // Now it is: 2 of 3. It commits, applies, and tells the follower at once.
    let actions = h.step(persisted(1, term));
    assert_eq!(h.node.commit_index(), LogIndex(1));
    assert_eq!(applied(&actions), [1]);
    assert_eq!(only_append_to(&actions, 2).leader_commit, LogIndex(1));
    assert!(
        sent_to(&actions, 3).is_empty(),
        "n3 has not acknowledged it"
    );
}

#[test]
fn a_durable_report_before_the_acknowledgements_counts_too() {
    let mut h = leader_of(3);
    let term = h.node.term().0;
    h.propose("x");
    assert!(applied(&h.step(persisted(1, term))).is_empty(), "1 of 3");
    let actions = h.receive(3, matched(term, 1));
    assert_eq!(applied(&actions), [1]);
}

#[test]
fn a_durable_majority_of_followers_commits_without_the_leader() {
    let mut h = leader_of(5);
    let term = h.node.term().0;
    h.propose("x");
    h.receive(2, matched(term, 1));
    assert_eq!(h.node.commit_index(), LogIndex(0));
    let actions = h.receive(3, matched(term, 1));
    assert_eq!(h.node.commit_index(), LogIndex(0), "2 of 5");
    assert!(applied(&actions).is_empty());
    let actions = h.receive(4, matched(term, 1));
    assert_eq!(applied(&actions), [1], "3 of 5, none of them the leader");
}

#[test]
fn reports_the_node_cannot_match_are_ignored() {
    let mut h = leader_of(3);
    let term = h.node.term().0;
    h.propose("x");
    h.propose("y");
    h.receive(2, matched(term, 2));
    for report in [
        persisted(2, term + 1), // wrong term
        persisted(2, term - 1),
        persisted(3, term), // beyond the log
        persisted(u64::MAX, term),
        persisted(0, 0), // nothing to report
    ] {
        let actions = h.step(report.clone());
        assert!(actions.is_empty(), "{report:?} -> {actions:?}");
        assert_eq!(h.node.commit_index(), LogIndex(0), "{report:?}");
    }
    // A report for the first write counts through it only.
    let actions = h.step(persisted(1, term));
    assert_eq!(applied(&actions), [1]);
    let actions = h.step(persisted(2, term));
    assert_eq!(applied(&actions), [2]);
    assert!(h.step(persisted(1, term)).is_empty(), "a stale report");
}

#[test]
fn followers_still_persist_before_they_acknowledge() {
    let mut h = Harness::with_config(pipelined(1, 3), Some(state(1, None, &[])));
    let actions = h.receive(2, append(1, (0, 0), entries_at(1, &[1]), 0));
    assert!(matches!(actions[0], Action::Persist(_)), "{actions:?}");
    assert!(
        h.step(persisted(1, 1)).is_empty(),
        "a follower ignores reports"
    );
}

#[test]
fn votes_terms_and_snapshots_are_never_pipelined() {
    // A candidate's vote for itself, and a leader's step down.
    let mut h = Harness::with_config(pipelined(1, 3), None);
    let actions = h.tick_until_candidate();
    assert!(matches!(actions[0], Action::Persist(_)));
    let mut h = leader_of(3);
    let term = h.node.term().0;
    h.propose("x");
    let actions = h.receive(2, vote_request(term + 1, 1, term));
    assert!(matches!(actions[0], Action::Persist(_)), "{actions:?}");
    // A leader's snapshot: a plain write, which also covers the unfinished append.
    let mut h = leader_of(3);
    let term = h.node.term().0;
    h.propose("x");
    h.propose("y");
    h.receive(2, matched(term, 2));
    h.step(persisted(1, term));
    let actions = h.step(Event::Snapshot {
        index: LogIndex(1),
        data: cmd("s1"),
    });
    assert!(matches!(actions[0], Action::Persist(_)), "{actions:?}");
    assert_eq!(h.node.commit_index(), LogIndex(1));
    // Everything before the plain write is durable now: entry 2 commits on the next ack.
    let actions = h.receive(2, matched(term, 2));
    assert_eq!(applied(&actions), [2]);
}

#[test]
fn a_lone_pipelining_node_commits_once_its_write_is_durable() {
    let mut node = RaftNode::new(pipelined(1, 1), None).unwrap();
    while !node.is_leader() {
        node.step(Event::Tick);
    }
    let term = node.term().0;
    let actions = node.step(Event::Propose { command: cmd("x") });
    assert!(matches!(actions[0], Action::PersistAsync { .. }));
    assert!(applied(&actions).is_empty());
    assert_eq!(applied(&node.step(persisted(1, term))), [1]);
}

/// The scenario the rule exists for: a leader that counted its own unfinished write could
/// commit and apply an entry that its crash then leaves on a minority only, and a new leader
/// could overwrite it. Waiting for the report keeps the entry from committing until a
/// majority holds it durably.
#[test]
fn a_crash_loses_only_uncommitted_entries() {
    let configs = (1..=3).map(|id| pipelined(id, 3)).collect();
    let mut c = Cluster::with_configs(configs);
    c.finish_writes_at_once = false;
    let leader = NodeId(1);
    c.elect(leader);
    c.run(1);
    c.isolate(NodeId(3));
    let (index, _) = c.propose(leader, cmd("x")).expect("leads");
    assert_eq!(c.unfinished_writes(leader), 1);
    c.deliver_all(); // n2 stores it durably and acknowledges
    assert_eq!(c.durable(NodeId(2)).last_index(), index);
    assert_eq!(
        c.node(leader).commit_index(),
        LogIndex(0),
        "1 durable copy of 3"
    );
    assert_eq!(c.service(leader).last(), LogIndex(0));
    // The leader crashes before its write finishes, and so does n2: their durable logs
    // differ, but nothing was committed, so the others may pick another command.
    c.crash(leader);
    assert_eq!(
        c.durable(leader).last_index(),
        LogIndex(0),
        "the write was lost"
    );
    c.crash(NodeId(2));
    c.heal();
    c.restart(leader);
    let new = NodeId(3);
    c.elect(new);
    let (other, _) = c.propose(new, cmd("y")).expect("leads");
    assert_eq!(other, index, "index 1 is free: x never committed");
    c.restart(NodeId(2));
    c.wait_applied(other.0);
    assert_eq!(c.committed_at(other.0), Some(&cmd("y")));
}

#[test]
fn once_reported_the_entry_commits_and_survives_the_leaders_crash() {
    let configs = (1..=3).map(|id| pipelined(id, 3)).collect();
    let mut c = Cluster::with_configs(configs);
    c.finish_writes_at_once = false;
    let leader = NodeId(1);
    c.elect(leader);
    c.run(1);
    c.isolate(NodeId(3));
    let (index, _) = c.propose(leader, cmd("x")).expect("leads");
    c.deliver_all();
    assert_eq!(c.node(leader).commit_index(), LogIndex(0));
    c.finish_write(leader);
    assert_eq!(c.node(leader).commit_index(), index);
    c.deliver_all();
    assert_eq!(
        c.service(NodeId(2)).last(),
        index,
        "n2 applied it (commit notice)"
    );
    c.crash(leader);
    c.heal();
    let term = c.node(NodeId(2)).term();
    let new = c.wait_for_leader_after(term);
    c.restart(leader);
    let (next, _) = c.propose(new, cmd("y")).expect("leads");
    c.wait_applied(next.0);
    assert_eq!(c.committed_at(index.0), Some(&cmd("x")));
}

#[test]
fn messages_of_a_pipelining_leader_are_the_usual_ones() {
    // Only when the leader's write is reported does anything new go out.
    let mut h = leader_of(3);
    let term = h.node.term().0;
    h.propose("x");
    let actions = h.receive(2, matched(term, 1));
    assert!(actions.iter().all(|a| !matches!(
        a,
        Action::Send {
            message: Message::AppendEntries(_),
            ..
        }
    )));
}
