//! The 2025 rsm suite (`src/kvraft1/rsm`): its harness (`rsm/test.go`, `rsm/server.go`) and
//! its 8 tests (`rsm_test.go`), in file order. The tests call `Submit` on the servers
//! directly, without clerks; the state machine is a counter.

use super::cluster::Group;
use crate::kv::rsm::{self, with_rsm, Rsm, StateMachine};
use crate::tester::{TestResult, Tester};
use crate::world::MS;
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::rc::Rc;

/// NSRV: the rsm tests' cluster size.
const NSRV: usize = 3;
/// NSEC: how long `onePartition` keeps trying, in seconds.
const NSEC: u64 = 10;

/// The requests of the test state machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CounterOp {
    /// Increment the counter; answers the new value.
    Inc,
    /// Do nothing.
    Null,
    /// Only ever submitted to a leader cut off in a minority: executing it is fatal.
    Dec,
}

/// The test state machine's answers (`*IncRep`, `*NullRep`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CounterReply {
    /// `IncRep{N}`.
    Inc(u64),
    /// `NullRep{}`.
    Null,
}

/// The lab's `rsmSrv`: a counter.
#[derive(Debug, Default)]
pub struct Counter {
    counter: u64,
}

impl StateMachine for Counter {
    type Request = CounterOp;
    type Reply = CounterReply;

    fn do_op(&mut self, request: CounterOp) -> Result<CounterReply, String> {
        match request {
            CounterOp::Inc => {
                self.counter += 1;
                Ok(CounterReply::Inc(self.counter))
            }
            CounterOp::Null => Ok(CounterReply::Null),
            CounterOp::Dec => {
                Err("process abort: DoOp should execute only Inc and not rsm.Dec".into())
            }
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        postcard::to_stdvec(&self.counter).expect("encoding cannot fail")
    }

    fn restore(&mut self, data: &[u8]) -> Result<(), String> {
        self.counter = postcard::from_bytes(data)
            .map_err(|e| format!("process abort: snapshot decode error: {e}"))?;
        Ok(())
    }
}

/// The rsm tests' `Test`: the group and the server of the last successful Submit.
#[derive(Clone)]
struct RsmTest {
    group: Group,
    leader: Rc<Cell<usize>>,
}

impl RsmTest {
    /// `makeTest(t, maxraftstate)`: three servers, reliable network.
    fn make(t: &Tester, maxraftstate: i64) -> RsmTest {
        let seed = t.world().seed();
        let max = usize::try_from(maxraftstate).ok();
        let service = Rsm::new(NSRV, seed, max, None, Counter::default);
        RsmTest {
            group: Group::make(t, NSRV, true, Box::new(service)),
            leader: Rc::new(Cell::new(0)),
        }
    }

    fn t(&self) -> &Tester {
        self.group.tester()
    }

    /// `onePartition(p, req)`: tries the connected, running servers in `p` (all if `None`),
    /// from the last leader on, for up to 10 s, pausing 50 ms after each unsuccessful round.
    async fn one_partition(&self, p: Option<&[usize]>, req: CounterOp) -> Option<CounterReply> {
        let t = self.t();
        let t0 = t.now();
        while t.now() - t0 < NSEC * 1000 * MS {
            let mut index = self.leader.get();
            for _ in 0..NSRV {
                let eligible = self.group.is_connected(index)
                    && t.is_alive(index)
                    && p.is_none_or(|p| p.contains(&index));
                if eligible {
                    if let Ok(rep) = rsm::submit::<Counter>(t, index, req).await {
                        self.leader.set(index);
                        return Some(rep);
                    }
                }
                index = (index + 1) % NSRV;
            }
            t.sleep(50).await;
        }
        None
    }

    /// `oneInc()`: the new counter value, or `None` if no Submit succeeded within 10 s.
    async fn one_inc(&self) -> TestResult<Option<u64>> {
        match self.one_partition(None, CounterOp::Inc).await {
            None => Ok(None),
            Some(CounterReply::Inc(n)) => Ok(Some(n)),
            Some(other) => self.t().fail(format!(
                "panic: interface conversion: Inc answered with {other:?}, not *IncRep"
            )),
        }
    }

    /// `oneInc().N`: Go panics on the nil reply of a Submit that never succeeded.
    async fn one_inc_n(&self) -> TestResult<u64> {
        match self.one_inc().await? {
            Some(n) => Ok(n),
            None => self
                .t()
                .fail("panic: nil IncRep (no Submit succeeded within 10 s)"),
        }
    }

    /// `oneNull()`.
    async fn one_null(&self) -> TestResult {
        match self.one_partition(None, CounterOp::Null).await {
            None | Some(CounterReply::Null) => Ok(()),
            Some(other) => self.t().fail(format!(
                "panic: interface conversion: Null answered with {other:?}, not *NullRep"
            )),
        }
    }

    /// How many running servers' counters equal `v`.
    fn count_value(&self, v: u64) -> usize {
        with_rsm(self.t(), |rsm: &mut Rsm<Counter>| {
            (0..NSRV)
                .filter(|&i| rsm.state_machine(i).is_some_and(|c| c.counter == v))
                .count()
        })
    }

    /// `checkCounter(v, nsrv)`: at least `nsrv` servers reach `v` within 30 polls backing
    /// off from 10 ms to 1.28 s.
    async fn check_counter(&self, v: u64, nsrv: usize) -> TestResult {
        let mut to = 10;
        let mut n = 0;
        for _ in 0..30 {
            n = self.count_value(v);
            if n >= nsrv {
                return Ok(());
            }
            self.t().sleep(to).await;
            if to < 1000 {
                to *= 2;
            }
        }
        self.t().fail(format!(
            "checkCounter: only {n} srvs have {v} instead of {nsrv}"
        ))
    }

    /// Starts `n` concurrent `oneNull()`s; the handle resolves when all have returned.
    fn concurrent_nulls(&self, n: usize) -> crate::executor::JoinHandle<TestResult> {
        let ts = self.clone();
        self.t().go(async move {
            let nulls: Vec<_> = (0..n)
                .map(|_| {
                    let one = ts.clone();
                    ts.t().go(async move { one.one_null().await })
                })
                .collect();
            for null in nulls {
                null.await?;
            }
            Ok(())
        })
    }

    /// Waits up to `ms` for `task` to finish; whether it did.
    async fn finishes_within<T>(&self, task: &crate::executor::JoinHandle<T>, ms: u64) -> bool {
        let deadline = self.t().now() + ms * MS;
        while !task.is_finished() && self.t().now() < deadline {
            self.t().sleep(10).await;
        }
        task.is_finished()
    }
}

/// TestBasic4A.
pub async fn basic(t: Tester) -> TestResult {
    let ts = RsmTest::make(&t, -1);
    t.begin("Test RSM basic");
    for i in 0..10 {
        let n = ts.one_inc_n().await?;
        if n != i + 1 {
            return t.fail(format!("expected {} instead of {n}", i + 1));
        }
        ts.check_counter(n, NSRV).await?;
    }
    t.end()
}

/// TestConcurrent4A.
pub async fn concurrent(t: Tester) -> TestResult {
    const NCONCURRENT: usize = 50;
    let ts = RsmTest::make(&t, -1);
    t.begin("Test concurrent submit");
    let incs: Vec<_> = (0..NCONCURRENT)
        .map(|_| {
            let ts = ts.clone();
            t.go(async move { ts.one_inc().await })
        })
        .collect();
    for inc in incs {
        inc.await?;
    }
    ts.check_counter(NCONCURRENT as u64, NSRV).await?;
    t.end()
}

/// TestLeaderFailure4A.
pub async fn leader_failure(t: Tester) -> TestResult {
    let ts = RsmTest::make(&t, -1);
    t.begin("Test Leader Failure");
    let n = ts.one_inc_n().await?;
    ts.check_counter(n, NSRV).await?;
    let l = ts.leader.get();
    ts.group.disconnect_all(l);
    let n = ts.one_inc_n().await?;
    ts.check_counter(n, NSRV - 1).await?;
    ts.group.connect_one(l);
    ts.check_counter(n, NSRV).await?;
    t.end()
}

/// TestLeaderPartition4A: Submits on a leader cut off in a minority stay pending while the
/// majority moves on, and all fail promptly after the heal; none is ever executed.
pub async fn leader_partition(t: Tester) -> TestResult {
    const NSUBMIT: usize = 100;
    let ts = RsmTest::make(&t, -1);
    t.begin("Test Leader Partition");
    // Submit an Inc to find the leader.
    let n = ts.one_inc_n().await?;
    ts.check_counter(n, NSRV).await?;
    // Partition the leader from the others.
    let l = ts.group.leader().unwrap_or(0);
    let (p1, p2) = ts.group.make_partition(l);
    ts.group.partition(&p1, &p2);
    let done = {
        let t2 = t.clone();
        t.go(async move {
            let decs: Vec<_> = (0..NSUBMIT)
                .map(|i| {
                    let t3 = t2.clone();
                    t2.go(async move {
                        match rsm::submit::<Counter>(&t3, l, CounterOp::Dec).await {
                            Ok(_) => t3.fail(format!("Submit {i} in minority completed")),
                            Err(_) => Ok(()),
                        }
                    })
                })
                .collect();
            for dec in decs {
                dec.await?;
            }
            Ok(())
        })
    };
    // Give the old leader some time to submit.
    t.sleep(10).await;
    let rep = ts.one_partition(Some(&p1), CounterOp::Inc).await;
    if ts.finishes_within(&done, 1000).await {
        return t.fail("Dec's in minority completed");
    }
    ts.group.connect_one(l);
    if !ts.finishes_within(&done, 1000).await {
        return t.fail("Submit after healing didn't return");
    }
    match rep {
        Some(CounterReply::Inc(n)) => ts.check_counter(n, NSRV).await?,
        _ => return t.fail("panic: the majority's Inc did not return an *IncRep"),
    }
    t.end()
}

/// The first half of TestRestartReplay4A and TestRestartSubmit4A: 100 Incs, a shutdown of
/// every server, a restart; the next Inc must see all 100 replayed.
async fn restart_replay_prefix(t: &Tester, ts: &RsmTest, expected: &str) -> TestResult<u64> {
    const NOPS: u64 = 100;
    for i in 0..NOPS {
        let n = ts.one_inc_n().await?;
        if n != i + 1 {
            return t.fail(format!("expected {} instead of {n}", i + 1));
        }
        ts.check_counter(n, NSRV).await?;
    }
    ts.group.shutdown();
    t.sleep(1000).await;
    ts.group.start_servers();
    let n = ts.one_inc_n().await?;
    if n != NOPS + 1 {
        return t.fail(format!("{expected} {} got {n}", NOPS + 1));
    }
    t.sleep(1000).await;
    Ok(n)
}

/// TestRestartReplay4A.
pub async fn restart_replay(t: Tester) -> TestResult {
    let ts = RsmTest::make(&t, -1);
    t.begin("Test Restart");
    let n = restart_replay_prefix(&t, &ts, "expected").await?;
    ts.check_counter(n, NSRV).await?;
    t.end()
}

/// TestShutdown4A: Submits blocked when every server is shut down must return.
pub async fn shutdown(t: Tester) -> TestResult {
    const NCONCURRENT: usize = 100;
    let ts = RsmTest::make(&t, -1);
    t.begin("Test Shutdown");
    let done = ts.concurrent_nulls(NCONCURRENT);
    t.sleep(20).await;
    ts.group.shutdown();
    if !ts.finishes_within(&done, (NSEC + 1) * 1000).await {
        return t.fail("Submit didn't stop after shutdown");
    }
    t.end()
}

/// TestRestartSubmit4A: requests submitted before a shutdown must not be confused with new
/// ones after the restart.
pub async fn restart_submit(t: Tester) -> TestResult {
    const NCONCURRENT: usize = 100;
    let ts = RsmTest::make(&t, -1);
    t.begin("Test Restart and submit");
    restart_replay_prefix(&t, &ts, "Expected").await?;
    let done = ts.concurrent_nulls(NCONCURRENT);
    t.sleep(20).await;
    ts.group.shutdown();
    if !ts.finishes_within(&done, (NSEC + 1) * 1000).await {
        return t.fail("Submit didn't stop after shutdown");
    }
    ts.group.start_servers();
    let n = ts.one_inc_n().await?;
    ts.check_counter(n, NSRV).await?;
    t.end()
}

/// TestSnapshot4C: with snapshots the logs stay under 2 × maxraftstate, and a restart
/// restores from the snapshot and the log's tail.
pub async fn snapshot(t: Tester) -> TestResult {
    const N: u64 = 100;
    const MAXRAFTSTATE: i64 = 1000;
    let ts = RsmTest::make(&t, MAXRAFTSTATE);
    t.begin("Test creating and restoring snapshot");
    for _ in 0..N {
        ts.one_inc().await?;
    }
    ts.check_counter(N, NSRV).await?;
    let sz = ts.group.log_size();
    if sz as i64 > 2 * MAXRAFTSTATE {
        return t.fail(format!("logs were not trimmed ({sz} > 2 * {MAXRAFTSTATE})"));
    }
    // Rebuilt from the snapshot and the log's tail.
    ts.group.shutdown();
    ts.group.start_servers();
    ts.one_inc().await?;
    ts.check_counter(N + 1, NSRV).await?;
    t.end()
}
