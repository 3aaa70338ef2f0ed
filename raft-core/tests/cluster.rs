//! Whole-cluster behaviour on the deterministic in-memory loop of `support::Cluster`: elections,
//! replication, fast back-up, snapshots, crashes. The loop itself checks persistence, apply
//! order, agreement and Election Safety after every step.

mod support;

use raft_core::{Action, Event, LogIndex, NodeId, Term};
use support::{cmd, Applied, Cluster};

fn others(c: &Cluster, id: NodeId) -> Vec<NodeId> {
    c.ids.iter().copied().filter(|&x| x != id).collect()
}

/// Proposes `commands` at `leader`, checking they land at consecutive indexes in one term.
#[track_caller]
fn propose_all(c: &mut Cluster, leader: NodeId, commands: &[String]) -> Vec<LogIndex> {
    let mut placed = Vec::new();
    for command in commands {
        let (index, term) = c.propose(leader, cmd(command)).expect("leader accepts");
        assert_eq!(term, c.node(leader).term());
        if let Some(previous) = placed.last() {
            assert_eq!(index, LogIndex::next(*previous));
        }
        placed.push(index);
    }
    placed
}

fn numbered(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|k| format!("{prefix}{k}")).collect()
}

#[test]
fn election_yields_one_leader_that_all_agree_on() {
    let mut c = Cluster::new(3);
    let leader = c.wait_for_leader();
    let term = c.node(leader).term();
    // Many election timeouts later, the healthy leader is still in office: heartbeats work.
    c.run(300);
    let leaders: Vec<NodeId> = c
        .live_nodes()
        .filter(|n| n.is_leader())
        .map(|n| n.id())
        .collect();
    assert_eq!(leaders, vec![leader]);
    for node in c.live_nodes() {
        assert_eq!(node.term(), term, "{} disagrees on the term", node.id());
        assert_eq!(node.leader_hint(), Some(leader));
    }
}

#[test]
fn cut_off_leader_is_replaced_and_steps_down_on_return() {
    let mut c = Cluster::new(3);
    let old = c.wait_for_leader();
    let old_term = c.node(old).term();
    c.isolate(old);
    let new = c.wait_for_leader_after(old_term);
    assert_ne!(new, old);
    assert!(c.node(old).is_leader(), "alone, the old leader cannot know");

    c.heal();
    c.run(50);
    let leaders: Vec<NodeId> = c
        .live_nodes()
        .filter(|n| n.is_leader())
        .map(|n| n.id())
        .collect();
    assert_eq!(leaders.len(), 1, "exactly one leader after healing");
    assert_ne!(leaders[0], old, "the new leader keeps office");
    let term = c.node(leaders[0]).term();
    assert!(term > old_term);
    assert!(c.live_nodes().all(|n| n.term() == term));
}

#[test]
fn no_leader_is_elected_without_a_majority() {
    let mut c = Cluster::new(5);
    let leader = c.wait_for_leader();
    let term = c.node(leader).term();
    let rest = others(&c, leader);
    // The leader and two followers go; the two left over cannot make a majority of five.
    c.isolate(leader);
    c.isolate(rest[0]);
    c.isolate(rest[1]);
    c.run(1_000);
    for node in c.live_nodes() {
        assert!(
            !(node.is_leader() && node.term() > term),
            "{} was elected in {} without a majority",
            node.id(),
            node.term()
        );
    }
    // Once healed, the cluster elects a leader again.
    c.heal();
    c.wait_for_leader_after(term);
}

#[test]
fn entries_replicate_and_commit_on_all_nodes() {
    let mut c = Cluster::new(5);
    let leader = c.wait_for_leader();
    let commands = numbered("cmd", 10);
    let placed = propose_all(&mut c, leader, &commands);
    assert_eq!(placed, (1..=10).map(LogIndex).collect::<Vec<_>>());
    for follower in others(&c, leader) {
        assert_eq!(
            c.propose(follower, cmd("x")),
            None,
            "only the leader accepts"
        );
    }
    c.wait_applied(10);
    for &id in &c.ids {
        let applied: Vec<String> = c
            .service(id)
            .commands
            .iter()
            .map(|b| String::from_utf8(b.to_vec()).expect("utf-8"))
            .collect();
        assert_eq!(applied, commands, "{id} applied something else");
        assert_eq!(c.node(id).commit_index(), LogIndex(10));
        assert_eq!(
            c.service(id).applied_entries(),
            (1..=10).collect::<Vec<_>>()
        );
    }
}

#[test]
fn one_proposal_commits_in_one_round_trip_and_followers_learn_it_at_once() {
    let mut c = Cluster::new(3);
    let leader = c.wait_for_leader();
    c.run(20); // settle: followers in replicate mode
    let before = c.stats.clone();
    let (index, _) = c.propose(leader, cmd("quick")).expect("leader");
    c.deliver_all();
    // One AppendEntries to each follower and one reply from each commit the entry; then a
    // commit notice to each (and its reply) lets the followers apply it without waiting for
    // the next heartbeat: no tick happened here.
    let appends = c.stats.kind("AppendEntries") - before.kind("AppendEntries");
    assert_eq!(appends, 4, "two carrying the entry, two commit notices");
    assert_eq!(c.stats.delivered - before.delivered, 8);
    assert_eq!(c.stats.waves - before.waves, 4);
    assert_eq!(c.node(leader).commit_index(), index);
    for id in c.ids.clone() {
        assert_eq!(c.service(id).last(), index, "{id} applied it");
    }
}

#[test]
fn backup_over_fifty_conflicting_entries_takes_few_rejections() {
    let mut c = Cluster::new(5);
    let old = c.wait_for_leader();
    propose_all(&mut c, old, &numbered("common", 3));
    c.wait_applied(3);

    // The old leader and one follower are cut off, the majority on the other side.
    let rest = others(&c, old);
    let lagging = rest[0];
    let majority = rest[1..].to_vec();
    c.partition(&[&[old, lagging], &majority]);
    let old_term = c.node(old).term();
    // 60 entries reach the lagging follower but can never commit.
    propose_all(&mut c, old, &numbered("lost", 60));
    c.run(5);
    assert_eq!(c.node(lagging).last_index(), LogIndex(63));
    assert_eq!(c.node(lagging).commit_index(), LogIndex(3));

    // The majority elects a leader in a newer term and commits 50 different entries.
    let second = c.wait_for_leader_after(old_term);
    assert!(majority.contains(&second));
    let kept = numbered("kept", 50);
    propose_all(&mut c, second, &kept);
    c.run_until(500, |c| {
        majority
            .iter()
            .all(|&id| c.service(id).last() == LogIndex(53))
    });

    // That leader goes; the two stale nodes join the other two. Only those two can win (their
    // last term is newer, §5.4.1), and the winner starts probing at the end of its long log,
    // 50 entries past the point where the stale logs agree with it.
    let second_term = c.node(second).term();
    let fresh: Vec<NodeId> = majority
        .iter()
        .copied()
        .filter(|&id| id != second)
        .collect();
    c.partition(&[&[old, lagging, fresh[0], fresh[1]], &[second]]);
    let before = c.stats.clone();
    let third = c.wait_for_leader_after(second_term);
    assert!(fresh.contains(&third));
    let ticks = c.run_until(500, |c| {
        [old, lagging]
            .iter()
            .all(|&id| c.service(id).last() == LogIndex(53))
    });

    // Each stale node's whole conflicting term is skipped at once (the XTerm hint, §5.3): a
    // handful of rejections where one-entry-at-a-time back-up would need about fifty.
    for node in [old, lagging] {
        let rejections = c.stats.rejections(node, third) - before.rejections(node, third);
        assert!(
            (1..=3).contains(&rejections),
            "{node} needed {rejections} rejections to back up"
        );
    }
    let heartbeat_ticks = c.node(third).config().heartbeat_ticks;
    assert!(
        ticks <= 2 * heartbeat_ticks,
        "catching up took {ticks} ticks"
    );
    // The uncommitted entries were overwritten, and the longer stale suffix cut off.
    for node in [old, lagging] {
        assert_eq!(c.node(node).last_index(), LogIndex(53));
        let tail: Vec<String> = c.service(node).commands[3..]
            .iter()
            .map(|b| String::from_utf8(b.to_vec()).expect("utf-8"))
            .collect();
        assert_eq!(tail, kept);
    }
    c.heal();
    c.wait_applied(53);
}

#[test]
fn figure8_old_term_entry_on_a_majority_is_not_committed_and_may_be_overwritten() {
    // The scenario of Figure 8 (§5.4.2), with elections steered by ticking only the
    // candidate we want. If s1 committed "b" in (c) by counting replicas, s5 would overwrite
    // it in (d) and the cluster's agreement check would fail.
    let mut c = Cluster::new(5);
    let s: Vec<NodeId> = c.ids.clone();
    c.elect(s[0]);
    c.propose(s[0], cmd("a")).expect("leader");
    c.heartbeat_from(s[0]);
    c.heartbeat_from(s[0]);
    assert!(c.ids.iter().all(|&id| c.service(id).last() == LogIndex(1)));

    // (a) s1 replicates "b" at index 2 to s2 only, then crashes.
    c.partition(&[&[s[0], s[1]], &[s[2], s[3], s[4]]]);
    let (index, _) = c.propose(s[0], cmd("b")).expect("leader");
    assert_eq!(index, LogIndex(2));
    c.deliver_all();
    c.crash(s[0]);
    // (b) s5 is elected by s3, s4, s5 and takes "c" at index 2, then crashes.
    c.elect(s[4]);
    c.isolate(s[4]);
    c.propose(s[4], cmd("c")).expect("leader");
    c.deliver_all(); // lost: "c" never leaves s5
    c.crash(s[4]);
    // (c) s1 restarts, is elected by s2, s3, s4 and copies "b" to a majority.
    c.restart(s[0]);
    c.heal();
    let term_c = c.elect(s[0]);
    c.heartbeat_from(s[0]);
    for &id in &s[..4] {
        assert_eq!(
            c.node(id).entry(LogIndex(2)).map(|e| e.command.clone()),
            Some(cmd("b"))
        );
    }
    // Not even "a": after its restart s1 knows of no commit, and it may count replicas only
    // of entries of its own term.
    assert_eq!(
        c.node(s[0]).commit_index(),
        LogIndex(0),
        "'b' is not of {term_c}: no commit"
    );
    // (d) s1 crashes; s5, whose last term is newer, wins and overwrites "b" everywhere.
    c.crash(s[0]);
    c.restart(s[4]);
    c.elect(s[4]);
    c.propose(s[4], cmd("d")).expect("leader");
    c.heartbeat_from(s[4]);
    c.restart(s[0]);
    c.wait_applied(3);
    assert_eq!(c.committed_at(2), Some(&cmd("c")));
    for &id in &s {
        assert_eq!(c.service(id).commands, vec![cmd("a"), cmd("c"), cmd("d")]);
    }
}

#[test]
fn lagging_follower_is_caught_up_by_install_snapshot() {
    let mut c = Cluster::new(3);
    let leader = c.wait_for_leader();
    propose_all(&mut c, leader, &numbered("a", 2));
    c.wait_applied(2);

    let rest = others(&c, leader);
    let (lagging, peer) = (rest[0], rest[1]);
    c.isolate(lagging);
    propose_all(&mut c, leader, &numbered("b", 28));
    c.run_until(500, |c| c.service(peer).last() == LogIndex(30));
    // Both up-to-date nodes compact through 20, so whoever leads next must send a snapshot.
    for id in [leader, peer] {
        c.snapshot(id, 20);
        assert_eq!(c.node(id).snapshot_index(), LogIndex(20));
        assert_eq!(c.node(id).log_len(), 10, "discarded entries are freed");
    }

    let seen = c.service(lagging).events.len();
    c.heal();
    c.wait_applied(30);
    let mut expected = vec![Applied::Snapshot(20)];
    expected.extend((21..=30).map(Applied::Entry));
    assert_eq!(c.service(lagging).events[seen..], expected[..]);
    assert!(c.stats.kind("InstallSnapshot") >= 1);
    assert_eq!(c.node(lagging).snapshot_index(), LogIndex(20));
    assert_eq!(c.service(lagging).commands, c.service(peer).commands);
}

#[test]
fn crashed_follower_restarts_from_persistent_state_and_catches_up() {
    let mut c = Cluster::new(3);
    c.snapshot_every = Some(10);
    let leader = c.wait_for_leader();
    propose_all(&mut c, leader, &numbered("a", 25));
    c.wait_applied(25);
    let follower = others(&c, leader)[0];
    assert_eq!(c.node(follower).snapshot_index(), LogIndex(20));
    let (term, voted_for) = (c.node(follower).term(), c.node(follower).voted_for());

    c.crash(follower);
    // Few enough that the leader keeps the entries the follower lacks (no snapshot past 25).
    propose_all(&mut c, leader, &numbered("b", 4));
    c.run(5);
    c.restart(follower);

    // Term, vote and log survive; commit and applied indexes are volatile and restart at the
    // snapshot, from which the service is restored.
    let node = c.node(follower);
    assert_eq!((node.term(), node.voted_for()), (term, voted_for));
    assert_eq!(node.last_index(), LogIndex(25));
    assert_eq!(node.commit_index(), LogIndex(20));
    assert_eq!(node.last_applied(), LogIndex(20));
    assert_eq!(c.service(follower).last(), LogIndex(20));

    c.wait_applied(29);
    assert_eq!(
        c.service(follower).events,
        (21..=29).map(Applied::Entry).collect::<Vec<_>>(),
        "the restarted node re-applies from its snapshot onward, once each"
    );
    assert_eq!(
        c.incarnations[c.ids.iter().position(|&x| x == follower).unwrap()],
        1
    );
}

#[test]
fn restarted_follower_behind_the_leaders_snapshot_gets_it_installed() {
    let mut c = Cluster::new(3);
    c.snapshot_every = Some(10);
    let leader = c.wait_for_leader();
    propose_all(&mut c, leader, &numbered("a", 25));
    c.wait_applied(25);
    let follower = others(&c, leader)[0];
    c.crash(follower);
    propose_all(&mut c, leader, &numbered("b", 10));
    c.run(5);
    assert_eq!(c.node(leader).snapshot_index(), LogIndex(30));
    c.restart(follower);
    c.wait_applied(35);
    // Entries 26..=30 are gone from the leader's log: the follower gets the snapshot, then
    // the rest (§7).
    let mut expected = vec![Applied::Snapshot(30)];
    expected.extend((31..=35).map(Applied::Entry));
    assert_eq!(c.service(follower).events, expected);
}

#[test]
fn whole_cluster_restart_keeps_committed_entries() {
    let mut c = Cluster::new(3);
    c.snapshot_every = Some(7);
    let leader = c.wait_for_leader();
    let first = numbered("a", 20);
    propose_all(&mut c, leader, &first);
    c.wait_applied(20);
    let old_term = c.node(leader).term();

    for id in c.ids.clone() {
        c.crash(id);
    }
    for id in c.ids.clone() {
        c.restart(id);
        assert_eq!(c.node(id).snapshot_index(), LogIndex(14));
        assert_eq!(c.service(id).last(), LogIndex(14));
    }
    let leader = c.wait_for_leader_after(old_term);
    // Entries of an old term commit only under an entry of the new one (§5.4.2).
    let (index, _) = c.propose(leader, cmd("after")).expect("leader");
    assert_eq!(index, LogIndex(21));
    c.wait_applied(21);
    for &id in &c.ids {
        assert_eq!(
            c.service(id).applied_entries(),
            (15..=21).collect::<Vec<_>>()
        );
    }
    assert_eq!(c.committed_at(21), Some(&cmd("after")));
}

#[test]
fn single_node_cluster_commits_immediately() {
    let mut c = Cluster::new(1);
    let me = c.wait_for_leader();
    assert_eq!(c.node(me).term(), Term(1));
    let actions = c.step(
        me,
        Event::Propose {
            command: cmd("solo"),
        },
    );
    assert!(matches!(actions[0], Action::Persist(_)));
    assert!(actions.contains(&Action::Proposed {
        index: LogIndex(1),
        term: Term(1)
    }));
    assert!(actions.iter().any(|a| matches!(
        a,
        Action::Apply {
            index: LogIndex(1),
            ..
        }
    )));
    assert_eq!(c.queue_len(), 0, "nobody to talk to");
    assert_eq!(c.service(me).commands, vec![cmd("solo")]);
}
