//! 3B — log replication.

use crate::tester::{TestResult, Tester, RAFT_ELECTION_TIMEOUT_MS as RET};

/// TestBasicAgree3B.
pub async fn basic_agree(t: Tester) -> TestResult {
    let servers = t.n();
    t.begin("Test (3B): basic agreement");
    for index in 1..=3u64 {
        let (count, _) = t.n_committed(index)?;
        if count > 0 {
            return t.fail("some have committed before Start()");
        }
        let x = t.one(index as i64 * 100, servers, false).await?;
        if x != index {
            return t.fail(format!("got index {x} but expected {index}"));
        }
    }
    t.end()
}

/// TestFailAgree3B.
pub async fn fail_agree(t: Tester) -> TestResult {
    let servers = t.n();
    t.begin("Test (3B): agreement after follower reconnects");
    t.one(101, servers, false).await?;
    // Disconnect one follower from the network.
    let leader = t.check_one_leader().await?;
    t.disconnect((leader + 1) % servers);
    // The leader and remaining follower should be able to agree despite the disconnected
    // follower.
    t.one(102, servers - 1, false).await?;
    t.one(103, servers - 1, false).await?;
    t.sleep(RET).await;
    t.one(104, servers - 1, false).await?;
    t.one(105, servers - 1, false).await?;
    // Re-connect.
    t.connect((leader + 1) % servers);
    // The full set of servers should preserve previous agreements, and be able to agree on
    // new commands.
    t.one(106, servers, true).await?;
    t.sleep(RET).await;
    t.one(107, servers, true).await?;
    t.end()
}

/// TestRPCBytes3B.
pub async fn rpc_bytes(t: Tester) -> TestResult {
    let servers = t.n() as u64;
    t.begin("Test (3B): RPC byte count");
    t.one(99, servers as usize, false).await?;
    let bytes0 = t.bytes_total();
    let iters = 10;
    let mut sent = 0;
    for index in 2..iters + 2 {
        let cmd = t.rand_string(5000);
        let xindex = t.one(cmd, servers as usize, false).await?;
        if xindex != index {
            return t.fail(format!("got index {xindex} but expected {index}"));
        }
        sent += 5000;
    }
    let got = t.bytes_total() - bytes0;
    let expected = servers * sent;
    if got > expected + 50000 {
        return t.fail(format!(
            "too many RPC bytes; got {got}, expected {expected}"
        ));
    }
    t.end()
}

/// TestFollowerFailure3B.
pub async fn follower_failure(t: Tester) -> TestResult {
    let servers = t.n();
    t.begin("Test (3B): test progressive failure of followers");
    t.one(101, servers, false).await?;
    // Disconnect one follower from the network.
    let leader1 = t.check_one_leader().await?;
    t.disconnect((leader1 + 1) % servers);
    // The leader and remaining follower should be able to agree despite the disconnected
    // follower.
    t.one(102, servers - 1, false).await?;
    t.sleep(RET).await;
    t.one(103, servers - 1, false).await?;
    // Disconnect the remaining follower.
    let leader2 = t.check_one_leader().await?;
    t.disconnect((leader2 + 1) % servers);
    t.disconnect((leader2 + 2) % servers);
    // Submit a command.
    let started = t.start(leader2, 104);
    if !started.is_leader {
        return t.fail("leader rejected Start()");
    }
    if started.index != 4 {
        return t.fail(format!("expected index 4, got {}", started.index));
    }
    t.sleep(2 * RET).await;
    // Check that the command did not commit.
    let (count, _) = t.n_committed(started.index)?;
    if count > 0 {
        return t.fail(format!("{count} committed but no majority"));
    }
    t.end()
}

/// TestLeaderFailure3B.
pub async fn leader_failure(t: Tester) -> TestResult {
    let servers = t.n();
    t.begin("Test (3B): test failure of leaders");
    t.one(101, servers, false).await?;
    // Disconnect the first leader.
    let leader1 = t.check_one_leader().await?;
    t.disconnect(leader1);
    // The remaining followers should elect a new leader.
    t.one(102, servers - 1, false).await?;
    t.sleep(RET).await;
    t.one(103, servers - 1, false).await?;
    // Disconnect the new leader.
    let leader2 = t.check_one_leader().await?;
    t.disconnect(leader2);
    // Submit a command to each server.
    for i in 0..servers {
        t.start(i, 104);
    }
    t.sleep(2 * RET).await;
    // Check that command 104 did not commit.
    let (count, _) = t.n_committed(4)?;
    if count > 0 {
        return t.fail(format!("{count} committed but no majority"));
    }
    t.end()
}

/// TestFailNoAgree3B.
pub async fn fail_no_agree(t: Tester) -> TestResult {
    let servers = t.n();
    t.begin("Test (3B): no agreement if too many followers disconnect");
    t.one(10, servers, false).await?;
    // 3 of 5 followers disconnect.
    let leader = t.check_one_leader().await?;
    t.disconnect((leader + 1) % servers);
    t.disconnect((leader + 2) % servers);
    t.disconnect((leader + 3) % servers);
    let started = t.start(leader, 20);
    if !started.is_leader {
        return t.fail("leader rejected Start()");
    }
    if started.index != 2 {
        return t.fail(format!("expected index 2, got {}", started.index));
    }
    t.sleep(2 * RET).await;
    let (count, _) = t.n_committed(started.index)?;
    if count > 0 {
        return t.fail(format!("{count} committed but no majority"));
    }
    // Repair.
    t.connect((leader + 1) % servers);
    t.connect((leader + 2) % servers);
    t.connect((leader + 3) % servers);
    // The disconnected majority may have chosen a leader from among their own ranks,
    // forgetting index 2.
    let leader2 = t.check_one_leader().await?;
    let started2 = t.start(leader2, 30);
    if !started2.is_leader {
        return t.fail("leader2 rejected Start()");
    }
    if started2.index < 2 || started2.index > 3 {
        return t.fail(format!("unexpected index {}", started2.index));
    }
    t.one(1000, servers, true).await?;
    t.end()
}

/// TestConcurrentStarts3B.
pub async fn concurrent_starts(t: Tester) -> TestResult {
    let servers = t.n();
    t.begin("Test (3B): concurrent Start()s");
    let mut success = false;
    'attempts: for attempt in 0..5 {
        if attempt > 0 {
            // Give the solution some time to settle.
            t.sleep(3000).await;
        }
        let leader = t.check_one_leader().await?;
        let first = t.start(leader, 1);
        if !first.is_leader {
            // Leader moved on really quickly.
            continue;
        }
        let term = first.term;
        let clients: Vec<_> = (0..5)
            .map(|i| {
                let t = t.clone();
                t.clone().go(async move {
                    let started = t.start(leader, 100 + i);
                    Ok((started.is_leader && started.term == term).then_some(started.index))
                })
            })
            .collect();
        let mut indexes = Vec::new();
        for client in clients {
            if let Some(index) = client.await? {
                indexes.push(index);
            }
        }
        for j in 0..servers {
            if t.get_state(j).0 != term {
                // Term changed -- can't expect low RPC counts.
                continue 'attempts;
            }
        }
        let mut commands = Vec::new();
        for index in indexes {
            match t.wait(index, servers, Some(term)).await? {
                None => continue 'attempts, // peers have moved on to later terms
                Some(value) => match value.as_int() {
                    Some(x) => commands.push(x),
                    None => return t.fail(format!("value {value} is not an int")),
                },
            }
        }
        for i in 0..5 {
            let x = 100 + i;
            if !commands.contains(&x) {
                return t.fail(format!("cmd {x} missing in {commands:?}"));
            }
        }
        success = true;
        break;
    }
    if !success {
        return t.fail("term changed too often");
    }
    t.end()
}

/// TestRejoin3B.
pub async fn rejoin(t: Tester) -> TestResult {
    let servers = t.n();
    t.begin("Test (3B): rejoin of partitioned leader");
    t.one(101, servers, true).await?;
    // Leader network failure.
    let leader1 = t.check_one_leader().await?;
    t.disconnect(leader1);
    // Make old leader try to agree on some entries.
    t.start(leader1, 102);
    t.start(leader1, 103);
    t.start(leader1, 104);
    // New leader commits, also for index=2.
    t.one(103, 2, true).await?;
    // New leader network failure.
    let leader2 = t.check_one_leader().await?;
    t.disconnect(leader2);
    // Old leader connected again.
    t.connect(leader1);
    t.one(104, 2, true).await?;
    // All together now.
    t.connect(leader2);
    t.one(105, servers, true).await?;
    t.end()
}

/// TestBackup3B.
pub async fn backup(t: Tester) -> TestResult {
    let servers = t.n();
    t.begin("Test (3B): leader backs up quickly over incorrect follower logs");
    t.one(t.rand_int(), servers, true).await?;
    // Put leader and one follower in a partition.
    let leader1 = t.check_one_leader().await?;
    t.disconnect((leader1 + 2) % servers);
    t.disconnect((leader1 + 3) % servers);
    t.disconnect((leader1 + 4) % servers);
    // Submit lots of commands that won't commit.
    for _ in 0..50 {
        t.start(leader1, t.rand_int());
    }
    t.sleep(RET / 2).await;
    t.disconnect(leader1);
    t.disconnect((leader1 + 1) % servers);
    // Allow other partition to recover.
    t.connect((leader1 + 2) % servers);
    t.connect((leader1 + 3) % servers);
    t.connect((leader1 + 4) % servers);
    // Lots of successful commands to new group.
    for _ in 0..50 {
        t.one(t.rand_int(), 3, true).await?;
    }
    // Now another partitioned leader and one follower.
    let leader2 = t.check_one_leader().await?;
    let mut other = (leader1 + 2) % servers;
    if leader2 == other {
        other = (leader2 + 1) % servers;
    }
    t.disconnect(other);
    // Lots more commands that won't commit.
    for _ in 0..50 {
        t.start(leader2, t.rand_int());
    }
    t.sleep(RET / 2).await;
    // Bring original leader back to life.
    for i in 0..servers {
        t.disconnect(i);
    }
    t.connect(leader1);
    t.connect((leader1 + 1) % servers);
    t.connect(other);
    // Lots of successful commands to new group.
    for _ in 0..50 {
        t.one(t.rand_int(), 3, true).await?;
    }
    // Now everyone.
    for i in 0..servers {
        t.connect(i);
    }
    t.one(t.rand_int(), servers, true).await?;
    t.end()
}

/// TestCount3B.
pub async fn count(t: Tester) -> TestResult {
    let servers = t.n();
    t.begin("Test (3B): RPC counts aren't too high");
    let rpcs = |t: &Tester| (0..servers).map(|j| t.rpc_count(j)).sum::<u64>();
    t.check_one_leader().await?;
    let mut total1 = rpcs(&t);
    if !(1..=30).contains(&total1) {
        return t.fail(format!(
            "too many or few RPCs ({total1}) to elect initial leader"
        ));
    }
    let mut total2 = 0;
    let mut success = false;
    'attempts: for attempt in 0..5 {
        if attempt > 0 {
            // Give the solution some time to settle.
            t.sleep(3000).await;
        }
        let leader = t.check_one_leader().await?;
        total1 = rpcs(&t);
        let iters = 10;
        let first = t.start(leader, 1);
        if !first.is_leader {
            // Leader moved on really quickly.
            continue;
        }
        let (starti, term) = (first.index, first.term);
        let mut commands = Vec::new();
        for i in 1..iters + 2 {
            let x = t.rand_int31();
            commands.push(x);
            let started = t.start(leader, x);
            if started.term != term || !started.is_leader {
                // Term changed while starting, or no longer leader.
                continue 'attempts;
            }
            if starti + i != started.index {
                return t.fail("Start() failed");
            }
        }
        for i in 1..iters + 1 {
            let expected = commands[i as usize - 1];
            match t.wait(starti + i, servers, Some(term)).await? {
                Some(value) if value.as_int() == Some(expected) => {}
                None => continue 'attempts, // term changed -- try again
                Some(value) => {
                    return t.fail(format!(
                        "wrong value {value} committed for index {}; expected {expected}",
                        starti + i
                    ))
                }
            }
        }
        let mut failed = false;
        total2 = 0;
        for j in 0..servers {
            if t.get_state(j).0 != term {
                // Term changed -- can't expect low RPC counts; need to keep going to update
                // total2.
                failed = true;
            }
            total2 += t.rpc_count(j);
        }
        if failed {
            continue 'attempts;
        }
        if total2 - total1 > (iters + 1 + 3) * 3 {
            return t.fail(format!(
                "too many RPCs ({}) for {iters} entries",
                total2 - total1
            ));
        }
        success = true;
        break;
    }
    if !success {
        return t.fail("term changed too often");
    }
    t.sleep(RET).await;
    let total3 = rpcs(&t);
    if total3 - total2 > 3 * 20 {
        return t.fail(format!(
            "too many RPCs ({}) for 1 second of idleness",
            total3 - total2
        ));
    }
    t.end()
}
