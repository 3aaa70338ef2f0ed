//! The 2024 Lab 4 suite (`src/kvraft`): its harness (`config.go`) and its 23 tests
//! (`test_test.go`), in file order.

use super::check::check_linearizable;
use super::cluster::{Group, HistoryClock, ELECTION_TIMEOUT_MS};
use crate::kv::kvraft::{Clerk, KvServer};
use crate::kv::labrpc::Ends;
use crate::kv::Rsm;
use crate::linearizability::{KvInput, KvModel, KvOutput, Operation};
use crate::rng::Stream;
use crate::tester::{TestResult, Tester};
use crate::world::MS;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

type History = Vec<Operation<KvInput, KvOutput>>;

/// The lab's `config`: the cluster, the clerks, the operation counter and log.
pub struct Config {
    group: Group,
    clock: HistoryClock,
    clerk_ids: RefCell<Stream>,
    clerks: Cell<u64>,
    log: RefCell<History>,
}

impl Config {
    /// `make_config(t, n, unreliable, maxraftstate)`.
    pub fn make(t: &Tester, n: usize, unreliable: bool, maxraftstate: i64) -> Rc<Config> {
        let seed = t.world().seed();
        let bug = t.bug();
        let max = usize::try_from(maxraftstate).ok();
        let service = Rsm::new(n, seed, max, bug, move || KvServer::new(bug));
        Rc::new(Config {
            group: Group::make(t, n, !unreliable, Box::new(service)),
            clock: HistoryClock::default(),
            clerk_ids: RefCell::new(Stream::new(seed, "clerk-ids", 0)),
            clerks: Cell::new(0),
            log: RefCell::default(),
        })
    }

    fn t(&self) -> &Tester {
        self.group.tester()
    }

    /// `makeClient(to)`: a clerk with ends to every server, in a random order, enabled to
    /// the servers in `to`.
    pub fn make_client(&self, to: &[usize]) -> Rc<Clerk> {
        let n = self.group.n();
        let label = self.clerks.get();
        self.clerks.set(label + 1);
        let ends = Rc::new(Ends::new(n, label, &[]));
        // random_handles: Fisher-Yates with the test's rand.
        let mut servers: Vec<usize> = (0..n).collect();
        for i in 0..n {
            let j = self.t().rand_below(i as u64 + 1) as usize;
            servers.swap(i, j);
        }
        ends.enable(to);
        // nrand(): a random 62-bit id.
        let id = self.clerk_ids.borrow_mut().next_u64() >> 2;
        Rc::new(Clerk::new(ends, servers, id))
    }

    /// `ConnectClient(ck, to)`.
    pub fn connect_client(&self, ck: &Clerk, to: &[usize]) {
        ck.ends().enable(to);
    }

    fn record(&self, input: KvInput, output: KvOutput, call: u64, cli: i64) {
        let ret = self.clock.stamp(self.t());
        self.log
            .borrow_mut()
            .push(Operation::completed(cli, input, call, output, ret));
    }

    /// The lab's `Get(cfg, ck, key, log, cli)`: counted, and logged if `log`.
    pub async fn get(&self, ck: &Clerk, key: &str, log: bool, cli: i64) -> String {
        let call = self.clock.stamp(self.t());
        let v = ck.get(self.t(), key).await;
        self.t().op();
        if log {
            self.record(KvInput::get(key), KvOutput::value(&v), call, cli);
        }
        v
    }

    /// The lab's `Put(cfg, ck, key, value, log, cli)`.
    pub async fn put(&self, ck: &Clerk, key: &str, value: &str, log: bool, cli: i64) {
        let call = self.clock.stamp(self.t());
        ck.put(self.t(), key, value).await;
        self.t().op();
        if log {
            self.record(KvInput::put(key, value), KvOutput::default(), call, cli);
        }
    }

    /// The lab's `Append(cfg, ck, key, value, log, cli)`.
    pub async fn append(&self, ck: &Clerk, key: &str, value: &str, log: bool, cli: i64) {
        let call = self.clock.stamp(self.t());
        ck.append(self.t(), key, value).await;
        self.t().op();
        if log {
            self.record(KvInput::append(key, value), KvOutput::default(), call, cli);
        }
    }

    /// The lab's `check(cfg, t, ck, key, value)`.
    pub async fn check(&self, ck: &Clerk, key: &str, value: &str) -> TestResult {
        let v = self.get(ck, key, false, -1).await;
        if v != value {
            return self
                .t()
                .fail(format!("Get({key}): expected:\n{value}\nreceived:\n{v}"));
        }
        Ok(())
    }
}

/// `checkClntAppends`: every element `x clnt k y` (k < count) occurs in `v` exactly once, in
/// order.
pub fn check_clnt_appends(t: &Tester, clnt: usize, v: &str, count: u64) -> TestResult {
    let mut lastoff: Option<usize> = None;
    for j in 0..count {
        let wanted = format!("x {clnt} {j} y");
        let Some(off) = v.find(&wanted) else {
            return t.fail(format!(
                "{clnt} missing element {wanted} in Append result {}",
                shorten(v)
            ));
        };
        if v.rfind(&wanted) != Some(off) {
            return t.fail(format!("duplicate element {wanted} in Append result"));
        }
        if lastoff.is_some_and(|last| off <= last) {
            return t.fail(format!("wrong order for element {wanted} in Append result"));
        }
        lastoff = Some(off);
    }
    Ok(())
}

/// Long Append results shortened in failure messages.
fn shorten(v: &str) -> String {
    if v.len() <= 200 {
        return v.to_string();
    }
    let cut = (0..=100)
        .rev()
        .find(|&i| v.is_char_boundary(i))
        .unwrap_or(0);
    format!("{}… ({} bytes)", &v[..cut], v.len())
}

/// GenericTest's parameters.
#[derive(Clone, Copy)]
pub struct Generic {
    part: &'static str,
    nclients: usize,
    nservers: usize,
    unreliable: bool,
    crash: bool,
    partitions: bool,
    maxraftstate: i64,
    randomkeys: bool,
}

impl Generic {
    fn title(&self) -> String {
        let mut title = String::from("Test: ");
        for (on, words) in [
            (self.unreliable, "unreliable net, "),
            (self.crash, "restarts, "),
            (self.partitions, "partitions, "),
            (self.maxraftstate != -1, "snapshots, "),
            (self.randomkeys, "random keys, "),
        ] {
            if on {
                title.push_str(words);
            }
        }
        title.push_str(if self.nclients > 1 {
            "many clients"
        } else {
            "one client"
        });
        format!("{title} ({})", self.part)
    }
}

/// One GenericTest client: appends (and with random keys puts) and reads until told to stop;
/// without random keys every read must return exactly what the client wrote to its own key.
async fn generic_client(
    cfg: Rc<Config>,
    p: Generic,
    cli: usize,
    done: Rc<Cell<bool>>,
) -> TestResult<u64> {
    let t = cfg.t().clone();
    let ck = cfg.make_client(&cfg.group.all());
    let mut j = 0u64;
    let mut last = String::new();
    let mine = cli.to_string();
    if !p.randomkeys {
        cfg.put(&ck, &mine, &last, true, cli as i64).await;
    }
    while !done.get() {
        let key = if p.randomkeys {
            t.rand_below(p.nclients as u64).to_string()
        } else {
            mine.clone()
        };
        let nv = format!("x {cli} {j} y");
        if t.rand_int() % 1000 < 500 {
            cfg.append(&ck, &key, &nv, true, cli as i64).await;
            if !p.randomkeys {
                last.push_str(&nv);
            }
            j += 1;
        } else if p.randomkeys && t.rand_int() % 1000 < 100 {
            cfg.put(&ck, &key, &nv, true, cli as i64).await;
            j += 1;
        } else {
            let v = cfg.get(&ck, &key, true, cli as i64).await;
            if !p.randomkeys && v != last {
                return t.fail(format!(
                    "get wrong value, key {key}, wanted:\n{}\n, got\n{}\n",
                    shorten(&last),
                    shorten(&v)
                ));
            }
        }
    }
    Ok(j)
}

/// The lab's GenericTest: three iterations of clients working for 5 s, with the faults the
/// parameters ask for; the appends and reads checked per client, the log size or the
/// absence of snapshots checked after each iteration, and the whole history for
/// linearizability at the end.
async fn generic_test(t: Tester, p: Generic) -> TestResult {
    let cfg = Config::make(&t, p.nservers, p.unreliable, p.maxraftstate);
    t.begin(&p.title());
    let ck = cfg.make_client(&cfg.group.all());
    let done_partitioner = Rc::new(Cell::new(false));
    let done_clients = Rc::new(Cell::new(false));
    for _ in 0..3 {
        done_clients.set(false);
        done_partitioner.set(false);
        let clients: Vec<_> = (0..p.nclients)
            .map(|cli| t.go(generic_client(cfg.clone(), p, cli, done_clients.clone())))
            .collect();
        let partitioner = if p.partitions {
            // Allow the clients to perform some operations without interruption.
            t.sleep(1000).await;
            let group = cfg.group.clone();
            Some(t.go(group.partitioner(done_partitioner.clone())))
        } else {
            None
        };
        t.sleep(5000).await;
        done_clients.set(true);
        done_partitioner.set(true);
        if let Some(partitioner) = partitioner {
            partitioner.await?;
            cfg.group.connect_all();
            // Wait for a while so that we have a new term: a request stuck in a former
            // minority returns once its server learns of it.
            t.sleep(ELECTION_TIMEOUT_MS).await;
        }
        if p.crash {
            cfg.group.crash_all().await;
        }
        for (i, client) in clients.into_iter().enumerate() {
            let j = client.await?;
            let v = cfg.get(&ck, &i.to_string(), true, 0).await;
            if !p.randomkeys {
                check_clnt_appends(&t, i, &v, j)?;
            }
        }
        cfg.group.check_sizes(p.maxraftstate)?;
    }
    let history = cfg.log.take();
    check_linearizable(&t, &KvModel, &history)?;
    t.end()
}

/// The lab's GenericTestSpeed: 1000 appends by one clerk, at least 3 per 100 ms heartbeat
/// interval on average.
async fn generic_test_speed(t: Tester, part: &str, maxraftstate: i64) -> TestResult {
    const NUM_OPS: u64 = 1000;
    let cfg = Config::make(&t, 3, false, maxraftstate);
    let ck = cfg.make_client(&cfg.group.all());
    t.begin(&format!("Test: ops complete fast enough ({part})"));
    // Wait until the first op completes, so that a leader is elected and the servers are
    // ready.
    ck.get(&t, "x").await;
    let start = t.now();
    for i in 0..NUM_OPS {
        ck.append(&t, "x", &format!("x 0 {i} y")).await;
    }
    let dur = t.now() - start;
    let v = ck.get(&t, "x").await;
    check_clnt_appends(&t, 0, &v, NUM_OPS)?;
    // Heartbeats are ~100 ms apart; require at least 3 operations per interval.
    let time_per_op_ns = 100_000_000 / 3;
    if dur * 1000 > NUM_OPS * time_per_op_ns {
        return t.fail(format!(
            "Operations completed too slowly {:.6}ms/op > {:.6}ms/op",
            dur as f64 / NUM_OPS as f64 / MS as f64,
            time_per_op_ns as f64 / 1e6
        ));
    }
    t.end()
}

macro_rules! generic {
    ($name:ident, $part:literal, $nclients:expr, $nservers:expr, $unreliable:expr, $crash:expr,
     $partitions:expr, $maxraftstate:expr, $randomkeys:expr) => {
        #[doc = concat!("`", stringify!($name), "`: GenericTest.")]
        pub async fn $name(t: Tester) -> TestResult {
            let p = Generic {
                part: $part,
                nclients: $nclients,
                nservers: $nservers,
                unreliable: $unreliable,
                crash: $crash,
                partitions: $partitions,
                maxraftstate: $maxraftstate,
                randomkeys: $randomkeys,
            };
            generic_test(t, p).await
        }
    };
}

// name, part, clients, servers, unreliable, crash, partitions, maxraftstate, random keys
generic!(basic, "4A", 1, 5, false, false, false, -1, false);
generic!(concurrent, "4A", 5, 5, false, false, false, -1, false);
generic!(unreliable, "4A", 5, 5, true, false, false, -1, false);
generic!(
    many_partitions_one_client,
    "4A",
    1,
    5,
    false,
    false,
    true,
    -1,
    false
);
generic!(
    many_partitions_many_clients,
    "4A",
    5,
    5,
    false,
    false,
    true,
    -1,
    false
);
generic!(
    persist_one_client,
    "4A",
    1,
    5,
    false,
    true,
    false,
    -1,
    false
);
generic!(
    persist_concurrent,
    "4A",
    5,
    5,
    false,
    true,
    false,
    -1,
    false
);
generic!(
    persist_concurrent_unreliable,
    "4A",
    5,
    5,
    true,
    true,
    false,
    -1,
    false
);
generic!(persist_partition, "4A", 5, 5, false, true, true, -1, false);
generic!(
    persist_partition_unreliable,
    "4A",
    5,
    5,
    true,
    true,
    true,
    -1,
    false
);
generic!(
    persist_partition_unreliable_linearizable,
    "4A",
    15,
    7,
    true,
    true,
    true,
    -1,
    true
);
generic!(
    snapshot_recover,
    "4B",
    1,
    5,
    false,
    true,
    false,
    1000,
    false
);
generic!(
    snapshot_recover_many_clients,
    "4B",
    20,
    5,
    false,
    true,
    false,
    1000,
    false
);
generic!(
    snapshot_unreliable,
    "4B",
    5,
    5,
    true,
    false,
    false,
    1000,
    false
);
generic!(
    snapshot_unreliable_recover,
    "4B",
    5,
    5,
    true,
    true,
    false,
    1000,
    false
);
generic!(
    snapshot_unreliable_recover_concurrent_partition,
    "4B",
    5,
    5,
    true,
    true,
    true,
    1000,
    false
);
generic!(
    snapshot_unreliable_recover_concurrent_partition_linearizable,
    "4B",
    15,
    7,
    true,
    true,
    true,
    1000,
    true
);

/// TestSpeed4A.
pub async fn speed_4a(t: Tester) -> TestResult {
    generic_test_speed(t, "4A", -1).await
}

/// TestSpeed4B.
pub async fn speed_4b(t: Tester) -> TestResult {
    generic_test_speed(t, "4B", 1000).await
}

/// TestUnreliableOneKey4A: five clerks append to one key over a lossy network; every
/// element must land exactly once, each clerk's in order.
pub async fn unreliable_one_key(t: Tester) -> TestResult {
    const NCLIENT: usize = 5;
    const UPTO: u64 = 10;
    let cfg = Config::make(&t, 3, true, -1);
    let ck = cfg.make_client(&cfg.group.all());
    t.begin("Test: concurrent append to same key, unreliable (4A)");
    cfg.put(&ck, "k", "", false, -1).await;
    let clients: Vec<_> = (0..NCLIENT)
        .map(|me| {
            let cfg = cfg.clone();
            t.go(async move {
                let myck = cfg.make_client(&cfg.group.all());
                for n in 0..UPTO {
                    cfg.append(&myck, "k", &format!("x {me} {n} y"), false, -1)
                        .await;
                }
                Ok(())
            })
        })
        .collect();
    for client in clients {
        client.await?;
    }
    let vx = cfg.get(&ck, "k", false, -1).await;
    for i in 0..NCLIENT {
        check_clnt_appends(&t, i, &vx, UPTO)?;
    }
    t.end()
}

/// TestOnePartition4A: a majority makes progress; the minority (with the old leader) must
/// not complete a Put or a Get, and its Put completes after the heal.
pub async fn one_partition(t: Tester) -> TestResult {
    let cfg = Config::make(&t, 5, false, -1);
    let ck = cfg.make_client(&cfg.group.all());
    cfg.put(&ck, "1", "13", false, -1).await;
    t.begin("Test: progress in majority (4A)");
    let leader = cfg.group.leader().unwrap_or(0);
    let (p1, p2) = cfg.group.make_partition(leader);
    cfg.group.partition(&p1, &p2);
    let ckp1 = cfg.make_client(&p1);
    let ckp2a = cfg.make_client(&p2);
    let ckp2b = cfg.make_client(&p2);
    cfg.put(&ckp1, "1", "14", false, -1).await;
    cfg.check(&ckp1, "1", "14").await?;
    t.end()?;

    t.begin("Test: no progress in minority (4A)");
    let done0 = {
        let (cfg, ck) = (cfg.clone(), ckp2a.clone());
        t.go(async move {
            cfg.put(&ck, "1", "15", false, -1).await;
            Ok(())
        })
    };
    let done1 = {
        let (cfg, ck) = (cfg.clone(), ckp2b.clone());
        t.go(async move {
            cfg.get(&ck, "1", false, -1).await;
            Ok(())
        })
    };
    t.sleep(1000).await;
    if done0.is_finished() {
        return t.fail("Put in minority completed");
    }
    if done1.is_finished() {
        return t.fail("Get in minority completed");
    }
    cfg.check(&ckp1, "1", "14").await?;
    cfg.put(&ckp1, "1", "16", false, -1).await;
    cfg.check(&ckp1, "1", "16").await?;
    t.end()?;

    t.begin("Test: completion after heal (4A)");
    cfg.group.connect_all();
    cfg.connect_client(&ckp2a, &cfg.group.all());
    cfg.connect_client(&ckp2b, &cfg.group.all());
    t.sleep(ELECTION_TIMEOUT_MS).await;
    // Up to 3 s for the Put; the lab only polls the Get without waiting, which never fails.
    for _ in 0..30 {
        if done0.is_finished() {
            break;
        }
        t.sleep(100).await;
    }
    if !done0.is_finished() {
        return t.fail("Put did not complete");
    }
    cfg.check(&ck, "1", "15").await?;
    t.end()
}

/// TestSnapshotRPC4B: the majority trims its log while server 2 lags; server 2 must then
/// catch up by InstallSnapshot to form a majority with 0.
pub async fn snapshot_rpc(t: Tester) -> TestResult {
    const MAXRAFTSTATE: i64 = 1000;
    let cfg = Config::make(&t, 3, false, MAXRAFTSTATE);
    let ck = cfg.make_client(&cfg.group.all());
    t.begin("Test: InstallSnapshot RPC (4B)");
    cfg.put(&ck, "a", "A", false, -1).await;
    cfg.check(&ck, "a", "A").await?;
    // A bunch of puts into the majority partition.
    cfg.group.partition(&[0, 1], &[2]);
    {
        let ck1 = cfg.make_client(&[0, 1]);
        for i in 0..50 {
            let s = i.to_string();
            cfg.put(&ck1, &s, &s, false, -1).await;
        }
        t.sleep(ELECTION_TIMEOUT_MS).await;
        cfg.put(&ck1, "b", "B", false, -1).await;
    }
    // The majority must have thrown away most of its log.
    let sz = cfg.group.log_size();
    if sz as i64 > 8 * MAXRAFTSTATE {
        return t.fail(format!("logs were not trimmed ({sz} > 8*{MAXRAFTSTATE})"));
    }
    // A majority that needs the lagging server, so that it has to catch up.
    cfg.group.partition(&[0, 2], &[1]);
    {
        let ck1 = cfg.make_client(&[0, 2]);
        cfg.put(&ck1, "c", "C", false, -1).await;
        cfg.put(&ck1, "d", "D", false, -1).await;
        cfg.check(&ck1, "a", "A").await?;
        cfg.check(&ck1, "b", "B").await?;
        cfg.check(&ck1, "1", "1").await?;
        cfg.check(&ck1, "49", "49").await?;
    }
    // Now everybody.
    cfg.group.partition(&[0, 1, 2], &[]);
    cfg.put(&ck, "e", "E", false, -1).await;
    cfg.check(&ck, "c", "C").await?;
    cfg.check(&ck, "e", "E").await?;
    cfg.check(&ck, "1", "1").await?;
    t.end()
}

/// TestSnapshotSize4B: 800 operations on one key; the logs trimmed and the snapshots small.
pub async fn snapshot_size(t: Tester) -> TestResult {
    const MAXRAFTSTATE: i64 = 1000;
    const MAXSNAPSHOTSTATE: usize = 500;
    let cfg = Config::make(&t, 3, false, MAXRAFTSTATE);
    let ck = cfg.make_client(&cfg.group.all());
    t.begin("Test: snapshot size is reasonable (4B)");
    for _ in 0..200 {
        cfg.put(&ck, "x", "0", false, -1).await;
        cfg.check(&ck, "x", "0").await?;
        cfg.put(&ck, "x", "1", false, -1).await;
        cfg.check(&ck, "x", "1").await?;
    }
    let sz = cfg.group.log_size();
    if sz as i64 > 8 * MAXRAFTSTATE {
        return t.fail(format!("logs were not trimmed ({sz} > 8*{MAXRAFTSTATE})"));
    }
    let ssz = cfg.group.snapshot_size();
    if ssz > MAXSNAPSHOTSTATE {
        return t.fail(format!("snapshot too large ({ssz} > {MAXSNAPSHOTSTATE})"));
    }
    t.end()
}
