//! 3C — persistence.

use crate::tester::{TestResult, Tester, RAFT_ELECTION_TIMEOUT_MS as RET};
use crate::world::Edition;

/// TestPersist13C.
pub async fn persist1(t: Tester) -> TestResult {
    let servers = t.n();
    t.begin("Test (3C): basic persistence");
    t.one(11, servers, true).await?;
    match t.edition() {
        Edition::Y2024 => {
            // Crash and re-start all.
            for i in 0..servers {
                t.start_server(i); // start1
            }
            for i in 0..servers {
                t.disconnect(i);
                t.connect(i);
            }
        }
        Edition::Y2025 => {
            t.crash_all();
            t.start_all();
        }
    }
    t.one(12, servers, true).await?;
    let leader1 = t.check_one_leader().await?;
    t.disconnect_2024_crash_2025(leader1);
    t.restart(leader1);
    t.one(13, servers, true).await?;
    let leader2 = t.check_one_leader().await?;
    t.disconnect_2024_crash_2025(leader2);
    t.one(14, servers - 1, true).await?;
    t.restart(leader2);
    // Wait for leader2 to join before killing i3.
    t.wait(4, servers, None).await?;
    let i3 = (t.check_one_leader().await? + 1) % servers;
    t.disconnect_2024_crash_2025(i3);
    t.one(15, servers - 1, true).await?;
    t.restart(i3);
    t.one(16, servers, true).await?;
    t.end()
}

/// TestPersist23C.
pub async fn persist2(t: Tester) -> TestResult {
    let servers = t.n();
    t.begin("Test (3C): more persistence");
    let mut index = 1;
    for _ in 0..5 {
        t.one(10 + index, servers, true).await?;
        index += 1;
        let leader1 = t.check_one_leader().await?;
        t.disconnect_2024_crash_2025((leader1 + 1) % servers);
        t.disconnect_2024_crash_2025((leader1 + 2) % servers);
        t.one(10 + index, servers - 2, true).await?;
        index += 1;
        t.disconnect_2024_crash_2025(leader1);
        t.disconnect_2024_crash_2025((leader1 + 3) % servers);
        t.disconnect_2024_crash_2025((leader1 + 4) % servers);
        t.restart((leader1 + 1) % servers);
        t.restart((leader1 + 2) % servers);
        t.sleep(RET).await;
        t.restart((leader1 + 3) % servers);
        t.one(10 + index, servers - 2, true).await?;
        index += 1;
        match t.edition() {
            // 2024 only disconnected these two: they rejoin with their memory intact.
            Edition::Y2024 => {
                t.connect((leader1 + 4) % servers);
                t.connect(leader1);
            }
            Edition::Y2025 => {
                t.restart((leader1 + 4) % servers);
                t.restart(leader1);
            }
        }
    }
    t.one(1000, servers, true).await?;
    t.end()
}

/// TestPersist33C.
pub async fn persist3(t: Tester) -> TestResult {
    let servers = t.n();
    t.begin("Test (3C): partitioned leader and one follower crash, leader restarts");
    t.one(101, 3, true).await?;
    let leader = t.check_one_leader().await?;
    t.disconnect((leader + 2) % servers);
    t.one(102, 2, true).await?;
    t.crash(leader);
    t.crash((leader + 1) % servers);
    t.connect((leader + 2) % servers);
    t.restart(leader);
    t.one(103, 2, true).await?;
    t.restart((leader + 1) % servers);
    t.one(104, servers, true).await?;
    t.end()
}

/// TestFigure83C. Test the scenarios described in Figure 8 of the extended Raft paper. Each
/// iteration asks a leader, if there is one, to insert a command in the Raft log. If there is
/// a leader, that leader will fail quickly with a high probability (perhaps without
/// committing the command), or crash after a while with low probability (most likely
/// committing the command). If the number of alive servers isn't enough to form a majority,
/// perhaps start a new server. The leader in a new term may try to finish replicating log
/// entries that haven't been committed yet.
pub async fn figure8(t: Tester) -> TestResult {
    let servers = t.n();
    t.begin("Test (3C): Figure 8");
    t.one(t.rand_int(), 1, true).await?;
    let mut nup = servers;
    for _ in 0..1000 {
        let mut leader = None;
        for i in 0..servers {
            if t.is_alive(i) && t.start(i, t.rand_int()).is_leader {
                leader = Some(i);
            }
        }
        figure8_sleep(&t).await;
        if let Some(leader) = leader {
            t.crash(leader);
            nup -= 1;
        }
        if nup < 3 {
            let s = t.rand_below(servers as u64) as usize;
            if !t.is_alive(s) {
                t.restart(s);
                nup += 1;
            }
        }
    }
    for i in 0..servers {
        if !t.is_alive(i) {
            t.restart(i);
        }
    }
    t.one(t.rand_int(), servers, true).await?;
    t.end()
}

/// Figure 8's pause: usually 0–12 ms, one time in ten up to half an election timeout.
async fn figure8_sleep(t: &Tester) {
    let ms = if t.rand_below(1000) < 100 {
        t.rand_below(RET / 2)
    } else {
        t.rand_below(13)
    };
    t.sleep(ms).await;
}

/// TestUnreliableAgree3C.
pub async fn unreliable_agree(t: Tester) -> TestResult {
    let servers = t.n();
    t.begin("Test (3C): unreliable agreement");
    let mut clients = Vec::new();
    for iters in 1..50 {
        for j in 0..4 {
            let t2 = t.clone();
            clients.push(t.go(async move { t2.one(100 * iters + j, 1, true).await.map(|_| ()) }));
        }
        t.one(iters, 1, true).await?;
    }
    t.set_reliable(true);
    for client in clients {
        client.await?;
    }
    t.one(100, servers, true).await?;
    t.end()
}

/// TestFigure8Unreliable3C.
pub async fn figure8_unreliable(t: Tester) -> TestResult {
    let servers = t.n();
    t.begin("Test (3C): Figure 8 (unreliable)");
    t.one(t.rand_below(10000) as i64, 1, true).await?;
    let mut nup = servers;
    for iters in 0..1000 {
        if iters == 200 {
            t.set_long_reordering(true);
        }
        let mut leader = None;
        for i in 0..servers {
            let started = t.start(i, t.rand_below(10000) as i64);
            if started.is_leader && t.is_connected(i) {
                leader = Some(i);
            }
        }
        figure8_sleep(&t).await;
        if let Some(leader) = leader {
            // With probability 500/1000 (the lab writes it as RaftElectionTimeout/2 ms).
            if t.rand_below(1000) < RET / 2 {
                t.disconnect(leader);
                nup -= 1;
            }
        }
        if nup < 3 {
            let s = t.rand_below(servers as u64) as usize;
            if !t.is_connected(s) {
                t.connect(s);
                nup += 1;
            }
        }
    }
    for i in 0..servers {
        if !t.is_connected(i) {
            t.connect(i);
        }
    }
    t.one(t.rand_below(10000) as i64, servers, true).await?;
    t.end()
}

/// TestReliableChurn3C.
pub async fn reliable_churn(t: Tester) -> TestResult {
    t.begin("Test (3C): churn");
    churn(t).await
}

/// TestUnreliableChurn3C.
pub async fn unreliable_churn(t: Tester) -> TestResult {
    t.begin("Test (3C): unreliable churn");
    churn(t).await
}

/// The lab's `internalChurn`: three clients keep proposing while servers are disconnected,
/// crashed and restarted at random; every value a client saw committed must survive.
async fn churn(t: Tester) -> TestResult {
    let servers = t.n();
    let stop = std::rc::Rc::new(std::cell::Cell::new(false));
    let clients: Vec<_> = (0..3)
        .map(|me| t.go(churn_client(t.clone(), me, stop.clone())))
        .collect();
    for _ in 0..20 {
        if t.rand_below(1000) < 200 {
            let i = t.rand_below(servers as u64) as usize;
            t.disconnect(i);
        }
        if t.rand_below(1000) < 500 {
            let i = t.rand_below(servers as u64) as usize;
            if !t.is_alive(i) {
                t.start_2024_restart_2025(i);
            }
            t.connect(i);
        }
        if t.rand_below(1000) < 200 {
            let i = t.rand_below(servers as u64) as usize;
            if t.is_alive(i) {
                t.crash(i);
            }
        }
        // Make crash/restart infrequent enough that the peers can often keep up, but not so
        // infrequent that everything has settled down from one change to the next. Pick a
        // value smaller than the election timeout, but not hugely smaller.
        t.sleep(RET * 7 / 10).await;
    }
    t.sleep(RET).await;
    t.set_reliable(true);
    for i in 0..servers {
        if !t.is_alive(i) {
            t.start_2024_restart_2025(i);
        }
        t.connect(i);
    }
    stop.set(true);
    let mut values = Vec::new();
    for client in clients {
        values.extend(client.await?);
    }
    t.sleep(RET).await;
    let last_index = t.one(t.rand_int(), servers, true).await?;
    let mut really = Vec::new();
    for index in 1..=last_index {
        // Without a start term, wait() fails rather than returning "moved on".
        let value = t.wait(index, servers, None).await?;
        match value.as_ref().and_then(|v| v.as_int()) {
            Some(x) => really.push(x),
            None => return t.fail("not an int"),
        }
    }
    for v1 in values {
        if !really.contains(&v1) {
            return t.fail("didn't find a value");
        }
    }
    t.end()
}

/// One churn client: propose on every live server, remember values seen committed.
async fn churn_client(
    t: Tester,
    me: u64,
    stop: std::rc::Rc<std::cell::Cell<bool>>,
) -> TestResult<Vec<i64>> {
    let mut values = Vec::new();
    while !stop.get() {
        let x = t.rand_int();
        let mut index = None;
        for i in 0..t.n() {
            // Try them all, maybe one of them is a leader.
            if t.is_alive(i) {
                let started = t.start(i, x);
                if started.is_leader {
                    index = Some(started.index);
                }
            }
        }
        let Some(index) = index else {
            t.sleep(79 + me * 17).await;
            continue;
        };
        // Maybe the leader will commit our value, maybe not, but don't wait forever.
        for to in [10, 20, 50, 100, 200] {
            let (count, command) = t.n_committed(index)?;
            if count > 0 {
                match command.as_ref().and_then(|c| c.as_int()) {
                    Some(committed) if committed == x => values.push(x),
                    Some(_) => {}
                    None => return t.fail("wrong command type"),
                }
                break;
            }
            t.sleep(to).await;
        }
    }
    Ok(values)
}
